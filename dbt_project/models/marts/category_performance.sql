{{ config(
    order_by=['category_id'],
    indexes=mart_indexes(grain=['category_id'], filters=[['parent_category_name']]),
) }}

{#- A category's figures include its whole subtree: a top-level category covers its
    subcategories and theirs. The tree has at most three levels (a singular test checks
    it), so each category and its up to two ancestors are enough. -#}

with

categories as (

    select category_id, parent_category_id, category_name
    from {{ ref('stg_shop__product_categories') }}

),

products as (

    select product_id, category_id from {{ ref('stg_shop__products') }}

),

recognized_orders as (

    select order_id from {{ ref('stg_shop__orders') }} where is_recognized

),

order_items as (

    select order_id, product_id, quantity, line_total from {{ ref('stg_shop__order_items') }}

),

category_ancestors as (

    -- (category, itself or one of its ancestors) pairs.
    select category_id, category_id as ancestor_category_id
    from categories

    union all

    select category_id, parent_category_id as ancestor_category_id
    from categories
    where parent_category_id is not null

    union all

    select child.category_id as category_id, parent.parent_category_id as ancestor_category_id
    from categories as child
    inner join categories as parent
        on child.parent_category_id = parent.category_id
    where parent.parent_category_id is not null

),

product_sales as materialized (

    -- Read by several CTEs below: computed once (ClickHouse would inline it each time).
    select
        order_items.product_id as product_id,
        sum(order_items.quantity) as quantity_sum,
        sum(order_items.line_total) as line_total_sum
    from order_items
    inner join recognized_orders
        on order_items.order_id = recognized_orders.order_id
    group by order_items.product_id

),

shop_total as (

    -- Revenue of all recognized order items, the denominator of revenue_share.
    select sum(line_total_sum) as line_total_sum from product_sales

),

subtree_totals as (

    select
        category_ancestors.ancestor_category_id as category_id,
        count(*) as product_count,
        sum(product_sales.quantity_sum) as quantity_sum,
        sum(product_sales.line_total_sum) as line_total_sum
    from products
    inner join category_ancestors
        on products.category_id = category_ancestors.category_id
    left join product_sales
        on products.product_id = product_sales.product_id
    group by category_ancestors.ancestor_category_id

),

final as (

    select
        categories.category_id as category_id,
        categories.category_name as category_name,
        parent_categories.category_name as parent_category_name,
        {{ to_bigint('coalesce(subtree_totals.product_count, 0)') }} as products_count,
        {{ to_bigint('coalesce(subtree_totals.quantity_sum, 0)') }} as units_sold,
        {{ to_money('coalesce(subtree_totals.line_total_sum, 0)') }} as revenue,
        {{ safe_divide('coalesce(subtree_totals.line_total_sum, 0)', 'shop_total.line_total_sum', 6) }}
            as revenue_share
    from categories
    left join categories as parent_categories
        on categories.parent_category_id = parent_categories.category_id
    left join subtree_totals
        on categories.category_id = subtree_totals.category_id
    cross join shop_total

)

select * from final
