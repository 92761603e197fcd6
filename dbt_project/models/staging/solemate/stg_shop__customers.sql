{#- SoleMate `users` -> canonical customers. The shop keeps no loyalty tier: NULL. -#}

with

source as (

    select id, email, first_name, last_name, phone_number, is_active, created_at, updated_at
    from {{ shop_source('users', 'shop_solemate') }}

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
        is_active,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
