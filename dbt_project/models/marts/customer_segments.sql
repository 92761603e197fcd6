{{ config(
    order_by=['customer_id'],
    indexes=mart_indexes(grain=['customer_id'], filters=[['segment']]),
) }}

with

customers as (

    select customer_id, customer_tier, is_active from {{ ref('stg_shop__customers') }}

),

customer_orders as (

    select customer_id, last_order_date, orders_count, revenue
    from {{ ref('int_customers__order_summary') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

measured as (

    select
        customer_orders.customer_id as customer_id,
        {{ days_between('customer_orders.last_order_date', '(select as_of_date from as_of)') }} as recency_days,
        {{ to_bigint('customer_orders.orders_count') }} as frequency,
        {{ to_money('customer_orders.revenue') }} as monetary
    from customer_orders

),

scored as (

    -- Quintiles, 5 best. Equal values are split by customer_id so that both engines
    -- put every customer in the same quintile (key_order: UUID keys by their text, which
    -- both engines order alike).
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        {{ to_integer('ntile(5) over (order by recency_days desc, ' ~ key_order('customer_id') ~ ')') }} as r_score,
        {{ to_integer('ntile(5) over (order by frequency, ' ~ key_order('customer_id') ~ ')') }} as f_score,
        {{ to_integer('ntile(5) over (order by monetary, ' ~ key_order('customer_id') ~ ')') }} as m_score
    from measured

),

final as (

    select
        scored.customer_id as customer_id,
        scored.recency_days as recency_days,
        scored.frequency as frequency,
        scored.monetary as monetary,
        scored.r_score as r_score,
        scored.f_score as f_score,
        scored.m_score as m_score,
        concat(
            {{ to_text('scored.r_score') }},
            {{ to_text('scored.f_score') }},
            {{ to_text('scored.m_score') }}
        ) as rfm_score,
        {{ rfm_segment_case('scored.r_score', 'scored.f_score', 'scored.m_score') }} as segment,
        customers.customer_tier as tier,
        {{ to_boolean('customers.is_active') }} as is_active
    from scored
    -- Every buyer is a customer (orders.customer_id references customers).
    left join customers
        on scored.customer_id = customers.customer_id

)

select * from final
