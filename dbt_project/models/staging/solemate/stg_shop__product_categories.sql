{#- SoleMate `categories` (parent_id). They have no updated_at: NULL. -#}

with

source as (

    select id, parent_id, name, slug, is_active, created_at
    from {{ shop_source('categories', 'shop_solemate') }}

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
        {{ utc_timestamp('created_at') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
