{#- SoleMate `addresses`. They have no updated_at: NULL. -#}

with

source as (

    select id, user_id, type, street_1, city, state, postal_code, country, is_default, created_at
    from {{ shop_source('addresses', 'shop_solemate') }}

),

renamed as (

    select
        ---------- ids
        id as address_id,
        user_id as customer_id,

        ---------- text
        type as address_type,
        street_1 as address_line1,
        city,
        state,
        postal_code,
        country,

        ---------- booleans
        is_default,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
