{{ config(
    materialized='shopmarts_incremental',
    unique_key='_batch',
    order_by=['_batch'],
) }}

{#- The keys the pending raw changes touch: the changed orders, and the aggregate keys
    (customer, day, product, a customer's first day) those orders had in the facts the
    last build stored; and the product each changed review had. The keys they have now
    are read from the facts once replaced (`affected()` in macros/incremental/fold.sql).
    Each build appends the rows of the batches it folds (labelled with the newest) and
    drops those of batches an earlier build folded; rows of a build that did not finish
    stay until one does (macros/incremental/fold.sql). A full rebuild leaves it empty.

    The old facts are read by name, not by ref: this model runs before the facts are
    replaced, and a ref would make a cycle. -#}

-- depends_on: {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__reviews') }}
{% set fold = fold_state() -%}

{%- if fold.incremental %}
{%- set changed_lines -%}
    select order_item_id from {{ changed_keys('order_items', ['order_item_id'], fold) }} as changed
{%- endset -%}

with

changed_orders as (

    -- Orders whose figures may have changed: changed or deleted orders, orders with a
    -- changed or deleted promotion, and the orders of changed or deleted lines, both
    -- the order a line belonged to (the stored facts) and the one it belongs to now.
    select order_id from {{ changed_keys('orders', ['order_id'], fold) }} as changed
    union all
    select order_id from {{ changed_keys('order_promotions', ['order_id'], fold) }} as changed
    union all
    select facts.order_id as order_id
    from {{ intermediate_relation('int_order_items__recognized') }} as facts
    where {{ key_in('facts.order_item_id', changed_lines) }}
    union all
    select order_items.order_id as order_id
    from {{ ref('stg_shop__order_items') }} as order_items
    where {{ key_in('order_items.order_item_id', changed_lines) }}

),

old_orders as (

    select order_id, customer_id, order_date
    from {{ intermediate_relation('int_orders__recognized') }}
    where {{ key_in('order_id', 'select order_id from changed_orders') }}

),

old_items as (

    select order_id, customer_id, order_date, product_id
    from {{ intermediate_relation('int_order_items__recognized') }}
    where {{ key_in('order_id', 'select order_id from changed_orders') }}

),

customers_now as (

    -- Whoever the changed orders belong to now, recognized or not (a superset is
    -- harmless): their first day as stored may change too.
    select customer_id from {{ ref('stg_shop__orders') }}
    where {{ key_in('order_id', 'select order_id from changed_orders') }}

),

old_reviews as (

    -- The product each changed or deleted review had in the reviews the last build stored.
    select product_id
    from {{ intermediate_relation('int_reviews__rated') }}
    where {{ key_in('review_id', touched_reviews(fold)) }}

),

old_first_days as (

    -- A touched customer's first day as stored: it may gain or lose a first-time customer.
    select customer_id, first_order_date
    from {{ intermediate_relation('int_customers__order_summary') }}
    where {{ key_in(
        'customer_id',
        'select customer_id from old_orders union all select customer_id from customers_now',
    ) }}

),

touched as (

    select order_id, {{ typed_null('bigint') }} as customer_id, {{ typed_null('date') }} as order_date,
        {{ typed_null('bigint') }} as product_id, {{ typed_null('date') }} as first_order_date
    from changed_orders
    union all
    select order_id, customer_id, order_date, {{ typed_null('bigint') }} as product_id,
        {{ typed_null('date') }} as first_order_date
    from old_orders
    union all
    select order_id, customer_id, order_date, product_id, {{ typed_null('date') }} as first_order_date
    from old_items
    union all
    select {{ typed_null('bigint') }} as order_id, customer_id, {{ typed_null('date') }} as order_date,
        {{ typed_null('bigint') }} as product_id, {{ typed_null('date') }} as first_order_date
    from customers_now
    union all
    select {{ typed_null('bigint') }} as order_id, customer_id, {{ typed_null('date') }} as order_date,
        {{ typed_null('bigint') }} as product_id, first_order_date
    from old_first_days
    union all
    select {{ typed_null('bigint') }} as order_id, {{ typed_null('bigint') }} as customer_id,
        {{ typed_null('date') }} as order_date, product_id, {{ typed_null('date') }} as first_order_date
    from old_reviews

)

select distinct
    {{ to_bigint(fold.to_batch) }} as _batch,
    order_id,
    customer_id,
    order_date,
    product_id,
    first_order_date
from touched

{%- else %}

-- A full rebuild: nothing pending (typed columns for the table's first creation).
select
    {{ to_bigint(fold.to_batch) }} as _batch,
    {{ typed_null('bigint') }} as order_id,
    {{ typed_null('bigint') }} as customer_id,
    {{ typed_null('date') }} as order_date,
    {{ typed_null('bigint') }} as product_id,
    {{ typed_null('date') }} as first_order_date
where 1 = 0

{%- endif %}
