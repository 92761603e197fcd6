{#- The incremental intermediate layer: which raw changes a build folds in, and how.

    The extract logs, per load, the keys it upserted and deleted (`raw._changes__<table>`)
    under a monotonically increasing batch id, and one row per load in
    `raw._change_batches` (ingest/extract/changes.py). The intermediate models below are
    tables kept up to date by key: each build recomputes, from raw, only the keys the
    batches it folds touched (never a delta added to a stored figure, so redoing a batch
    is harmless), reading the keys' old values from the facts the last build stored.

    State: `int_changes__folded` holds the last batch folded in. It is built after every
    other incremental model (it depends on them), so a failed or killed build leaves it
    behind and the next build folds the same batches again (and any newer). The touched
    keys themselves are kept in `int_changes__orders` until a build that folded them
    succeeds: a build killed after the facts were replaced still recomputes the
    aggregates of the keys the facts held before.

    A build is incremental for the canonical profile (the change log names the canonical
    tables' keys), when every incremental relation exists as a table and when no batch
    since the watermark was a full load of a table the facts read, unless the var
    `full_rebuild` is true. Otherwise it is a full rebuild from raw in place (rows
    replaced, relations kept: the published materialized views depend on them). The
    nightly's full extract logs a full load of every table, so its build is such a full
    rebuild, the reconciliation; the hourly's incremental extract logs the keys it
    changed, which its build folds in. No var tells the two apart: dbt parses the whole
    project again whenever its vars change (4-5 s a target), which the nightly and the
    hourly after it would each pay. -#}

{#- The intermediate tables the fold keeps, in build order. -#}
{% macro incremental_relation_names() -%}
    {{ return([
        'int_changes__orders',
        'int_orders__recognized',
        'int_order_items__recognized',
        'int_customers__order_summary',
        'int_products__monthly',
        'int_products__sales',
        'int_sales__daily',
        'int_sales__monthly',
        'int_promotions__daily',
        'int_reviews__rated',
        'int_products__reviews',
        'int_changes__folded',
    ]) }}
{%- endmacro %}

{#- The raw tables whose changes the facts fold in. -#}
{% macro folded_raw_tables() -%}
    {{ return(['orders', 'order_items', 'order_promotions', 'reviews']) }}
{%- endmacro %}

{#- An intermediate table by name (same schema as the model being built), or none. -#}
{% macro intermediate_relation(name) -%}
    {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier=name)) }}
{%- endmacro %}

{#- A table of the change log in raw, or none when it does not exist (yet). -#}
{% macro change_log_relation(name) -%}
    {{ return(adapter.get_relation(database=this.database, schema=var('raw_schema', 'raw'), identifier=name)) }}
{%- endmacro %}

{#- What this build folds: {incremental, from_batch, to_batch}. Batches in (from, to]
    are folded in; to_batch is the newest batch logged (0: none). -#}
{% macro fold_state() -%}
    {#- Parsing, or a unit test (no relation of its own): a full computation. -#}
    {%- if not execute or this is none -%}
        {{ return({'incremental': false, 'from_batch': 0, 'to_batch': 0}) }}
    {%- endif -%}
    {%- set batches = change_log_relation('_change_batches') -%}
    {%- if batches is none -%}
        {{ return({'incremental': false, 'from_batch': 0, 'to_batch': 0}) }}
    {%- endif -%}
    {%- set incremental = not var('full_rebuild', false) and source_profile() == 'canonical' -%}
    {%- if incremental -%}
        {%- set missing = [] -%}
        {%- for name in incremental_relation_names() -%}
            {%- set relation = intermediate_relation(name) -%}
            {%- if relation is none or not relation.is_table -%}
                {%- do missing.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ log("incremental marts: " ~ missing[0] ~ " is not a table yet: full rebuild", info=True) }}
            {%- set incremental = false -%}
        {%- endif -%}
    {%- endif -%}
    {#- One round trip (each model asks twice: its SQL and its materialization): the newest
        batch, the watermark, and the full loads since the watermark. -#}
    {%- set folded_relation = intermediate_relation('int_changes__folded') if incremental else none -%}
    {%- set query -%}
        select (select max(batch) from {{ batches }}) as newest
        {%- if folded_relation is not none %},
            (select max(folded_batch) from {{ folded_relation }}) as folded,
            (select count(*) from {{ batches }}
             where batch > (select coalesce(max(folded_batch), 0) from {{ folded_relation }})
                and mode = 'full'
                and table_name in ('{{ folded_raw_tables() | join("', '") }}')) as full_loads
        {%- endif %}
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set to_batch = (row[0] | int) if row[0] is not none else 0 -%}
    {%- set full = {'incremental': false, 'from_batch': 0, 'to_batch': to_batch} -%}
    {%- if folded_relation is none or row[1] is none -%}
        {{ return(full) }}
    {%- endif -%}
    {%- set from_batch = row[1] | int -%}
    {%- if row[2] | int > 0 -%}
        {{ log("incremental marts: a full load since batch " ~ from_batch ~ ": full rebuild", info=True) }}
        {{ return(full) }}
    {%- endif -%}
    {{ return({'incremental': true, 'from_batch': from_batch, 'to_batch': to_batch}) }}
{%- endmacro %}

{#- The keys of ``table`` logged in the batches this build folds, as a subquery of
    ``columns`` (none logged yet: no rows). -#}
{% macro changed_keys(table, columns, fold) -%}
    {%- set log = change_log_relation('_changes__' ~ table) -%}
    {%- if log is none -%}
    (select {% for column in columns %}{{ typed_null('bigint') }} as {{ column }}{{ ', ' if not loop.last }}{% endfor %} where 1 = 0)
    {%- else -%}
    (select {{ columns | join(', ') }} from {{ log }}
     where _batch > {{ fold.from_batch }} and _batch <= {{ fold.to_batch }})
    {%- endif -%}
{%- endmacro %}

{#- The predicate that picks, in ``model_name``'s rows, what this build recomputes;
    ``column`` is the column holding the model's key in the query it is applied to. The
    touched keys are every pending row of `int_changes__orders` (those of earlier,
    unfinished builds too). -#}
{% macro affected(model_name, column, fold) -%}
    {%- set changes = intermediate_relation('int_changes__orders') -%}
    {%- set touched_orders = 'select order_id from ' ~ changes ~ ' where order_id is not null' -%}
    {%- set touched_customers = 'select customer_id from ' ~ changes ~ ' where customer_id is not null' -%}
    {#- The touched orders' days before (changes) and now (the facts, replaced by now). -#}
    {%- set touched_days = 'select order_date from ' ~ changes ~ ' where order_date is not null'
        ~ ' union all select order_date from ' ~ intermediate_relation('int_orders__recognized')
        ~ ' where ' ~ key_in('order_id', touched_orders) -%}
    {%- if model_name == 'int_changes__orders' -%}
        {#- Rows of batches already folded go: a later build does not need them. -#}
        {{ column }} <= {{ fold.from_batch }}
    {%- elif model_name in ('int_orders__recognized', 'int_order_items__recognized') -%}
        {{ key_in(column, touched_orders) }}
    {%- elif model_name == 'int_customers__order_summary' -%}
        {#- Old and new owners alike: the changes hold both (customers_now). -#}
        {{ key_in(column, touched_customers) }}
    {%- elif model_name == 'int_products__monthly' -%}
        {#- The product months the touched orders' lines had (changes) and have (the facts). -#}
        {{ key_in(column, affected_months(intermediate_relation('int_order_items__recognized'), 'product_id')) }}
    {%- elif model_name == 'int_sales__monthly' -%}
        {{ key_in(column, affected_months(intermediate_relation('int_orders__recognized'))) }}
    {%- elif model_name == 'int_products__sales' -%}
        {#- The products the touched orders' lines had (changes) and have (the facts, replaced by now). -#}
        {{ key_in(column,
            'select product_id from ' ~ changes ~ ' where product_id is not null'
            ~ ' union all select product_id from ' ~ intermediate_relation('int_order_items__recognized')
            ~ ' where ' ~ key_in('order_id', touched_orders)
        ) }}
    {%- elif model_name == 'int_reviews__rated' -%}
        {{ key_in(column, touched_reviews(fold)) }}
    {%- elif model_name == 'int_products__reviews' -%}
        {#- The products the touched reviews had (changes: with the touched orders' products,
            a superset) and have (the reviews, replaced by now). -#}
        {{ key_in(column,
            'select product_id from ' ~ changes ~ ' where product_id is not null'
            ~ ' union all select product_id from ' ~ intermediate_relation('int_reviews__rated')
            ~ ' where ' ~ key_in('review_id', touched_reviews(fold))
        ) }}
    {%- elif model_name == 'int_promotions__daily' -%}
        {{ key_in(column, touched_days) }}
    {%- elif model_name == 'int_sales__daily' -%}
        {#- The touched days, and the days whose count of first-time customers is not
            what the table holds. -#}
        {{ key_in(column,
            touched_days ~ ' union all ' ~ first_days_to_recount(changes, touched_customers)
        ) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("no affected keys defined for " ~ model_name) }}
    {%- endif -%}
{%- endmacro %}

{#- The days whose first-time customers int_sales__daily must count again: of the days a
    touched customer first bought on, before (the changes) or now (the summary, replaced by
    now), those whose stored count differs from the summary's or that have no stored row.
    Checked, not inferred: whatever an unfinished build left, a day whose count is wrong is
    recomputed, and the few days whose count did change are all an hour recomputes (not
    every day a touched customer ever first bought on, which is most of the history).
    Evaluated alike before and after the build deletes the affected days: a deleted day has
    no stored row, so it is picked again. -#}
{% macro first_days_to_recount(changes, touched_customers) -%}
    {%- set summary = intermediate_relation('int_customers__order_summary') -%}
    {%- set stored = intermediate_relation('int_sales__daily') -%}
    {%- set candidates -%}
        select first_order_date from {{ changes }} where first_order_date is not null
        union all
        select first_order_date from {{ summary }} where {{ key_in('customer_id', touched_customers) }}
    {%- endset -%}
    select candidate.first_order_date
    from (select distinct first_order_date from ({{ candidates }}) as days) as candidate
    left join (
        select first_order_date, count(*) as new_customers
        from {{ summary }}
        where {{ key_in('first_order_date', candidates) }}
        group by first_order_date
    ) as counted
        on candidate.first_order_date = counted.first_order_date
    left join {{ stored }} as kept
        on candidate.first_order_date = kept.sales_date
    where kept.sales_date is null
        or kept.new_customers <> coalesce(counted.new_customers, 0)
{%- endmacro %}

{#- The months whose figures the touched orders may change (with ``key``, the (key,
    month) pairs): the months their rows had (the changes keep each old order's date and
    each old line's product) and have in ``facts`` (the facts, replaced by now:
    int_orders__recognized, or int_order_items__recognized for a line's key). -#}
{% macro affected_months(facts, key=none) -%}
    {%- set changes = intermediate_relation('int_changes__orders') -%}
    {%- set keyed = key ~ ', ' if key is not none else '' -%}
    select distinct {{ keyed }}month_start from (
        select {{ keyed }}{{ month_start('order_date') }} as month_start
        from {{ changes }}
        where order_date is not null{{ ' and ' ~ key ~ ' is not null' if key is not none else '' }}
        union all
        select {{ keyed }}{{ month_start('order_date') }} as month_start
        from {{ facts }}
        where {{ key_in('order_id', 'select order_id from ' ~ changes ~ ' where order_id is not null') }}
    ) as months
{%- endmacro %}

{#- The rows (``columns``) of the facts ``relation`` a build of a monthly aggregate reads:
    all of them in a full rebuild; incrementally, those whose `order_date` falls in an
    affected month (:func:`affected_months`; with ``key``, of that key in that month). -#}
{% macro rows_in_affected_months(relation, columns, fold, key=none) -%}
    {%- if not fold.incremental -%}
    select {{ columns | join(', ') }} from {{ relation }}
    {%- else -%}
    {{ adapter.dispatch('rows_in_months', 'shopmarts')(
        relation, columns, affected_months(relation, key), key
    ) }}
    {%- endif -%}
{%- endmacro %}

{#- Postgres: a join on the month's date range (and the key), which an index on
    (key, order_date) or order_date answers with one range scan per month. -#}
{% macro default__rows_in_months(relation, columns, months, key) -%}
    select {% for column in columns %}picked.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from ({{ months }}) as touched
    inner join {{ relation }} as picked
        on picked.order_date >= touched.month_start
        and picked.order_date < cast(touched.month_start + interval '1 month' as date)
        {%- if key is not none %}
        and picked.{{ key }} = touched.{{ key }}
        {%- endif %}
{%- endmacro %}

{#- ClickHouse: the rows whose (key and) month is one of them; a scan of the columns is
    cheaper there than a join. -#}
{% macro clickhouse__rows_in_months(relation, columns, months, key) -%}
    select {{ columns | join(', ') }}
    from {{ relation }}
    {%- if key is not none %}
    where ({{ key }}, toStartOfMonth(order_date)) in ({{ months }})
    {%- else %}
    where toStartOfMonth(order_date) in ({{ months }})
    {%- endif %}
{%- endmacro %}

{#- Whether the model being built updates only its affected keys. -#}
{% macro is_incremental_fold() -%}
    {{ return(fold_state().incremental) }}
{%- endmacro %}

{#- The reviews the batches this build folds changed or deleted (those of earlier,
    unfinished builds too: the watermark is behind them). -#}
{% macro touched_reviews(fold) -%}
    select review_id from {{ changed_keys('reviews', ['review_id'], fold) }} as changed
{%- endmacro %}
