{#- SoleMate `orders` with their one payment (`payments.order_id` is unique).

    Statuses, upper case in the shop, become the canonical ones: `REFUNDED` (a refunded
    order) and `RETURNED` are `returned`; `CONFIRMED` (paid, not yet shipped) is
    `processing`; the others lower-cased. The payment's status is the payment status
    (`PARTIAL_REFUND` is `refunded`: money went back; `PROCESSING` is `pending`:
    not yet taken). A recognized order is a COMPLETED
    payment on an order neither CANCELLED, RETURNED nor REFUNDED. The order date is
    `created_at` (UTC); the shipping address is a JSON snapshot, not a row: its id NULL. -#}

with

orders as (

    select id, user_id, status, subtotal, discount, tax, shipping, total, created_at, updated_at
    from {{ shop_source('orders', 'shop_solemate') }}

),

payments as (

    select order_id, status from {{ shop_source('payments', 'shop_solemate') }}

),

source as (

    select
        orders.id as id,
        orders.user_id as user_id,
        orders.status as status,
        payments.status as payment_status,
        orders.subtotal as subtotal,
        orders.discount as discount,
        orders.tax as tax,
        orders.shipping as shipping,
        orders.total as total,
        {{ utc_timestamp('orders.created_at') }} as created_at,
        {{ utc_timestamp('orders.updated_at') }} as updated_at
    from orders
    left join payments
        on orders.id = payments.order_id

),

renamed as (

    select
        ---------- ids
        id as order_id,
        user_id as customer_id,
        {{ typed_null('key') }} as shipping_address_id,

        ---------- text
        case
            when status in ('REFUNDED', 'RETURNED') then 'returned'
            when status = 'CONFIRMED' then 'processing'
            else lower(status)
        end as order_status,
        case
            when payment_status = 'PARTIAL_REFUND' then 'refunded'
            when payment_status = 'PROCESSING' then 'pending'
            else lower(payment_status)
        end as payment_status,

        ---------- numerics
        {{ to_money('subtotal') }} as subtotal,
        {{ to_money('coalesce(discount, 0)') }} as discount_amount,
        {{ to_money('coalesce(tax, 0)') }} as tax_amount,
        {{ to_money('coalesce(shipping, 0)') }} as shipping_amount,
        {{ to_money('total') }} as total_amount,

        ---------- booleans
        -- The recognized-order rule in SoleMate's own values (see the header); qualified:
        -- on ClickHouse the aliases above would shadow the raw columns of the same name.
        {{ to_boolean(
            "coalesce(source.payment_status = 'COMPLETED'"
            " and source.status not in ('CANCELLED', 'RETURNED', 'REFUNDED'), false)"
        ) }} as is_recognized,

        ---------- dates
        -- created_at may be NULL in the shop's DDL; the canonical order date may not.
        {{ required(utc_date('source.created_at'), 'date') }} as order_date,

        ---------- timestamps
        source.created_at as ordered_at,
        source.created_at as created_at,
        updated_at

    from source

)

select * from renamed
