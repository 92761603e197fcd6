{#- SoleMate keeps stock per product, variant and warehouse; the canonical grain is the
    product in a warehouse: the variants' rows are summed (quantity = on hand, reserved,
    reorder point and quantity), the warehouse named by its code. The summed row's id is
    the first (by text) of its rows' ids. -#}

with

inventory as (

    select id, product_id, warehouse_id, quantity, reserved, reorder_point, reorder_quantity, updated_at
    from {{ shop_source('inventory', 'shop_solemate') }}

),

warehouses as (

    select id, code from {{ shop_source('warehouses', 'shop_solemate') }}

),

per_product as (

    select
        {{ min_uuid('inventory.id') }} as inventory_id,
        inventory.product_id as product_id,
        warehouses.code as warehouse_code,
        sum(inventory.quantity) as quantity_on_hand,
        sum(inventory.reserved) as quantity_reserved,
        sum(inventory.reorder_point) as reorder_point,
        sum(inventory.reorder_quantity) as reorder_quantity,
        max(inventory.updated_at) as updated_at
    from inventory
    inner join warehouses
        on inventory.warehouse_id = warehouses.id
    group by inventory.product_id, warehouses.code

),

renamed as (

    select
        ---------- ids
        inventory_id,
        product_id,

        ---------- text
        warehouse_code,

        ---------- numerics
        {{ to_bigint('quantity_on_hand') }} as quantity_on_hand,
        {{ to_bigint('quantity_reserved') }} as quantity_reserved,
        {{ to_bigint('quantity_on_hand - quantity_reserved') }} as quantity_available,
        {{ to_bigint('reorder_point') }} as reorder_point,
        {{ to_bigint('reorder_quantity') }} as reorder_quantity,

        ---------- timestamps
        {{ utc_timestamp('updated_at') }} as updated_at

    from per_product

)

select * from renamed
