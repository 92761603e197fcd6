{#- A raw table of the shop. On ClickHouse the raw tables are ReplacingMergeTree, loaded
    by upserts: FINAL collapses every key to its newest version, so staging never sees a
    superseded row. `source_name` is the profile's source (`shop_<profile>`; the
    canonical shop's is `shop`). -#}
{% macro shop_source(table_name, source_name='shop') -%}
    {{ return(adapter.dispatch('shop_source', 'shopmarts')(table_name, source_name)) }}
{%- endmacro %}

{% macro default__shop_source(table_name, source_name) -%}
    {{ source(source_name, table_name) }}
{%- endmacro %}

{% macro clickhouse__shop_source(table_name, source_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set rendered = relation | string | trim -%}
    {#- A unit test's fixture CTE or an `--empty` build's subquery takes no FINAL. -#}
    {%- if '__dbt__cte__' in rendered or rendered.startswith('(') -%}
        {{ relation }}
    {%- else -%}
        {{ relation }} final
    {%- endif -%}
{%- endmacro %}
