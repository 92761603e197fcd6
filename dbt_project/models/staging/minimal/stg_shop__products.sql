{#- Minimal `products`: price is the unit price; every product is in the documented
    `uncategorized` category (stg_shop__product_categories). The shop keeps no SKU, cost
    or active flag: NULL. -#}

with

source as (

    select id, name, description, price, created_at, updated_at
    from {{ shop_source('products', 'shop_minimal') }}

),

renamed as (

    select
        ---------- ids
        id as product_id,
        {{ uuid_literal('0389dfdb-b2d9-e746-24b9-28b359ed93cc') }} as category_id,

        ---------- text
        {{ typed_null('text') }} as sku,
        name as product_name,
        description as product_description,

        ---------- numerics
        {{ to_money('price') }} as unit_price,
        {{ typed_null('money') }} as cost_price,

        ---------- booleans
        {{ typed_null('boolean') }} as is_active,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
