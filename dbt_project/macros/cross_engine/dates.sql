{#- Calendar arithmetic. Dates are UTC calendar dates on both engines. -#}

{#- The UTC calendar date of a timestamp with time zone. Postgres would otherwise use the
    session's time zone; ClickHouse's DateTime64(6, 'UTC') columns are already UTC. -#}
{% macro utc_date(timestamp) -%}
    {{ return(adapter.dispatch('utc_date', 'shopmarts')(timestamp)) }}
{%- endmacro %}

{% macro default__utc_date(timestamp) -%}
    cast(({{ timestamp }} at time zone 'UTC') as date)
{%- endmacro %}

{% macro clickhouse__utc_date(timestamp) -%}
    toDate({{ timestamp }}, 'UTC')
{%- endmacro %}

{#- A date literal from a 'YYYY-MM-DD' string. -#}
{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro add_days(date, days) -%}
    {{ return(adapter.dispatch('add_days', 'shopmarts')(date, days)) }}
{%- endmacro %}

{% macro default__add_days(date, days) -%}
    cast({{ date }} + ({{ days }}) as date)
{%- endmacro %}

{% macro clickhouse__add_days(date, days) -%}
    addDays({{ date }}, {{ days }})
{%- endmacro %}

{#- Whole days from `start_date` to `end_date` (positive when end is later), as integer. -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'shopmarts')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    cast(({{ end_date }}) - ({{ start_date }}) as integer)
{%- endmacro %}

{% macro clickhouse__days_between(start_date, end_date) -%}
    toInt32(dateDiff('day', {{ start_date }}, {{ end_date }}))
{%- endmacro %}

{#- The first day of the date's month, as a date. -#}
{% macro month_start(date) -%}
    {{ return(adapter.dispatch('month_start', 'shopmarts')(date)) }}
{%- endmacro %}

{% macro default__month_start(date) -%}
    cast(date_trunc('month', {{ date }}) as date)
{%- endmacro %}

{% macro clickhouse__month_start(date) -%}
    toStartOfMonth({{ date }})
{%- endmacro %}

{#- One row per calendar day from `first_date` to `last_date` (both included), column
    `date_day`; both are columns of `relation` (a one-row CTE). No rows when it has none. -#}
{% macro date_spine(relation, first_date, last_date) -%}
    {{ return(adapter.dispatch('date_spine', 'shopmarts')(relation, first_date, last_date)) }}
{%- endmacro %}

{% macro default__date_spine(relation, first_date, last_date) -%}
    select cast(day_start as date) as date_day
    from {{ relation }}
    cross join lateral generate_series(
        cast({{ first_date }} as timestamp), cast({{ last_date }} as timestamp), interval '1 day'
    ) as days(day_start)
{%- endmacro %}

{% macro clickhouse__date_spine(relation, first_date, last_date) -%}
    select arrayJoin(
        arrayMap(
            day_offset -> addDays({{ first_date }}, day_offset),
            range(toUInt32(dateDiff('day', {{ first_date }}, {{ last_date }}) + 1))
        )
    ) as date_day
    from {{ relation }}
{%- endmacro %}

{#- The previous row's value in `order_by` order; NULL on the first row (ClickHouse's
    lag would give the type's default, 0, unless the value is Nullable). -#}
{% macro previous_value(expression, order_by) -%}
    {{ return(adapter.dispatch('previous_value', 'shopmarts')(expression, order_by)) }}
{%- endmacro %}

{% macro default__previous_value(expression, order_by) -%}
    lag({{ expression }}) over (order by {{ order_by }})
{%- endmacro %}

{% macro clickhouse__previous_value(expression, order_by) -%}
    lag(toNullable({{ expression }})) over (order by {{ order_by }})
{%- endmacro %}
