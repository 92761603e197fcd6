{#- TechAlly `reviews`, without the soft-deleted ones: every other review counts,
    whatever its moderation status, as in the canonical shop. -#}

with

source as (

    select id, user_id, product_id, order_id, rating, title, body, created_at, updated_at
    from {{ shop_source('reviews', 'shop_techally') }}
    where deleted_at is null

),

renamed as (

    select
        ---------- ids
        id as review_id,
        user_id as customer_id,
        product_id,
        order_id,

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
