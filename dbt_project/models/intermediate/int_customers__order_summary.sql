{{ config(
    materialized='shopmarts_incremental',
    unique_key='customer_id',
    order_by=['customer_id'],
    indexes=[['customer_id'], ['first_order_date']],
) }}

{#- One row per customer with at least one recognized order: when they first and last
    bought, how many orders, what they paid and how many units they bought. Customer
    marts add the customers who never bought, recency and scores. A table kept by
    customer: an incremental build recomputes, from the facts, the customers the change
    log touched (macros/incremental/fold.sql). -#}

{%- set fold = fold_state() -%}

with

recognized_orders as (

    select customer_id, order_date, total_amount
    from {{ ref('int_orders__recognized') }}
    {%- if fold.incremental %}
    where {{ affected('int_customers__order_summary', 'customer_id', fold) }}
    {%- endif %}

),

recognized_order_items as (

    select customer_id, quantity
    from {{ ref('int_order_items__recognized') }}
    {%- if fold.incremental %}
    where {{ affected('int_customers__order_summary', 'customer_id', fold) }}
    {%- endif %}

),

customer_orders as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as orders_count,
        sum(total_amount) as revenue
    from recognized_orders
    group by customer_id

),

customer_items as (

    select customer_id, sum(quantity) as units_purchased
    from recognized_order_items
    group by customer_id

),

final as (

    select
        customer_orders.customer_id as customer_id,
        customer_orders.first_order_date as first_order_date,
        customer_orders.last_order_date as last_order_date,
        {{ to_bigint('customer_orders.orders_count') }} as orders_count,
        {{ to_money('customer_orders.revenue') }} as revenue,
        {{ to_bigint('coalesce(customer_items.units_purchased, 0)') }} as units_purchased
    from customer_orders
    left join customer_items
        on customer_orders.customer_id = customer_items.customer_id

)

select * from final
