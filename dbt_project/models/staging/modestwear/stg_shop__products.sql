{#- ModestWear `catalog_product`: base_price is the unit price, `date_added` when it was
    created. The SKU lives on the variants, and no cost, active flag or last change is
    kept on a product: NULL. -#}

with

source as (

    select id, category_id, name, description, base_price, date_added
    from {{ shop_source('catalog_product', 'shop_modestwear') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('id') }} as product_id,
        {{ to_bigint('category_id') }} as category_id,

        ---------- text
        {{ typed_null('text') }} as sku,
        name as product_name,
        description as product_description,

        ---------- numerics
        {{ to_money('base_price') }} as unit_price,
        {{ typed_null('money') }} as cost_price,

        ---------- booleans
        {{ typed_null('boolean') }} as is_active,

        ---------- timestamps
        {{ utc_timestamp('date_added') }} as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
