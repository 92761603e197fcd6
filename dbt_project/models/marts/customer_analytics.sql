{{ config(
    order_by=['customer_id'],
    indexes=mart_indexes(grain=['customer_id'], filters=[['last_order_date']]),
) }}

with

customers as (

    select customer_id, customer_tier, is_active from {{ ref('stg_shop__customers') }}

),

customer_orders as (

    select
        customer_id,
        first_order_date,
        last_order_date,
        orders_count,
        revenue,
        units_purchased
    from {{ ref('int_customers__order_summary') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

final as (

    select
        customers.customer_id as customer_id,
        customer_orders.first_order_date as first_order_date,
        customer_orders.last_order_date as last_order_date,
        {{ to_bigint('coalesce(customer_orders.orders_count, 0)') }} as orders_count,
        {{ to_money('coalesce(customer_orders.revenue, 0)') }} as lifetime_revenue,
        {{ safe_divide('customer_orders.revenue', 'customer_orders.orders_count', 2) }}
            as avg_order_value,
        {{ to_bigint('coalesce(customer_orders.units_purchased, 0)') }} as items_purchased,
        {{ days_between('customer_orders.last_order_date', '(select as_of_date from as_of)') }}
            as days_since_last_order,
        customers.customer_tier as tier,
        {{ to_boolean('customers.is_active') }} as is_active
    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id

)

select * from final
