{#- The minimal shop keeps one stock figure per product (`products.stock`): one row per
    product, its id the product's, in one stock location `WH-ALL`. Nothing is reserved in
    this shop's model: reserved units NULL, available = the stock.

    Reorder rule (the shop has none): reorder at 10 units or fewer, order 50, the defaults
    seed 004 (SoleMate) gives every inventory row, so a low stock is flagged and a
    suggested order computed as for every other profile. -#}

with

source as (

    select id, stock, updated_at
    from {{ shop_source('products', 'shop_minimal') }}

),

renamed as (

    select
        ---------- ids
        id as inventory_id,
        id as product_id,

        ---------- text
        {{ to_text("'WH-ALL'") }} as warehouse_code,

        ---------- numerics
        {{ to_bigint('stock') }} as quantity_on_hand,
        {{ typed_null('bigint') }} as quantity_reserved,
        {{ to_bigint('stock') }} as quantity_available,
        {{ to_bigint('10') }} as reorder_point,
        {{ to_bigint('50') }} as reorder_quantity,

        ---------- timestamps
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
