with

source as (

    select
        product_id,
        sku,
        name,
        description,
        category_id,
        unit_price,
        cost_price,
        is_active,
        created_at,
        updated_at
    from {{ shop_source('products') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('product_id') }} as product_id,
        {{ to_bigint('category_id') }} as category_id,

        ---------- text
        sku,
        name as product_name,
        description as product_description,

        ---------- numerics
        {{ to_money('unit_price') }} as unit_price,
        {{ to_money('cost_price') }} as cost_price,

        ---------- booleans
        is_active,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
