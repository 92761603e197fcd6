{{ config(
    order_by=['customer_id'],
    indexes=mart_indexes(grain=['customer_id'], filters=[['last_order_date']]),
) }}

with

customers as (

    select customer_id, customer_tier, is_active from {{ ref('stg_shop__customers') }}

),

recognized_orders as materialized (

    -- Read by several CTEs below: computed once (ClickHouse would inline it each time).
    select order_id, customer_id, order_date, total_amount
    from {{ ref('stg_shop__orders') }}
    where is_recognized

),

order_items as (

    select order_id, quantity from {{ ref('stg_shop__order_items') }}

),

as_of as (

    {{ as_of_date_query() }}

),

customer_orders as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as orders_count,
        sum(total_amount) as revenue_sum
    from recognized_orders
    group by customer_id

),

customer_items as (

    select
        recognized_orders.customer_id as customer_id,
        sum(order_items.quantity) as quantity_sum
    from order_items
    inner join recognized_orders
        on order_items.order_id = recognized_orders.order_id
    group by recognized_orders.customer_id

),

final as (

    select
        customers.customer_id as customer_id,
        customer_orders.first_order_date as first_order_date,
        customer_orders.last_order_date as last_order_date,
        {{ to_bigint('coalesce(customer_orders.orders_count, 0)') }} as orders_count,
        {{ to_money('coalesce(customer_orders.revenue_sum, 0)') }} as lifetime_revenue,
        {{ safe_divide('customer_orders.revenue_sum', 'customer_orders.orders_count', 2) }}
            as avg_order_value,
        {{ to_bigint('coalesce(customer_items.quantity_sum, 0)') }} as items_purchased,
        {{ days_between('customer_orders.last_order_date', 'as_of.as_of_date') }}
            as days_since_last_order,
        customers.customer_tier as tier,
        {{ to_boolean('customers.is_active') }} as is_active
    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id
    left join customer_items
        on customers.customer_id = customer_items.customer_id
    cross join as_of

)

select * from final
