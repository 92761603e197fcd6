{#- TechAlly `users` -> canonical customers: soft-deleted users (`deleted_at`) are gone;
    an account is active when its status is `active`. No loyalty tier is kept: NULL. -#}

with

source as (

    select id, email, first_name, last_name, phone_number, status, created_at, updated_at
    from {{ shop_source('users', 'shop_techally') }}
    where deleted_at is null

),

renamed as (

    select
        ---------- ids
        id as customer_id,

        ---------- text
        email,
        first_name,
        last_name,
        phone_number as phone,
        {{ typed_null('text') }} as customer_tier,

        ---------- booleans
        {{ to_boolean("status = 'active'") }} as is_active,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
