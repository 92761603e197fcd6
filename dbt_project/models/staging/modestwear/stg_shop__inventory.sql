{#- ModestWear keeps stock on the variants (`stock_available`) and no warehouses: one row
    per product, the sum over its variants, its id the product's, in one stock location
    `WH-ALL`. Nothing is reserved in this shop's model: reserved units NULL, available =
    on hand.

    Reorder rule (the shop has none): reorder at 10 units or fewer, order 50, the defaults
    seed 004 (SoleMate) gives every inventory row, as for the minimal shop. -#}

with

variants as (

    select product_id, stock_available
    from {{ shop_source('catalog_productvariant', 'shop_modestwear') }}

),

per_product as (

    select product_id, sum(stock_available) as stock
    from variants
    group by product_id

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('product_id') }} as inventory_id,
        {{ to_bigint('product_id') }} as product_id,

        ---------- text
        {{ to_text("'WH-ALL'") }} as warehouse_code,

        ---------- numerics
        {{ to_bigint('stock') }} as quantity_on_hand,
        {{ typed_null('bigint') }} as quantity_reserved,
        {{ to_bigint('stock') }} as quantity_available,
        {{ to_bigint('10') }} as reorder_point,
        {{ to_bigint('50') }} as reorder_quantity,

        ---------- timestamps
        {{ typed_null('timestamp') }} as updated_at

    from per_product

)

select * from renamed
