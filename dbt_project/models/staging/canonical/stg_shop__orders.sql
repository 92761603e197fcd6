with

source as (

    select
        order_id,
        customer_id,
        shipping_address_id,
        order_date,
        order_status,
        payment_status,
        subtotal,
        discount_amount,
        tax_amount,
        shipping_amount,
        total_amount,
        created_at,
        updated_at
    from {{ shop_source('orders') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('order_id') }} as order_id,
        {{ to_bigint('customer_id') }} as customer_id,
        {{ to_bigint('shipping_address_id') }} as shipping_address_id,

        ---------- text
        order_status,
        payment_status,

        ---------- numerics
        {{ to_money('subtotal') }} as subtotal,
        {{ to_money('discount_amount') }} as discount_amount,
        {{ to_money('tax_amount') }} as tax_amount,
        {{ to_money('shipping_amount') }} as shipping_amount,
        {{ to_money('total_amount') }} as total_amount,

        ---------- booleans
        -- The one definition of a recognized order: paid, and neither cancelled nor returned.
        -- Every mart counts recognized orders only.
        {{ to_boolean(
            "coalesce(payment_status = 'completed'"
            " and order_status not in ('cancelled', 'returned'), false)"
        ) }} as is_recognized,

        ---------- dates
        -- Qualified: on ClickHouse an alias would shadow the raw column of the same name.
        {{ utc_date('source.order_date') }} as order_date,

        ---------- timestamps
        source.order_date as ordered_at,
        created_at,
        updated_at

    from source

)

select * from renamed
