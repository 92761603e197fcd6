{#- TechAlly `addresses`, without the soft-deleted ones. -#}

with

source as (

    select id, user_id, address_type, street, city, state, postal_code, country, is_default, created_at, updated_at
    from {{ shop_source('addresses', 'shop_techally') }}
    where deleted_at is null

),

renamed as (

    select
        ---------- ids
        id as address_id,
        user_id as customer_id,

        ---------- text
        address_type,
        street as address_line1,
        city,
        state,
        postal_code,
        country,

        ---------- booleans
        is_default,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
