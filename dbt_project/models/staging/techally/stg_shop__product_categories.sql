{#- TechAlly `categories` (parent_id). -#}

with

source as (

    select id, parent_id, name, slug, is_active, created_at, updated_at
    from {{ shop_source('categories', 'shop_techally') }}

),

renamed as (

    select
        ---------- ids
        id as category_id,
        parent_id as parent_category_id,

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
