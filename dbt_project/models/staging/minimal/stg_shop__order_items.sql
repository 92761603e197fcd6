{#- Minimal `order_items` carry a unit price only: the line total is quantity * price
    (the generator keeps every canonical line's revenue exactly that way). No line
    discount is kept (NULL); lines have no timestamps (NULL). -#}

with

source as (

    select id, order_id, product_id, quantity, price
    from {{ shop_source('order_items', 'shop_minimal') }}

),

renamed as (

    select
        ---------- ids
        id as order_item_id,
        order_id,
        product_id,

        ---------- numerics
        {{ to_bigint('quantity') }} as quantity,
        {{ to_money('price') }} as unit_price,
        {{ typed_null('money') }} as discount_amount,
        {{ to_money('quantity * price') }} as line_total,

        ---------- timestamps
        {{ typed_null('timestamp') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
