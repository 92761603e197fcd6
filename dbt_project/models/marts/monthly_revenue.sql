{{ config(
    order_by=['month_start'],
    indexes=mart_indexes(grain=['month_start']),
) }}

with

monthly as (

    select month_start, orders_count, customers_count, revenue
    from {{ ref('int_sales__monthly') }}

),

date_bounds as (

    select min(month_start) as first_date, max(month_start) as last_date
    from monthly
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

measured as (

    select
        months.month_start as month_start,
        {{ to_money('coalesce(monthly.revenue, 0)') }} as revenue,
        {{ to_bigint('coalesce(monthly.orders_count, 0)') }} as orders_count,
        {{ to_bigint('coalesce(monthly.customers_count, 0)') }} as customers_count,
        {{ safe_divide('monthly.revenue', 'monthly.orders_count', 2) }} as avg_order_value
    from months
    left join monthly
        on months.month_start = monthly.month_start

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
