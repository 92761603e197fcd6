{{ config(
    materialized='shopmarts_incremental',
    unique_key='product_id',
    order_by=['product_id'],
    indexes=[['product_id']],
) }}

{#- One row per reviewed product: how many reviews and the sum of their ratings
    (product_performance divides them). A table kept by product: an incremental build
    recomputes, from int_reviews__rated, the products the touched reviews had and have
    (macros/incremental/fold.sql), instead of reading every review each hour. -#}

{%- set fold = fold_state() %}

select
    product_id,
    {{ to_bigint('count(*)') }} as reviews_written,
    {{ to_bigint('sum(rating)') }} as rating_sum
from {{ ref('int_reviews__rated') }}
where product_id is not null
{%- if fold.incremental %}
    and {{ affected('int_products__reviews', 'product_id', fold) }}
{%- endif %}
group by product_id
