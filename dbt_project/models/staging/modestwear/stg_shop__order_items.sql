{#- ModestWear `orders_orderitem` sell a variant at `price_at_purchase` per unit: the
    product is the variant's, the line total quantity * price_at_purchase (the generator
    keeps every canonical line's revenue exactly that way). No line discount or
    timestamps are kept: NULL. -#}

with

items as (

    select id, order_id, variant_id, quantity, price_at_purchase
    from {{ shop_source('orders_orderitem', 'shop_modestwear') }}

),

variants as (

    select id, product_id
    from {{ shop_source('catalog_productvariant', 'shop_modestwear') }}

),

source as (

    select
        items.id as id,
        items.order_id as order_id,
        variants.product_id as product_id,
        items.quantity as quantity,
        items.price_at_purchase as price_at_purchase
    from items
    left join variants
        on items.variant_id = variants.id

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('id') }} as order_item_id,
        {{ to_bigint('order_id') }} as order_id,
        {{ to_bigint('product_id') }} as product_id,

        ---------- numerics
        {{ to_bigint('quantity') }} as quantity,
        {{ to_money('price_at_purchase') }} as unit_price,
        {{ typed_null('money') }} as discount_amount,
        {{ to_money('quantity * price_at_purchase') }} as line_total,

        ---------- timestamps
        {{ typed_null('timestamp') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
