{#- The refresh's as-of date from ``newest_order_date`` (a column or expression): the var
    `as_of_date` (YYYY-MM-DD) when set, else the day after the newest order's UTC date
    (any order, recognized or not). -#}
{% macro as_of_date_expression(newest_order_date) -%}
    {%- set as_of = var('as_of_date', '') | string | trim -%}
    {%- if as_of and as_of != 'None' -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got '" ~ as_of ~ "'") }}
        {%- endif -%}
        {{ date_literal(as_of) }}
    {%- else -%}
        {{ add_days(newest_order_date, 1) }}
    {%- endif -%}
{%- endmacro %}

{#- The newest order's UTC date, as one row with column `newest_order_date`.

    A full build reads every order for it (a scan of raw `orders`: 1.3-2.0 s on Postgres
    at scale 100, where no index serves it). An incremental build (``fold``) starts from
    the newest date the last finished build found (kept in `int_changes__folded`) and reads
    only the orders the change log touched since: any order dated after that day changed
    since, so when the newest touched order is at least as new, it is the newest of all.
    Otherwise (the newest orders were deleted or moved back, or none changed) it reads
    every order, as a full build does; Postgres evaluates that scan only then. -#}
{% macro newest_order_date_query(fold) -%}
    {%- set folded = intermediate_relation('int_changes__folded') if fold.incremental else none -%}
    {%- set kept = folded is not none
        and 'newest_order_date' in (adapter.get_columns_in_relation(folded) | map(attribute='name') | list) -%}
    {%- set every_order -%}
        select max(order_date) from {{ ref('stg_shop__orders') }}
    {%- endset -%}
    {%- if kept %}
    select
        case
            when touched.newest_order_date >= kept.newest_order_date
                then touched.newest_order_date
            else ({{ every_order }})
        end as newest_order_date
    from (
        select max(order_date) as newest_order_date
        from {{ ref('stg_shop__orders') }}
        where {{ key_in('order_id', 'select order_id from ' ~ changed_keys('orders', ['order_id'], fold) ~ ' as changed') }}
    ) as touched
    cross join (select newest_order_date from {{ folded }}) as kept
    {%- else %}
    select ({{ every_order }}) as newest_order_date
    {%- endif %}
{%- endmacro %}
