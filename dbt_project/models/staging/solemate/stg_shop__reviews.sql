{#- SoleMate `reviews`: every review counts, whatever its moderation status (PENDING,
    APPROVED, REJECTED), as in the canonical shop; comment is the body. -#}

with

source as (

    select id, user_id, product_id, order_id, rating, title, comment, created_at, updated_at
    from {{ shop_source('reviews', 'shop_solemate') }}

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
        comment as review_body,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
