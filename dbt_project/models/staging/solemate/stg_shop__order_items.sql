{#- SoleMate `order_items` (one per variant sold): price is the unit price, total the line
    total after the line's discount; the product is the line's `product_id`. Lines have
    no updated_at: NULL. -#}

with

source as (

    select id, order_id, product_id, quantity, price, discount, total, created_at
    from {{ shop_source('order_items', 'shop_solemate') }}

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
        {{ to_money('coalesce(discount, 0)') }} as discount_amount,
        {{ to_money('total') }} as line_total,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
