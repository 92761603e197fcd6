{{ config(
    materialized='shopmarts_incremental',
    unique_key='review_id',
    order_by=['review_id'],
    indexes=[
        ['review_id'],
        {'columns': ['product_id'], 'include': ['rating']},
    ],
) }}

{#- Every review's product and rating: what int_products__reviews sums by product. A
    table kept by review: an incremental build replaces the reviews the change log
    touched (macros/incremental/fold.sql), after int_changes__orders has kept the
    product each of them had here before (a deleted review's product is known only
    here). Its product index covers what int_products__reviews reads, so a touched
    product's reviews are read by index only. -#}

-- depends_on: {{ ref('int_changes__orders') }}

{%- set fold = fold_state() %}

select
    review_id,
    product_id,
    rating
from {{ ref('stg_shop__reviews') }}
{%- if fold.incremental %}
where {{ affected('int_reviews__rated', 'review_id', fold) }}
{%- endif %}
