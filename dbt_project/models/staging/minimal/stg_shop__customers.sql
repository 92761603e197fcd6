{#- Minimal `users` -> canonical customers. The shop keeps an e-mail only: names, phone,
    loyalty tier and an active flag are NULL. -#}

with

source as (

    select id, email, created_at, updated_at
    from {{ shop_source('users', 'shop_minimal') }}

),

renamed as (

    select
        ---------- ids
        id as customer_id,

        ---------- text
        email,
        {{ typed_null('text') }} as first_name,
        {{ typed_null('text') }} as last_name,
        {{ typed_null('text') }} as phone,
        {{ typed_null('text') }} as customer_tier,

        ---------- booleans
        {{ typed_null('boolean') }} as is_active,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
