{{ config(
    materialized='shopmarts_incremental',
    unique_key='order_date',
    order_by=['order_date'],
    indexes=[['order_date']],
) }}

{#- Recognized orders per UTC day and promotion: orders, their revenue, and the discount
    that promotion gave (an order with two promotions counts once under each). One more
    row per day, its promotion_id null, holds the day's recognized orders that carry no
    promotion at all: the comparison base of promotion_performance. A table kept by day:
    an incremental build recomputes, from the facts, the days the change log touched
    (macros/incremental/fold.sql), reading those days' orders and their promotions only. -#}

{%- set fold = fold_state() -%}

with

recognized_orders as (

    select order_id, order_date, total_amount
    from {{ ref('int_orders__recognized') }}
    {%- if fold.incremental %}
    where {{ affected('int_promotions__daily', 'order_date', fold) }}
    {%- endif %}

),

order_promotions as (

    select order_id, promotion_id, discount_amount
    from {{ ref('stg_shop__order_promotions') }}
    {%- if fold.incremental %}
    where {{ key_in('order_id', 'select order_id from recognized_orders') }}
    {%- endif %}

),

promoted as (

    select
        recognized_orders.order_date as order_date,
        order_promotions.promotion_id as promotion_id,
        count(*) as orders_count,
        sum(recognized_orders.total_amount) as revenue,
        sum(order_promotions.discount_amount) as discount_total
    from order_promotions
    inner join recognized_orders
        on order_promotions.order_id = recognized_orders.order_id
    group by recognized_orders.order_date, order_promotions.promotion_id

),

orders_with_a_promotion as (

    select distinct order_id from order_promotions

),

without_promotion as (

    select
        recognized_orders.order_date as order_date,
        {{ typed_null('key') }} as promotion_id,
        count(*) as orders_count,
        sum(recognized_orders.total_amount) as revenue,
        {{ to_money('0') }} as discount_total
    from recognized_orders
    left join orders_with_a_promotion
        on recognized_orders.order_id = orders_with_a_promotion.order_id
    where orders_with_a_promotion.order_id is null
    group by recognized_orders.order_date

),

per_day as (

    select order_date, promotion_id, orders_count, revenue, discount_total from promoted
    union all
    select order_date, promotion_id, orders_count, revenue, discount_total from without_promotion

),

final as (

    select
        order_date,
        promotion_id,
        {{ to_bigint('orders_count') }} as orders_count,
        {{ to_money('revenue') }} as revenue,
        {{ to_money('discount_total') }} as discount_total
    from per_day

)

select * from final
