{#- TechAlly `orders` with their one payment (`payments.order_id` is unique), without the
    soft-deleted orders.

    The state flow becomes the canonical statuses: CONFIRMED, PROCESSING and PREPARING
    (paid, not yet shipped) are `processing`; FAILED (a pending order whose payment
    failed) is `pending`; COMPLETED is `delivered`; the others lower-cased. The payment
    status is the payment's (`processing` is `pending`: not yet taken). A recognized
    order is a `completed` payment on an order neither CANCELLED, RETURNED nor FAILED.
    The order date is `created_at`. -#}

with

orders as (

    select id, user_id, shipping_address_id, status, subtotal, discount_amount, tax_amount, shipping_amount, total_amount, created_at, updated_at
    from {{ shop_source('orders', 'shop_techally') }}
    where deleted_at is null

),

payments as (

    select order_id, status from {{ shop_source('payments', 'shop_techally') }}

),

source as (

    select
        orders.id as id,
        orders.user_id as user_id,
        orders.shipping_address_id as shipping_address_id,
        orders.status as status,
        payments.status as payment_status,
        orders.subtotal as subtotal,
        orders.discount_amount as discount_amount,
        orders.tax_amount as tax_amount,
        orders.shipping_amount as shipping_amount,
        orders.total_amount as total_amount,
        orders.created_at as created_at,
        orders.updated_at as updated_at
    from orders
    left join payments
        on orders.id = payments.order_id

),

renamed as (

    select
        ---------- ids
        id as order_id,
        user_id as customer_id,
        shipping_address_id,

        ---------- text
        case
            when status in ('CONFIRMED', 'PROCESSING', 'PREPARING') then 'processing'
            when status = 'FAILED' then 'pending'
            when status = 'COMPLETED' then 'delivered'
            else lower(status)
        end as order_status,
        case when payment_status = 'processing' then 'pending' else payment_status end
            as payment_status,

        ---------- numerics
        {{ to_money('subtotal') }} as subtotal,
        {{ to_money('discount_amount') }} as discount_amount,
        {{ to_money('tax_amount') }} as tax_amount,
        {{ to_money('shipping_amount') }} as shipping_amount,
        {{ to_money('total_amount') }} as total_amount,

        ---------- booleans
        -- The recognized-order rule in TechAlly's own values (see the header); qualified:
        -- on ClickHouse the aliases above would shadow the raw columns of the same name.
        {{ to_boolean(
            "coalesce(source.payment_status = 'completed'"
            " and source.status not in ('CANCELLED', 'RETURNED', 'FAILED'), false)"
        ) }} as is_recognized,

        ---------- dates
        {{ utc_date('source.created_at') }} as order_date,

        ---------- timestamps
        source.created_at as ordered_at,
        source.created_at as created_at,
        updated_at

    from source

)

select * from renamed
