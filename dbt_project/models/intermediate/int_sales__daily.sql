{{ config(
    materialized='shopmarts_incremental',
    unique_key='sales_date',
    order_by=['sales_date'],
    indexes=[['sales_date']],
) }}

{#- One row per UTC calendar day with at least one recognized order: orders, units,
    subtotals, discounts, revenue, distinct and first-time customers. daily_sales adds
    the quiet days (a calendar) and the averages. A table kept by day: an incremental
    build recomputes, from the facts, the days the change log touched (with the days
    whose first-time customers changed; macros/incremental/fold.sql). -#}

{%- set fold = fold_state() -%}

with

recognized_orders as (

    select order_id, customer_id, order_date, subtotal, discount_amount, total_amount
    from {{ ref('int_orders__recognized') }}
    {%- if fold.incremental %}
    where {{ affected('int_sales__daily', 'order_date', fold) }}
    {%- endif %}

),

recognized_order_items as (

    select order_date, quantity
    from {{ ref('int_order_items__recognized') }}
    {%- if fold.incremental %}
    where {{ affected('int_sales__daily', 'order_date', fold) }}
    {%- endif %}

),

customers as (

    select customer_id, first_order_date
    from {{ ref('int_customers__order_summary') }}
    {%- if fold.incremental %}
    where {{ affected('int_sales__daily', 'first_order_date', fold) }}
    {%- endif %}

),

orders_per_day as (

    select
        order_date,
        count(*) as orders_count,
        sum(subtotal) as gross_revenue,
        sum(discount_amount) as discount_total,
        sum(total_amount) as net_revenue,
        count(distinct customer_id) as unique_customers
    from recognized_orders
    group by order_date

),

items_per_day as (

    select order_date, sum(quantity) as items_sold
    from recognized_order_items
    group by order_date

),

new_customers_per_day as (

    select first_order_date, count(*) as new_customers
    from customers
    group by first_order_date

),

final as (

    select
        orders_per_day.order_date as sales_date,
        {{ to_bigint('orders_per_day.orders_count') }} as orders_count,
        {{ to_bigint('coalesce(items_per_day.items_sold, 0)') }} as items_sold,
        {{ to_money('orders_per_day.gross_revenue') }} as gross_revenue,
        {{ to_money('orders_per_day.discount_total') }} as discount_total,
        {{ to_money('orders_per_day.net_revenue') }} as net_revenue,
        {{ to_bigint('orders_per_day.unique_customers') }} as unique_customers,
        {{ to_bigint('coalesce(new_customers_per_day.new_customers, 0)') }} as new_customers
    from orders_per_day
    left join items_per_day
        on orders_per_day.order_date = items_per_day.order_date
    left join new_customers_per_day
        on orders_per_day.order_date = new_customers_per_day.first_order_date

)

select * from final
