{{ config(
    order_by=['sales_date'],
    indexes=mart_indexes(grain=['sales_date']),
) }}

with

recognized_orders as materialized (

    -- Read by several CTEs below: computed once (ClickHouse would inline it each time).
    select order_id, customer_id, order_date, subtotal, discount_amount, total_amount
    from {{ ref('stg_shop__orders') }}
    where is_recognized

),

order_items as (

    select order_id, quantity from {{ ref('stg_shop__order_items') }}

),

date_bounds as (

    -- No row (and so no days) when there is no recognized order at all.
    select min(order_date) as first_date, max(order_date) as last_date
    from recognized_orders
    having count(*) > 0

),

calendar as (

    -- Every day from the first to the last recognized order, so quiet days show as zeros.
    {{ date_spine('date_bounds', 'first_date', 'last_date') }}

),

orders_per_day as (

    select
        order_date,
        count(*) as order_count,
        sum(subtotal) as subtotal_sum,
        sum(discount_amount) as discount_sum,
        sum(total_amount) as total_sum,
        count(distinct customer_id) as distinct_customers
    from recognized_orders
    group by order_date

),

items_per_day as (

    select
        recognized_orders.order_date as order_date,
        sum(order_items.quantity) as quantity_sum
    from order_items
    inner join recognized_orders
        on order_items.order_id = recognized_orders.order_id
    group by recognized_orders.order_date

),

first_orders as (

    select customer_id, min(order_date) as first_order_date
    from recognized_orders
    group by customer_id

),

new_customers_per_day as (

    select first_order_date, count(*) as first_timers
    from first_orders
    group by first_order_date

),

final as (

    select
        calendar.date_day as sales_date,
        {{ to_bigint('coalesce(orders_per_day.order_count, 0)') }} as orders_count,
        {{ to_bigint('coalesce(items_per_day.quantity_sum, 0)') }} as items_sold,
        {{ to_money('coalesce(orders_per_day.subtotal_sum, 0)') }} as gross_revenue,
        {{ to_money('coalesce(orders_per_day.discount_sum, 0)') }} as discount_total,
        {{ to_money('coalesce(orders_per_day.total_sum, 0)') }} as net_revenue,
        {{ safe_divide('orders_per_day.total_sum', 'orders_per_day.order_count', 2) }}
            as avg_order_value,
        {{ to_bigint('coalesce(orders_per_day.distinct_customers, 0)') }} as unique_customers,
        {{ to_bigint('coalesce(new_customers_per_day.first_timers, 0)') }} as new_customers
    from calendar
    left join orders_per_day
        on calendar.date_day = orders_per_day.order_date
    left join items_per_day
        on calendar.date_day = items_per_day.order_date
    left join new_customers_per_day
        on calendar.date_day = new_customers_per_day.first_order_date

)

select * from final
