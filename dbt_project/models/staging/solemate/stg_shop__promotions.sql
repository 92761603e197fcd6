{#- SoleMate `promo_codes`: the description is the promotion's name; discount types,
    upper case in the shop, lower-cased (PERCENTAGE, FIXED_AMOUNT, FREE_SHIPPING); the
    validity window is starts_at / ends_at. Codes have no updated_at: NULL. -#}

with

source as (

    select id, code, description, discount_type, discount_value, valid_from, valid_until, is_active, created_at
    from {{ shop_source('promo_codes', 'shop_solemate') }}

),

renamed as (

    select
        ---------- ids
        id as promotion_id,

        ---------- text
        code as promotion_code,
        lower(discount_type) as discount_type,

        ---------- numerics
        {{ to_money('discount_value') }} as discount_value,

        ---------- booleans
        is_active,

        ---------- timestamps
        {{ utc_timestamp('valid_from') }} as starts_at,
        {{ utc_timestamp('valid_until') }} as ends_at,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at,

        ---------- added later
        description as promotion_name

    from source

)

select * from renamed
