{#- TechAlly has no promotions: the canonical relation, empty. -#}

select
    {{ typed_null('key') }} as order_id,
    {{ typed_null('key') }} as promotion_id,
    {{ typed_null('money') }} as discount_amount
where false
