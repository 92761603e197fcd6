{#- A raw table of the shop. On ClickHouse the raw tables are ReplacingMergeTree, loaded
    by upserts: FINAL collapses every key to its newest version, so staging never sees a
    superseded row. -#}
{% macro shop_source(table_name) -%}
    {{ return(adapter.dispatch('shop_source', 'shopmarts')(table_name)) }}
{%- endmacro %}

{% macro default__shop_source(table_name) -%}
    {{ source('shop', table_name) }}
{%- endmacro %}

{% macro clickhouse__shop_source(table_name) -%}
    {%- set relation = source('shop', table_name) -%}
    {%- set rendered = relation | string | trim -%}
    {#- A unit test's fixture CTE or an `--empty` build's subquery takes no FINAL. -#}
    {%- if '__dbt__cte__' in rendered or rendered.startswith('(') -%}
        {{ relation }}
    {%- else -%}
        {{ relation }} final
    {%- endif -%}
{%- endmacro %}
