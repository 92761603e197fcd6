{{ config(
    order_by=['sales_date'],
    indexes=mart_indexes(grain=['sales_date']),
) }}

with

sales_per_day as (

    select
        sales_date,
        orders_count,
        items_sold,
        gross_revenue,
        discount_total,
        net_revenue,
        unique_customers,
        new_customers
    from {{ ref('int_sales__daily') }}

),

date_bounds as (

    -- No row (and so no days) when there is no recognized order at all.
    select min(sales_date) as first_date, max(sales_date) as last_date
    from sales_per_day
    having count(*) > 0

),

calendar as (

    -- Every day from the first to the last recognized order, so quiet days show as zeros.
    {{ date_spine('date_bounds', 'first_date', 'last_date') }}

),

final as (

    select
        calendar.date_day as sales_date,
        {{ to_bigint('coalesce(sales_per_day.orders_count, 0)') }} as orders_count,
        {{ to_bigint('coalesce(sales_per_day.items_sold, 0)') }} as items_sold,
        {{ to_money('coalesce(sales_per_day.gross_revenue, 0)') }} as gross_revenue,
        {{ to_money('coalesce(sales_per_day.discount_total, 0)') }} as discount_total,
        {{ to_money('coalesce(sales_per_day.net_revenue, 0)') }} as net_revenue,
        {{ safe_divide('sales_per_day.net_revenue', 'sales_per_day.orders_count', 2) }}
            as avg_order_value,
        {{ to_bigint('coalesce(sales_per_day.unique_customers, 0)') }} as unique_customers,
        {{ to_bigint('coalesce(sales_per_day.new_customers, 0)') }} as new_customers
    from calendar
    left join sales_per_day
        on calendar.date_day = sales_per_day.sales_date

)

select * from final
