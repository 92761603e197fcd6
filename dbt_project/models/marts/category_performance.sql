{{ config(
    order_by=['category_id'],
    indexes=mart_indexes(grain=['category_id'], filters=[['parent_category_name']]),
) }}

{#- A category's figures include its whole subtree, however deep the tree: a top-level
    category covers its subcategories, theirs, and so on. The `own_` columns count only
    the products filed directly under the category. The tree is walked down from the
    top-level categories, so a cycle of parents (which the shop should never hold) can
    not make the walk endless: its categories are never reached and get no
    category_level, which the mart gate reports. -#}

with

categories as (

    select category_id, parent_category_id, category_name
    from {{ ref('stg_shop__product_categories') }}

),

products as (

    select product_id, category_id, cost_price, is_active
    from {{ ref('stg_shop__products') }}

),

sales as (

    select product_id, units_sold, revenue from {{ ref('int_products__sales') }}

),

category_tree as (

    -- (category, itself or one of its ancestors, the category's level) triples. The
    -- recursion has a WITH of its own: ClickHouse allows no MATERIALIZED CTE (below) in a
    -- recursive WITH.
    with recursive

    category_levels as (

        -- Every category reachable from a top-level one, with its level (1 = top-level).
        select category_id, {{ to_integer('1') }} as category_level
        from categories
        where parent_category_id is null

        union all

        select
            child.category_id as category_id,
            {{ to_integer('category_levels.category_level + 1') }} as category_level
        from category_levels
        inner join categories as child
            on child.parent_category_id = category_levels.category_id

    ),

    category_ancestors as (

        -- Climbing parent by parent from each reachable category.
        select category_id, category_id as ancestor_category_id
        from category_levels

        union all

        select
            category_ancestors.category_id as category_id,
            parents.parent_category_id as ancestor_category_id
        from category_ancestors
        inner join categories as parents
            on parents.category_id = category_ancestors.ancestor_category_id
        where parents.parent_category_id is not null

    )

    select
        category_ancestors.category_id as category_id,
        category_ancestors.ancestor_category_id as ancestor_category_id,
        category_levels.category_level as category_level
    from category_ancestors
    inner join category_levels
        on category_ancestors.category_id = category_levels.category_id

),

product_sales as materialized (

    -- Read by several CTEs below: computed once (ClickHouse would inline it each time).
    select
        products.product_id as product_id,
        products.category_id as category_id,
        products.is_active as is_active,
        coalesce(sales.units_sold, 0) as quantity_sum,
        coalesce(sales.revenue, 0) as line_total_sum,
        -- At today's cost price: the shop keeps no history of cost prices.
        coalesce(sales.units_sold, 0) * products.cost_price as cost_sum
    from products
    left join sales
        on products.product_id = sales.product_id

),

reachable_categories as (

    select category_id, category_level
    from category_tree
    where ancestor_category_id = category_id

),

shop_total as (

    -- Line revenue of all recognized order items, the denominator of revenue_share.
    select
        sum(line_total_sum) as line_total_sum,
        -- Products with an active flag / a cost price: none in a shop whose schema keeps
        -- neither (docs/profiles.md), whose categories then say NULL, not 0.
        count(is_active) as flagged_products,
        count(cost_sum) as costed_products
    from product_sales

),

own_totals as (

    select
        category_id,
        sum(quantity_sum) as quantity_sum,
        sum(line_total_sum) as line_total_sum
    from product_sales
    group by category_id

),

subtree_totals as (

    select
        category_tree.ancestor_category_id as category_id,
        count(*) as product_count,
        sum(case when product_sales.is_active then 1 else 0 end) as active_product_count,
        sum(product_sales.quantity_sum) as quantity_sum,
        sum(product_sales.line_total_sum) as line_total_sum,
        sum(product_sales.cost_sum) as cost_sum
    from product_sales
    inner join category_tree
        on product_sales.category_id = category_tree.category_id
    group by category_tree.ancestor_category_id

),

measured as (

    select
        categories.category_id as category_id,
        categories.category_name as category_name,
        parent_categories.category_name as parent_category_name,
        {{ to_bigint('coalesce(subtree_totals.product_count, 0)') }} as products_count,
        {{ to_bigint('coalesce(subtree_totals.quantity_sum, 0)') }} as units_sold,
        {{ to_money('coalesce(subtree_totals.line_total_sum, 0)') }} as revenue,
        {{ safe_divide('coalesce(subtree_totals.line_total_sum, 0)', 'shop_total.line_total_sum', 6) }}
            as revenue_share,
        reachable_categories.category_level as category_level,
        {{ to_bigint('case when shop_total.flagged_products = 0 then null else coalesce(subtree_totals.active_product_count, 0) end') }}
            as active_products_count,
        {{ to_bigint('coalesce(own_totals.quantity_sum, 0)') }} as own_units_sold,
        {{ to_money('coalesce(own_totals.line_total_sum, 0)') }} as own_revenue,
        {{ to_money('case when shop_total.costed_products = 0 then null else coalesce(subtree_totals.cost_sum, 0) end') }}
            as cost_of_goods
    from categories
    left join categories as parent_categories
        on categories.parent_category_id = parent_categories.category_id
    left join reachable_categories
        on categories.category_id = reachable_categories.category_id
    left join subtree_totals
        on categories.category_id = subtree_totals.category_id
    left join own_totals
        on categories.category_id = own_totals.category_id
    cross join shop_total

),

final as (

    select
        category_id,
        category_name,
        parent_category_name,
        products_count,
        units_sold,
        revenue,
        revenue_share,
        category_level,
        active_products_count,
        own_units_sold,
        own_revenue,
        cost_of_goods,
        {{ to_money('revenue - cost_of_goods') }} as gross_margin,
        {{ safe_divide('(revenue - cost_of_goods) * 100', 'revenue', 2) }} as gross_margin_pct
    from measured

)

select * from final
