{#- The refresh's as-of date as a one-row query with column `as_of_date`: the var
    `as_of_date` (YYYY-MM-DD) when set, else the day after the newest order's UTC date
    (any order, recognized or not). Marts cross join it. -#}
{% macro as_of_date_query() -%}
    {%- set as_of = var('as_of_date', '') | string | trim -%}
    {%- if as_of and as_of != 'None' -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got '" ~ as_of ~ "'") }}
        {%- endif -%}
    select {{ date_literal(as_of) }} as as_of_date
    {%- else -%}
    select {{ add_days('max(order_date)', 1) }} as as_of_date
    from {{ ref('stg_shop__orders') }}
    {%- endif -%}
{%- endmacro %}
