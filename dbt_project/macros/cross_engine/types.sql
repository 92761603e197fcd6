{#- Explicit types, so both engines hold the same values with the same precision.
    ClickHouse truncates when it casts a decimal to a smaller scale while Postgres rounds,
    so every decimal is rounded (half away from zero on both engines) before the cast.
    The ClickHouse functions keep a Nullable argument Nullable, as a Postgres cast does. -#}

{% macro to_decimal(expression, scale, precision=18) -%}
    {{ return(adapter.dispatch('to_decimal', 'shopmarts')(expression, scale, precision)) }}
{%- endmacro %}

{% macro default__to_decimal(expression, scale, precision) -%}
    cast(round({{ expression }}, {{ scale }}) as numeric({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro clickhouse__to_decimal(expression, scale, precision) -%}
    {%- if precision <= 18 -%}
    toDecimal64(round({{ expression }}, {{ scale }}), {{ scale }})
    {%- else -%}
    toDecimal128(round({{ expression }}, {{ scale }}), {{ scale }})
    {%- endif -%}
{%- endmacro %}

{#- Money: numeric(18,2) / Decimal(18,2). -#}
{% macro to_money(expression) -%}
    {{ to_decimal(expression, 2) }}
{%- endmacro %}

{#- Counts and ids: bigint / Int64. -#}
{% macro to_bigint(expression) -%}
    {{ return(adapter.dispatch('to_bigint', 'shopmarts')(expression)) }}
{%- endmacro %}

{% macro default__to_bigint(expression) -%}
    cast({{ expression }} as bigint)
{%- endmacro %}

{% macro clickhouse__to_bigint(expression) -%}
    toInt64({{ expression }})
{%- endmacro %}

{#- Scores, day counts, small quantities: integer / Int32. -#}
{% macro to_integer(expression) -%}
    {{ return(adapter.dispatch('to_integer', 'shopmarts')(expression)) }}
{%- endmacro %}

{% macro default__to_integer(expression) -%}
    cast({{ expression }} as integer)
{%- endmacro %}

{% macro clickhouse__to_integer(expression) -%}
    toInt32({{ expression }})
{%- endmacro %}

{#- Text: text / String. -#}
{% macro to_text(expression) -%}
    {{ return(adapter.dispatch('to_text', 'shopmarts')(expression)) }}
{%- endmacro %}

{% macro default__to_text(expression) -%}
    cast({{ expression }} as text)
{%- endmacro %}

{% macro clickhouse__to_text(expression) -%}
    toString({{ expression }})
{%- endmacro %}

{#- numerator / denominator rounded to `scale` decimals, NULL when the denominator is 0
    or NULL. Both engines divide exactly with 20 decimals first (ClickHouse's decimal
    division would keep only the numerator's scale), then round half away from zero. -#}
{% macro safe_divide(numerator, denominator, scale) -%}
    {{ return(adapter.dispatch('safe_divide', 'shopmarts')(numerator, denominator, scale)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator, scale) -%}
    cast(round(cast({{ numerator }} as numeric(38, 20)) / nullif({{ denominator }}, 0), {{ scale }}) as numeric(18, {{ scale }}))
{%- endmacro %}

{% macro clickhouse__safe_divide(numerator, denominator, scale) -%}
    toDecimal64(round(toDecimal128({{ numerator }}, 20) / nullIf({{ denominator }}, 0), {{ scale }}), {{ scale }})
{%- endmacro %}

{#- Booleans: boolean / Bool (a ClickHouse condition is a UInt8 otherwise). -#}
{% macro to_boolean(expression) -%}
    {{ return(adapter.dispatch('to_boolean', 'shopmarts')(expression)) }}
{%- endmacro %}

{% macro default__to_boolean(expression) -%}
    cast({{ expression }} as boolean)
{%- endmacro %}

{% macro clickhouse__to_boolean(expression) -%}
    toBool({{ expression }})
{%- endmacro %}
