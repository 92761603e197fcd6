{#- A shop's `timestamp without time zone` holding UTC, as the canonical timestamp with
    time zone (Postgres would otherwise read it in the session's time zone). ClickHouse's
    raw copy is already DateTime64(6, 'UTC'). -#}
{% macro utc_timestamp(timestamp) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'shopmarts')(timestamp)) }}
{%- endmacro %}

{% macro default__utc_timestamp(timestamp) -%}
    ({{ timestamp }} at time zone 'UTC')
{%- endmacro %}

{% macro clickhouse__utc_timestamp(timestamp) -%}
    {{ timestamp }}
{%- endmacro %}
