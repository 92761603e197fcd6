{#- TechAlly keeps no audit log: the canonical relation, empty. -#}

select
    {{ typed_null('key') }} as audit_id,
    {{ typed_null('key') }} as record_id,
    {{ typed_null('text') }} as table_name,
    {{ typed_null('text') }} as action,
    {{ typed_null('text') }} as old_values,
    {{ typed_null('text') }} as new_values,
    {{ typed_null('timestamp') }} as changed_at
where false
