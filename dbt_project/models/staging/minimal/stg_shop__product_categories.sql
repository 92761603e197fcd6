{#- The minimal shop has no categories. Every product is in one documented category,
    `uncategorized`, top-level; its id is the UUID md5('category:uncategorized') (the
    generator's key scheme), which no shop row has. -#}

select
    ---------- ids
    {{ uuid_literal('0389dfdb-b2d9-e746-24b9-28b359ed93cc') }} as category_id,
    {{ typed_null('key') }} as parent_category_id,

    ---------- text
    {{ to_text("'Uncategorized'") }} as category_name,
    {{ to_text("'uncategorized'") }} as category_slug,

    ---------- booleans
    {{ to_boolean('true') }} as is_active,

    ---------- timestamps
    {{ typed_null('timestamp') }} as created_at,
    {{ typed_null('timestamp') }} as updated_at
