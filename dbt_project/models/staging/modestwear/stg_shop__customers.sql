{#- ModestWear `users_user` -> canonical customers: `date_joined` is when the account was
    created. No loyalty tier and no last change are kept: NULL. -#}

with

source as (

    select id, email, first_name, last_name, phone_number, is_active, date_joined
    from {{ shop_source('users_user', 'shop_modestwear') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('id') }} as customer_id,

        ---------- text
        email,
        first_name,
        last_name,
        phone_number as phone,
        {{ typed_null('text') }} as customer_tier,

        ---------- booleans
        is_active,

        ---------- timestamps
        {{ utc_timestamp('date_joined') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
