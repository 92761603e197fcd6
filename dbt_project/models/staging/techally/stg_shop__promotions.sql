{#- TechAlly has no promotion tables: the canonical relation, empty
    (promotion_performance is empty). -#}

select
    {{ absent_key() }} as promotion_id,
    {{ typed_null('text') }} as promotion_code,
    {{ typed_null('text') }} as discount_type,
    {{ typed_null('money') }} as discount_value,
    {{ typed_null('boolean') }} as is_active,
    {{ typed_null('timestamp') }} as starts_at,
    {{ typed_null('timestamp') }} as ends_at,
    {{ typed_null('timestamp') }} as created_at,
    {{ typed_null('timestamp') }} as updated_at,
    {{ typed_null('text') }} as promotion_name
where false
