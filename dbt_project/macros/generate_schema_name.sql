{#- Custom schemas are used literally on both adapters: `staging`, `marts`, `marts_next`,
    never `<target schema>_staging`. The optional `schema_prefix` var gives a sandbox
    (`unit_staging`, `unit_marts`, ...) without touching the real schemas. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ var('schema_prefix', '') ~ (custom_schema_name | trim) }}
    {%- endif -%}
{%- endmacro %}
