{{ config(tags=['cross_mart']) }}

-- Revenue is the same number whichever mart it is read from: daily, monthly, per
-- customer and per RFM customer. Returns the marts that disagree with daily_sales.
with

totals as (

    select 'daily_sales' as mart, coalesce(sum(net_revenue), 0) as revenue
    from {{ ref('daily_sales') }}

    union all

    select 'monthly_revenue' as mart, coalesce(sum(revenue), 0) as revenue
    from {{ ref('monthly_revenue') }}

    union all

    select 'customer_analytics' as mart, coalesce(sum(lifetime_revenue), 0) as revenue
    from {{ ref('customer_analytics') }}

    union all

    select 'customer_segments' as mart, coalesce(sum(monetary), 0) as revenue
    from {{ ref('customer_segments') }}

),

reference as (

    select revenue as daily_revenue from totals where mart = 'daily_sales'

)

select totals.mart, totals.revenue, reference.daily_revenue
from totals
cross join reference
where totals.revenue <> reference.daily_revenue
