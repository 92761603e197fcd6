{{ config(
    materialized='shopmarts_incremental',
    unique_key='as_of_date',
    replaced_whole=true,
    order_by=['as_of_date'],
) }}

{#- The refresh's as-of date, one row (docs block `as_of_date`; macros/as_of_date.sql):
    computed once per build, and the newest order's date it comes from, which the next
    incremental build starts from (through `int_changes__folded`). Replaced whole by every
    build, in place: the published materialized views read it. -#}

with

newest as (

    {{ newest_order_date_query(fold_state()) }}

)

select
    {{ as_of_date_expression('newest.newest_order_date') }} as as_of_date,
    newest.newest_order_date as newest_order_date
from newest
