{{ config(
    materialized='shopmarts_incremental',
    unique_key='(product_id, month_start)',
    order_by=['product_id', 'month_start'],
    indexes=[['product_id', 'month_start']],
) }}

{#- One row per product and calendar month with at least one recognized order line:
    units, order-line revenue and distinct orders. Each order falls in one month, so
    int_products__sales adds the months up exactly (distinct orders too), reading a few
    dozen rows per product instead of every line the product ever sold. A table kept by
    (product, month): an incremental build recomputes, from the facts, the product months
    the change log touched (macros/incremental/fold.sql). -#}

{%- set fold = fold_state() -%}

with

recognized_order_items as (

    {{ rows_in_affected_months(
        ref('int_order_items__recognized'),
        ['order_id', 'product_id', 'order_date', 'quantity', 'line_total'],
        fold,
        key='product_id',
    ) }}

),

final as (

    select
        product_id,
        {{ month_start('order_date') }} as month_start,
        {{ to_bigint('sum(quantity)') }} as units_sold,
        {{ to_money('sum(line_total)') }} as revenue,
        {{ to_bigint('count(distinct order_id)') }} as orders_count
    from recognized_order_items
    group by product_id, {{ month_start('order_date') }}

)

select * from final
