{#- Source freshness of the raw tables on PostgreSQL. The freshness of a raw table is
    when the extract last loaded it (`loaded_at_field: _loaded_at`). ClickHouse's raw
    tables have that column (every row's load time); the warehouse's raw tables mirror the
    shop's columns only, but the extract records each table's last load in the same
    transaction as the data (`raw._watermarks`, one row per table and engine), so that
    record answers here instead of a scan of the table. Overrides dbt's default only for
    `_loaded_at`: any other loaded_at_field is dbt's usual max() over the source. -#}
{% macro postgres__collect_freshness(source, loaded_at_field, filter) %}
  {%- if loaded_at_field != '_loaded_at' -%}
    {{ return(default__collect_freshness(source, loaded_at_field, filter)) }}
  {%- endif -%}
  {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
    select
      max(loaded_at) as max_loaded_at,
      {{ current_timestamp() }} as snapshotted_at
    from {{ adapter.quote(source.schema) }}._watermarks
    where table_name = '{{ source.identifier }}' and engine = 'postgres'
  {%- endcall %}
  {{ return(load_result('collect_freshness')) }}
{% endmacro %}
