with

source as (

    select
        promotion_id,
        code,
        name,
        discount_type,
        discount_value,
        starts_at,
        ends_at,
        is_active,
        created_at,
        updated_at
    from {{ shop_source('promotions') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('promotion_id') }} as promotion_id,

        ---------- text
        code as promotion_code,
        discount_type,

        ---------- numerics
        {{ to_money('discount_value') }} as discount_value,

        ---------- booleans
        is_active,

        ---------- timestamps
        starts_at,
        ends_at,
        created_at,
        updated_at,

        ---------- added later
        -- Last: on Postgres a staging view is replaced in place (CREATE OR REPLACE VIEW),
        -- which only accepts new columns at the end.
        name as promotion_name

    from source

)

select * from renamed
