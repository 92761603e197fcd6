{#- SoleMate keeps no audit log (the seed's audit_logs is a pattern, not its schema): the
    canonical relation, empty. -#}

select
    {{ absent_key() }} as audit_id,
    {{ absent_key() }} as record_id,
    {{ typed_null('text') }} as table_name,
    {{ typed_null('text') }} as action,
    {{ typed_null('text') }} as old_values,
    {{ typed_null('text') }} as new_values,
    {{ typed_null('timestamp') }} as changed_at
where false
