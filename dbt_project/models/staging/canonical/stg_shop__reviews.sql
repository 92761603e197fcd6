with

source as (

    select
        review_id,
        customer_id,
        product_id,
        order_id,
        rating,
        title,
        body,
        created_at,
        updated_at
    from {{ shop_source('reviews') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('review_id') }} as review_id,
        {{ to_bigint('customer_id') }} as customer_id,
        {{ to_bigint('product_id') }} as product_id,
        {{ to_bigint('order_id') }} as order_id,

        ---------- numerics
        {{ to_integer('rating') }} as rating,

        ---------- text
        title as review_title,
        body as review_body,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
