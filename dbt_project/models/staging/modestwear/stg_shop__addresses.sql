{#- ModestWear keeps no address rows (an order keeps its address as text): the
    canonical relation, empty. -#}

select
    {{ absent_key() }} as address_id,
    {{ absent_key() }} as customer_id,
    {{ typed_null('text') }} as address_type,
    {{ typed_null('text') }} as address_line1,
    {{ typed_null('text') }} as city,
    {{ typed_null('text') }} as state,
    {{ typed_null('text') }} as postal_code,
    {{ typed_null('text') }} as country,
    {{ typed_null('boolean') }} as is_default,
    {{ typed_null('timestamp') }} as created_at,
    {{ typed_null('timestamp') }} as updated_at
where false
