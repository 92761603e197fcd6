with

source as (

    select
        category_id,
        parent_category_id,
        name,
        slug,
        is_active,
        created_at,
        updated_at
    from {{ shop_source('product_categories') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('category_id') }} as category_id,
        {{ to_bigint('parent_category_id') }} as parent_category_id,

        ---------- text
        name as category_name,
        slug as category_slug,

        ---------- booleans
        is_active,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
