{#- SoleMate `products`: price is the unit price, cost the cost price. -#}

with

source as (

    select id, sku, name, description, category_id, price, cost, is_active, created_at, updated_at
    from {{ shop_source('products', 'shop_solemate') }}

),

renamed as (

    select
        ---------- ids
        id as product_id,
        category_id,

        ---------- text
        sku,
        name as product_name,
        description as product_description,

        ---------- numerics
        {{ to_money('price') }} as unit_price,
        {{ to_money('cost') }} as cost_price,

        ---------- booleans
        is_active,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
