{#- TechAlly `inventory`, per product and warehouse as in the canonical shop; the
    warehouse named by its code. -#}

with

inventory as (

    select id, product_id, warehouse_id, quantity_on_hand, quantity_reserved, quantity_available, reorder_point, reorder_quantity, updated_at
    from {{ shop_source('inventory', 'shop_techally') }}

),

warehouses as (

    select id, code from {{ shop_source('warehouses', 'shop_techally') }}

),

renamed as (

    select
        ---------- ids
        inventory.id as inventory_id,
        inventory.product_id as product_id,

        ---------- text
        warehouses.code as warehouse_code,

        ---------- numerics
        {{ to_bigint('inventory.quantity_on_hand') }} as quantity_on_hand,
        {{ to_bigint('inventory.quantity_reserved') }} as quantity_reserved,
        {{ to_bigint('inventory.quantity_available') }} as quantity_available,
        {{ to_bigint('inventory.reorder_point') }} as reorder_point,
        {{ to_bigint('inventory.reorder_quantity') }} as reorder_quantity,

        ---------- timestamps
        inventory.updated_at as updated_at

    from inventory
    inner join warehouses
        on inventory.warehouse_id = warehouses.id

)

select * from renamed
