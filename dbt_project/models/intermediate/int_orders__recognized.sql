{{ config(
    materialized='shopmarts_incremental',
    unique_key='order_id',
    order_by=['order_id'],
    indexes=[
        ['order_id'],
        {'columns': ['customer_id'], 'include': ['order_date', 'total_amount']},
        {
            'columns': ['order_date'],
            'include': ['order_id', 'customer_id', 'subtotal', 'discount_amount', 'total_amount'],
        },
    ],
) }}

{#- The orders that count: the one place the recognized-order filter is applied. Every
    mart reads recognized orders from here (or from the aggregates below), never
    `stg_shop__orders` with a filter of its own. A table kept by order: an incremental
    build replaces the orders the change log touched (macros/incremental/fold.sql).
    Its customer and date indexes cover what int_customers__order_summary and the daily
    aggregates read, so a touched customer's whole history, or a touched day, is read by
    index only (0.68 -> 0.09 s for an hour's 4,191 customers at scale 100), not row by
    row across the table. -#}

{% set fold = fold_state() -%}
-- depends_on: {{ ref('int_changes__orders') }}

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
    {%- if fold.incremental %}
        and {{ affected('int_orders__recognized', 'order_id', fold) }}
    {%- endif %}

)

select * from orders
