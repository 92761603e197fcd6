{#- One row per product sold in at least one recognized order: units, order-line
    revenue and distinct orders. Product and category marts add the unsold products. -#}

with

recognized_order_items as (

    select order_id, product_id, quantity, line_total
    from {{ ref('int_order_items__recognized') }}

),

final as (

    select
        product_id,
        {{ to_bigint('sum(quantity)') }} as units_sold,
        {{ to_money('sum(line_total)') }} as revenue,
        {{ to_bigint('count(distinct order_id)') }} as orders_count
    from recognized_order_items
    group by product_id

)

select * from final
