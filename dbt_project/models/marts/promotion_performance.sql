{{ config(
    order_by=['promotion_id'],
    indexes=mart_indexes(grain=['promotion_id'], filters=[['code']]),
) }}

{#- What each promotion brought (docs block `promotion_performance`). Every promotion
    has a row, used or not. redemptions counts every order the code was applied to,
    whatever became of it; every other figure counts recognized orders only. The
    comparison base, avg_order_value_without, is the average recognized order without
    any promotion placed between the promotion's first and last recognized order dates
    (UTC, both included). Read from the per-day aggregates (int_promotions__daily,
    int_sales__daily): a few rows per promotion and day, not every order. -#}

with

promotions as (

    select promotion_id, promotion_code, promotion_name, discount_type
    from {{ ref('stg_shop__promotions') }}

),

redeemed as (

    select promotion_id, count(*) as redemption_count
    from {{ ref('stg_shop__order_promotions') }}
    group by promotion_id

),

per_day as (

    select order_date, promotion_id, orders_count, revenue, discount_total
    from {{ ref('int_promotions__daily') }}

),

promoted_orders as (

    select
        promotion_id,
        sum(orders_count) as order_count,
        sum(revenue) as total_sum,
        -- The discount this promotion gave, not the order's whole discount.
        sum(discount_total) as discount_sum,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from per_day
    where promotion_id is not null
    group by promotion_id

),

days_without_promotion as (

    -- Recognized orders that carry no promotion at all, per day.
    select order_date, orders_count as order_count, revenue as total_sum
    from per_day
    where promotion_id is null

),

baseline as (

    -- Over the days each promotion was used: a few hundred days per promotion at most,
    -- so the range condition is a filter on a small cross join.
    select
        promoted_orders.promotion_id as promotion_id,
        sum(days_without_promotion.order_count) as order_count,
        sum(days_without_promotion.total_sum) as total_sum
    from promoted_orders
    cross join days_without_promotion
    where days_without_promotion.order_date >= promoted_orders.first_order_date
        and days_without_promotion.order_date <= promoted_orders.last_order_date
    group by promoted_orders.promotion_id

),

shop_total as (

    -- Revenue of all recognized orders, the denominator of revenue_share.
    select sum(net_revenue) as total_sum from {{ ref('int_sales__daily') }}

),

final as (

    select
        promotions.promotion_id as promotion_id,
        promotions.promotion_code as code,
        promotions.promotion_name as name,
        promotions.discount_type as discount_type,
        {{ to_bigint('coalesce(redeemed.redemption_count, 0)') }} as redemptions,
        {{ to_bigint('coalesce(promoted_orders.order_count, 0)') }} as orders_count,
        {{ to_money('coalesce(promoted_orders.total_sum, 0)') }} as revenue,
        {{ to_money('coalesce(promoted_orders.discount_sum, 0)') }} as discount_total,
        {{ safe_divide('promoted_orders.total_sum', 'promoted_orders.order_count', 2) }}
            as avg_order_value,
        {{ safe_divide('baseline.total_sum', 'baseline.order_count', 2) }}
            as avg_order_value_without,
        {{ safe_divide('coalesce(promoted_orders.total_sum, 0)', 'shop_total.total_sum', 6) }}
            as revenue_share,
        promoted_orders.first_order_date as first_order_date,
        promoted_orders.last_order_date as last_order_date
    from promotions
    left join redeemed
        on promotions.promotion_id = redeemed.promotion_id
    left join promoted_orders
        on promotions.promotion_id = promoted_orders.promotion_id
    left join baseline
        on promotions.promotion_id = baseline.promotion_id
    cross join shop_total

)

select * from final
