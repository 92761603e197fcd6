{#- The orders that count: the one place the recognized-order filter is applied. Every
    mart reads recognized orders from here (or from the aggregates below), never
    `stg_shop__orders` with a filter of its own. -#}

with

orders as (

    select
        order_id,
        customer_id,
        order_date,
        subtotal,
        discount_amount,
        total_amount,
        updated_at
    from {{ ref('stg_shop__orders') }}
    where is_recognized

)

select * from orders
