{{ config(
    order_by=['product_id'],
    indexes=mart_indexes(
        grain=['product_id'], filters=[['category_name'], ['revenue_rank']]
    ),
) }}

with

products as (

    select product_id, product_name, category_id, cost_price, is_active
    from {{ ref('stg_shop__products') }}

),

categories as (

    select category_id, category_name from {{ ref('stg_shop__product_categories') }}

),

product_sales as (

    select product_id, units_sold, revenue, orders_count
    from {{ ref('int_products__sales') }}

),

product_reviews as (

    select product_id, reviews_written, rating_sum from {{ ref('int_products__reviews') }}

),

measured as (

    select
        products.product_id as product_id,
        products.product_name as product_name,
        categories.category_name as category_name,
        {{ to_bigint('coalesce(product_sales.units_sold, 0)') }} as units_sold,
        {{ to_money('coalesce(product_sales.revenue, 0)') }} as revenue,
        {{ to_bigint('coalesce(product_sales.orders_count, 0)') }} as orders_count,
        {{ to_bigint('coalesce(product_reviews.reviews_written, 0)') }} as review_count,
        {{ safe_divide('product_reviews.rating_sum', 'product_reviews.reviews_written', 2) }}
            as avg_rating,
        {{ to_boolean('products.is_active') }} as is_active,
        -- At today's cost price: the shop keeps no history of cost prices.
        {{ to_money('coalesce(product_sales.units_sold, 0) * products.cost_price') }}
            as cost_of_goods
    from products
    left join categories
        on products.category_id = categories.category_id
    left join product_sales
        on products.product_id = product_sales.product_id
    left join product_reviews
        on products.product_id = product_reviews.product_id

),

final as (

    select
        product_id,
        product_name,
        category_name,
        units_sold,
        revenue,
        orders_count,
        review_count,
        avg_rating,
        -- 1 = highest revenue; equal revenue is ranked by product_id, so ranks are unique
        -- (key_order: UUID keys by their text, which both engines order alike).
        {{ to_bigint('row_number() over (order by revenue desc, ' ~ key_order('product_id') ~ ')') }} as revenue_rank,
        is_active,
        cost_of_goods,
        {{ to_money('revenue - cost_of_goods') }} as gross_margin,
        {{ safe_divide('(revenue - cost_of_goods) * 100', 'revenue', 2) }} as gross_margin_pct
    from measured

)

select * from final
