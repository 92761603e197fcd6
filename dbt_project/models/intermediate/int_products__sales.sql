{{ config(
    materialized='shopmarts_incremental',
    unique_key='product_id',
    order_by=['product_id'],
    indexes=[['product_id']],
) }}

{#- One row per product sold in at least one recognized order: units, order-line
    revenue and distinct orders. Product and category marts add the unsold products.
    A table kept by product: an incremental build recomputes, from the facts, the
    products the change log touched (macros/incremental/fold.sql). -#}

{%- set fold = fold_state() -%}

with

recognized_order_items as (

    select order_id, product_id, quantity, line_total
    from {{ ref('int_order_items__recognized') }}
    {%- if fold.incremental %}
    where {{ affected('int_products__sales', 'product_id', fold) }}
    {%- endif %}

),

final as (

    select
        product_id,
        {{ to_bigint('sum(quantity)') }} as units_sold,
        {{ to_money('sum(line_total)') }} as revenue,
        {{ to_bigint('count(distinct order_id)') }} as orders_count
    from recognized_order_items
    group by product_id

)

select * from final
