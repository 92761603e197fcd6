{#- Keys of either type: the canonical and ModestWear shops number their rows (bigint),
    the others use UUIDs, kept as the shop's own keys. -#}

{#- A key as a tie-break in an `order by` (ranks, quintiles). Integers order the same on
    both engines. UUIDs do not: Postgres compares their 16 bytes in order, ClickHouse as
    two 64-bit halves, low half first. Both engines print a UUID as the same lower-case
    text, whose order is Postgres's byte order: ordering by the text gives one order on
    both engines, so parity holds row for row. -#}
{% macro key_order(column) -%}
    {%- if source_key_type() == 'uuid' -%}
        {{ to_text(column) }}
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- The first of a group's UUID keys (by their text, as key_order): the id of a row that
    staging makes from several of the shop's rows. Postgres has no min() over uuid. -#}
{% macro min_uuid(column) -%}
    {{ return(adapter.dispatch('min_uuid', 'shopmarts')(column)) }}
{%- endmacro %}

{% macro default__min_uuid(column) -%}
    cast(min(cast({{ column }} as text)) as uuid)
{%- endmacro %}

{% macro clickhouse__min_uuid(column) -%}
    toUUID(min(toString({{ column }})))
{%- endmacro %}

{#- A UUID literal from its text. -#}
{% macro uuid_literal(value) -%}
    {{ return(adapter.dispatch('uuid_literal', 'shopmarts')(value)) }}
{%- endmacro %}

{% macro default__uuid_literal(value) -%}
    cast('{{ value }}' as uuid)
{%- endmacro %}

{% macro clickhouse__uuid_literal(value) -%}
    toUUID('{{ value }}')
{%- endmacro %}

{#- A typed NULL, for a staging column the shop does not carry: the relation keeps the
    canonical column and type, the value is unknown, never invented. `kind` is one of
    key (the profile's key type), bigint, integer, money, text, boolean, timestamp, date. -#}
{% macro typed_null(kind) -%}
    {%- set kind = source_key_type() if kind == 'key' else kind -%}
    {{ return(adapter.dispatch('typed_null', 'shopmarts')(kind)) }}
{%- endmacro %}

{% macro default__typed_null(kind) -%}
    {%- set types = {
        'uuid': 'uuid', 'bigint': 'bigint', 'integer': 'integer', 'money': 'numeric(18, 2)',
        'text': 'text', 'boolean': 'boolean', 'timestamp': 'timestamptz', 'date': 'date',
    } -%}
    cast(null as {{ types[kind] }})
{%- endmacro %}

{% macro clickhouse__typed_null(kind) -%}
    {%- set types = {
        'uuid': 'UUID', 'bigint': 'Int64', 'integer': 'Int32', 'money': 'Decimal(18, 2)',
        'text': 'String', 'boolean': 'Bool', 'timestamp': "DateTime64(6, 'UTC')",
        'date': 'Date',
    } -%}
    cast(null as Nullable({{ types[kind] }}))
{%- endmacro %}
