{#- TechAlly `order_items`: total_price is the line total after the line's discount. -#}

with

source as (

    select id, order_id, product_id, quantity, unit_price, discount_amount, total_price, created_at, updated_at
    from {{ shop_source('order_items', 'shop_techally') }}

),

renamed as (

    select
        ---------- ids
        id as order_item_id,
        order_id,
        product_id,

        ---------- numerics
        {{ to_bigint('quantity') }} as quantity,
        {{ to_money('unit_price') }} as unit_price,
        {{ to_money('discount_amount') }} as discount_amount,
        {{ to_money('total_price') }} as line_total,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
