{{ config(
    materialized='shopmarts_incremental',
    unique_key='product_id',
    order_by=['product_id'],
    indexes=[['product_id']],
) }}

{#- One row per product sold in at least one recognized order: units, order-line
    revenue and distinct orders. Product and category marts add the unsold products.
    The sum of the product's months (int_products__monthly). A table kept by product: an
    incremental build recomputes the products the change log touched
    (macros/incremental/fold.sql). -#}

{%- set fold = fold_state() -%}

with

product_months as (

    select product_id, units_sold, revenue, orders_count
    from {{ ref('int_products__monthly') }}
    {%- if fold.incremental %}
    where {{ affected('int_products__sales', 'product_id', fold) }}
    {%- endif %}

),

final as (

    select
        product_id,
        {{ to_bigint('sum(units_sold)') }} as units_sold,
        {{ to_money('sum(revenue)') }} as revenue,
        {{ to_bigint('sum(orders_count)') }} as orders_count
    from product_months
    group by product_id

)

select * from final
