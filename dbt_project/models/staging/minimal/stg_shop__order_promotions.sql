{#- The minimal shop has no promotions: the canonical relation, empty. -#}

select
    {{ absent_key() }} as order_id,
    {{ absent_key() }} as promotion_id,
    {{ typed_null('money') }} as discount_amount
where false
