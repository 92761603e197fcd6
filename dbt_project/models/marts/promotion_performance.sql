{{ config(
    order_by=['promotion_id'],
    indexes=mart_indexes(grain=['promotion_id'], filters=[['code']]),
) }}

{#- What each promotion brought (docs block `promotion_performance`). Every promotion
    has a row, used or not. redemptions counts every order the code was applied to,
    whatever became of it; every other figure counts recognized orders only. The
    comparison base, avg_order_value_without, is the average recognized order without
    any promotion placed between the promotion's first and last recognized order dates
    (UTC, both included). -#}

with

promotions as (

    select promotion_id, promotion_code, promotion_name, discount_type
    from {{ ref('stg_shop__promotions') }}

),

order_promotions as (

    select order_id, promotion_id, discount_amount
    from {{ ref('stg_shop__order_promotions') }}

),

recognized_orders as materialized (

    -- Read by several CTEs below: computed once (ClickHouse would inline it each time).
    select order_id, order_date, total_amount
    from {{ ref('int_orders__recognized') }}

),

redeemed as (

    select promotion_id, count(*) as redemption_count
    from order_promotions
    group by promotion_id

),

promoted_orders as (

    select
        order_promotions.promotion_id as promotion_id,
        count(*) as order_count,
        sum(recognized_orders.total_amount) as total_sum,
        -- The discount this promotion gave, not the order's whole discount.
        sum(order_promotions.discount_amount) as discount_sum,
        min(recognized_orders.order_date) as first_order_date,
        max(recognized_orders.order_date) as last_order_date
    from order_promotions
    inner join recognized_orders
        on order_promotions.order_id = recognized_orders.order_id
    group by order_promotions.promotion_id

),

orders_with_a_promotion as (

    select distinct order_id from order_promotions

),

days_without_promotion as (

    -- Recognized orders that carry no promotion at all, per day.
    select
        recognized_orders.order_date as order_date,
        count(*) as order_count,
        sum(recognized_orders.total_amount) as total_sum
    from recognized_orders
    left join orders_with_a_promotion
        on recognized_orders.order_id = orders_with_a_promotion.order_id
    where orders_with_a_promotion.order_id is null
    group by recognized_orders.order_date

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
    select sum(total_amount) as total_sum from recognized_orders

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
