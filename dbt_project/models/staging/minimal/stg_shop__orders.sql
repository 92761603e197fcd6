{#- Minimal `orders`. The shop has no payments: an order is paid once it is processing,
    shipped or delivered, and that is a recognized order; `pending` covers both pending
    and failed payments, `cancelled` also a returned (refunded) order. The statuses are
    canonical ones already. The subtotal is, as in the canonical shop, the sum of the
    order's lines (quantity * price). The payment status, discount, tax, shipping and the
    shipping address are not kept: NULL. The order date is `created_at` (UTC). -#}

with

orders as (

    select id, user_id, status, total, created_at, updated_at
    from {{ shop_source('orders', 'shop_minimal') }}

),

order_lines as (

    select order_id, sum(quantity * price) as subtotal
    from {{ shop_source('order_items', 'shop_minimal') }}
    group by order_id

),

source as (

    select
        orders.id as id,
        orders.user_id as user_id,
        orders.status as status,
        order_lines.subtotal as subtotal,
        orders.total as total,
        {{ utc_timestamp('orders.created_at') }} as created_at,
        orders.updated_at as updated_at
    from orders
    left join order_lines
        on orders.id = order_lines.order_id

),

renamed as (

    select
        ---------- ids
        id as order_id,
        user_id as customer_id,
        {{ typed_null('key') }} as shipping_address_id,

        ---------- text
        status as order_status,
        {{ typed_null('text') }} as payment_status,

        ---------- numerics
        {{ to_money('subtotal') }} as subtotal,
        {{ typed_null('money') }} as discount_amount,
        {{ typed_null('money') }} as tax_amount,
        {{ typed_null('money') }} as shipping_amount,
        {{ to_money('total') }} as total_amount,

        ---------- booleans
        {{ to_boolean("coalesce(source.status in ('processing', 'shipped', 'delivered'), false)") }}
            as is_recognized,

        ---------- dates
        {{ utc_date('source.created_at') }} as order_date,

        ---------- timestamps
        source.created_at as ordered_at,
        source.created_at as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
