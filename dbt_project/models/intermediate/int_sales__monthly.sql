{{ config(
    materialized='shopmarts_incremental',
    unique_key='month_start',
    order_by=['month_start'],
    indexes=[['month_start']],
) }}

{#- One row per calendar month with at least one recognized order: orders, distinct
    customers and revenue. monthly_revenue adds the quiet months and the growth. A table
    kept by month: an incremental build recomputes, from the facts, the months the change
    log touched (macros/incremental/fold.sql), reading those months' orders only. -#}

{%- set fold = fold_state() -%}

with

recognized_orders as (

    {{ rows_in_affected_months(
        ref('int_orders__recognized'), ['customer_id', 'order_date', 'total_amount'], fold
    ) }}

),

final as (

    select
        {{ month_start('order_date') }} as month_start,
        {{ to_bigint('count(*)') }} as orders_count,
        {{ to_bigint('count(distinct customer_id)') }} as customers_count,
        {{ to_money('sum(total_amount)') }} as revenue
    from recognized_orders
    group by {{ month_start('order_date') }}

)

select * from final
