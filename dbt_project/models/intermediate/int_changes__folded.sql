{{ config(materialized='table', order_by=['folded_batch']) }}

{#- The watermark of the incremental layer: the newest change-log batch every incremental
    model has folded in. Built last (it depends on all of them), so a build that fails or
    is killed before the end leaves it where it was and the next build folds those
    batches again (macros/incremental/fold.sql). With it, the newest order's date that
    build found: the next incremental build's as-of date starts from it
    (macros/as_of_date.sql). -#}

-- depends_on: {{ ref('int_changes__orders') }}
-- depends_on: {{ ref('int_orders__recognized') }}
-- depends_on: {{ ref('int_order_items__recognized') }}
-- depends_on: {{ ref('int_customers__order_summary') }}
-- depends_on: {{ ref('int_products__monthly') }}
-- depends_on: {{ ref('int_products__sales') }}
-- depends_on: {{ ref('int_sales__daily') }}
-- depends_on: {{ ref('int_sales__monthly') }}
-- depends_on: {{ ref('int_promotions__daily') }}
-- depends_on: {{ ref('int_reviews__rated') }}
-- depends_on: {{ ref('int_products__reviews') }}

select
    {{ to_bigint(fold_state().to_batch) }} as folded_batch,
    (select newest_order_date from {{ ref('int_as_of_date') }}) as newest_order_date
