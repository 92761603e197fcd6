{#- ModestWear `catalog_category` (parent_id). Categories have no timestamps: NULL. -#}

with

source as (

    select id, parent_id, name, slug, is_active
    from {{ shop_source('catalog_category', 'shop_modestwear') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('id') }} as category_id,
        {{ to_bigint('parent_id') }} as parent_category_id,

        ---------- text
        name as category_name,
        slug as category_slug,

        ---------- booleans
        is_active,

        ---------- timestamps
        {{ typed_null('timestamp') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
