with

source as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        line_total,
        created_at,
        updated_at
    from {{ shop_source('order_items') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('order_item_id') }} as order_item_id,
        {{ to_bigint('order_id') }} as order_id,
        {{ to_bigint('product_id') }} as product_id,

        ---------- numerics
        {{ to_bigint('quantity') }} as quantity,
        {{ to_money('unit_price') }} as unit_price,
        {{ to_money('discount_amount') }} as discount_amount,
        {{ to_money('line_total') }} as line_total,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
