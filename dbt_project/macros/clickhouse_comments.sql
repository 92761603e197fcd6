{#- dbt-clickhouse writes comments $dollar-quoted$; the embedded ClickHouse endpoint's
    statement scanner does not know that quoting and splits on the `;` or stops at the
    `'` inside. A plain single-quoted literal, escaped, is understood everywhere. -#}
{% macro clickhouse_escape_comment(comment) -%}
    {%- if comment is not string -%}
        {%- do exceptions.raise_compiler_error('cannot escape a non-string: ' ~ comment) -%}
    {%- endif -%}
    '{{ comment | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
