{#- TechAlly `products`, without the soft-deleted ones: base_price is the unit price; a
    product is active when it is published (a discontinued product is unpublished). -#}

with

source as (

    select id, sku, name, description, category_id, base_price, cost_price, is_published, created_at, updated_at
    from {{ shop_source('products', 'shop_techally') }}
    where deleted_at is null

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
        {{ to_money('base_price') }} as unit_price,
        {{ to_money('cost_price') }} as cost_price,

        ---------- booleans
        is_published as is_active,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
