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

{#- A key column of a relation the shop does not have at all (the query has no rows, so
    the value is never read). Not Nullable on ClickHouse: marts whose sorting key is that
    key (promotion_performance) cannot sort by a Nullable column. -#}
{% macro absent_key() -%}
    {{ return(adapter.dispatch('absent_key', 'shopmarts')(source_key_type())) }}
{%- endmacro %}

{% macro default__absent_key(key_type) -%}
    {{ default__typed_null(key_type) }}
{%- endmacro %}

{% macro clickhouse__absent_key(key_type) -%}
    defaultValueOfTypeName('{{ "UUID" if key_type == "uuid" else "Int64" }}')
{%- endmacro %}

{#- A value the canonical shop keeps NOT NULL but the shop's column allows NULL (SoleMate's
    `orders.created_at`): on ClickHouse cast to the non-Nullable type, which fails the
    build on a NULL rather than inventing a value, so marts may sort by it. Postgres has
    no Nullable types; the staging not_null test checks it there. -#}
{% macro required(expression, kind) -%}
    {{ return(adapter.dispatch('required', 'shopmarts')(expression, kind)) }}
{%- endmacro %}

{% macro default__required(expression, kind) -%}
    {{ expression }}
{%- endmacro %}

{% macro clickhouse__required(expression, kind) -%}
    {%- set types = {'date': 'Date', 'timestamp': "DateTime64(6, 'UTC')"} -%}
    cast({{ expression }} as {{ types[kind] }})
{%- endmacro %}

{#- ``column`` is one of the keys ``keys`` (a query of one column) returns: how an
    incremental build picks the few rows it recomputes out of a large table or view.
    Postgres: `= any(array(...))`, a condition on the column, which an index on it answers
    with one probe per key even through a view (a view with a WITH clause is planned on
    its own, so `in (...)` becomes a hash join that reads the whole table). ClickHouse:
    `in (...)`, a set it checks against the sorting key. A tuple of columns keeps `in`. -#}
{% macro key_in(column, keys) -%}
    {{ return(adapter.dispatch('key_in', 'shopmarts')(column, keys)) }}
{%- endmacro %}

{% macro default__key_in(column, keys) -%}
    {%- if column.strip().startswith('(') -%}
        {{ column }} in ({{ keys }})
    {%- else -%}
        {{ column }} = any(array({{ keys }}))
    {%- endif -%}
{%- endmacro %}

{% macro clickhouse__key_in(column, keys) -%}
    {{ column }} in ({{ keys }})
{%- endmacro %}
