with

source as (

    select
        inventory_id,
        product_id,
        warehouse_code,
        quantity_on_hand,
        quantity_reserved,
        quantity_available,
        reorder_point,
        reorder_quantity,
        updated_at
    from {{ shop_source('inventory') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('inventory_id') }} as inventory_id,
        {{ to_bigint('product_id') }} as product_id,

        ---------- text
        warehouse_code,

        ---------- numerics
        {{ to_bigint('quantity_on_hand') }} as quantity_on_hand,
        {{ to_bigint('quantity_reserved') }} as quantity_reserved,
        {{ to_bigint('quantity_available') }} as quantity_available,
        {{ to_bigint('reorder_point') }} as reorder_point,
        {{ to_bigint('reorder_quantity') }} as reorder_quantity,

        ---------- timestamps
        updated_at

    from source

)

select * from renamed
