{#- ModestWear has no reviews: the canonical relation, empty (review counts 0,
    ratings NULL in the marts). -#}

select
    {{ absent_key() }} as review_id,
    {{ absent_key() }} as customer_id,
    {{ absent_key() }} as product_id,
    {{ absent_key() }} as order_id,
    {{ typed_null('integer') }} as rating,
    {{ typed_null('text') }} as review_title,
    {{ typed_null('text') }} as review_body,
    {{ typed_null('timestamp') }} as created_at,
    {{ typed_null('timestamp') }} as updated_at
where false
