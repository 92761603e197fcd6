{{ config(tags=['cross_mart']) }}

-- Order-line revenue and units agree between products and categories: the top-level
-- categories cover every product that has a category.
with

product_totals as (

    select
        coalesce(sum(product_performance.revenue), 0) as revenue,
        coalesce(sum(product_performance.units_sold), 0) as units
    from {{ ref('product_performance') }} as product_performance
    inner join {{ ref('stg_shop__products') }} as products
        on product_performance.product_id = products.product_id
    inner join {{ ref('stg_shop__product_categories') }} as categories
        on products.category_id = categories.category_id

),

category_totals as (

    select
        coalesce(sum(revenue), 0) as revenue,
        coalesce(sum(units_sold), 0) as units
    from {{ ref('category_performance') }}
    where category_level = 1

)

select
    product_totals.revenue as product_revenue,
    category_totals.revenue as category_revenue,
    product_totals.units as product_units,
    category_totals.units as category_units
from product_totals
cross join category_totals
where product_totals.revenue <> category_totals.revenue
    or product_totals.units <> category_totals.units
