{#- ModestWear `orders_order`. The status carries the payment: `paid` is a completed
    payment not yet shipped (canonical `processing`); `pending` covers pending and failed
    payments, `cancelled` also a returned (refunded) order. A recognized order is paid,
    shipped or delivered. The subtotal is, as in the canonical shop, the sum of the
    order's lines (quantity * price_at_purchase). The payment status apart from the order
    status, discount, tax, shipping, the address row and a last change are not kept:
    NULL. The order date is `created_at` (UTC). -#}

with

orders as (

    select id, user_id, status, total_price, created_at
    from {{ shop_source('orders_order', 'shop_modestwear') }}

),

order_lines as (

    select order_id, sum(quantity * price_at_purchase) as subtotal
    from {{ shop_source('orders_orderitem', 'shop_modestwear') }}
    group by order_id

),

source as (

    select
        orders.id as id,
        orders.user_id as user_id,
        orders.status as status,
        order_lines.subtotal as subtotal,
        orders.total_price as total_price,
        {{ utc_timestamp('orders.created_at') }} as created_at
    from orders
    left join order_lines
        on orders.id = order_lines.order_id

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('id') }} as order_id,
        {{ to_bigint('user_id') }} as customer_id,
        {{ typed_null('key') }} as shipping_address_id,

        ---------- text
        case when status = 'paid' then 'processing' else status end as order_status,
        {{ typed_null('text') }} as payment_status,

        ---------- numerics
        {{ to_money('subtotal') }} as subtotal,
        {{ typed_null('money') }} as discount_amount,
        {{ typed_null('money') }} as tax_amount,
        {{ typed_null('money') }} as shipping_amount,
        {{ to_money('total_price') }} as total_amount,

        ---------- booleans
        {{ to_boolean("coalesce(source.status in ('paid', 'shipped', 'delivered'), false)") }}
            as is_recognized,

        ---------- dates
        {{ utc_date('source.created_at') }} as order_date,

        ---------- timestamps
        source.created_at as ordered_at,
        source.created_at as created_at,
        {{ typed_null('timestamp') }} as updated_at

    from source

)

select * from renamed
