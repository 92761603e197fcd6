{{ config(
    order_by=['month_start'],
    indexes=mart_indexes(grain=['month_start']),
) }}

with

recognized_orders as materialized (

    -- Read by several CTEs below: computed once (ClickHouse would inline it each time).
    select customer_id, order_date, total_amount
    from {{ ref('int_orders__recognized') }}

),

date_bounds as (

    select min(order_date) as first_date, max(order_date) as last_date
    from recognized_orders
    having count(*) > 0

),

calendar as (

    {{ date_spine('date_bounds', 'first_date', 'last_date') }}

),

months as (

    -- Every month from the first to the last recognized order, so a quiet month is a row
    -- of zeros and the growth of the month after it is measured against zero (NULL).
    select distinct {{ month_start('date_day') }} as month_start
    from calendar

),

orders_per_month as (

    select
        {{ month_start('order_date') }} as order_month,
        count(*) as order_count,
        count(distinct customer_id) as distinct_customers,
        sum(total_amount) as total_sum
    from recognized_orders
    group by {{ month_start('order_date') }}

),

measured as (

    select
        months.month_start as month_start,
        {{ to_money('coalesce(orders_per_month.total_sum, 0)') }} as revenue,
        {{ to_bigint('coalesce(orders_per_month.order_count, 0)') }} as orders_count,
        {{ to_bigint('coalesce(orders_per_month.distinct_customers, 0)') }} as customers_count,
        {{ safe_divide('orders_per_month.total_sum', 'orders_per_month.order_count', 2) }}
            as avg_order_value
    from months
    left join orders_per_month
        on months.month_start = orders_per_month.order_month

),

with_previous as (

    select
        month_start,
        revenue,
        orders_count,
        customers_count,
        avg_order_value,
        {{ previous_value('revenue', 'month_start') }} as previous_revenue
    from measured

),

final as (

    select
        month_start,
        revenue,
        orders_count,
        customers_count,
        avg_order_value,
        -- Percent change of revenue against the previous calendar month; NULL for the
        -- first month and after a month without revenue.
        {{ safe_divide('(revenue - previous_revenue) * 100', 'previous_revenue', 2) }}
            as mom_growth_pct
    from with_previous

)

select * from final
