{#- `shopmarts_incremental`: a table kept up to date by key (macros/incremental/fold.sql).

    * no table yet: created from the model's SQL (a full computation);
    * full rebuild (fold_state() not incremental): every row replaced in place. On
      Postgres TRUNCATE and INSERT in one transaction, never DROP: the published marts
      are materialized views over these tables and a DROP would have to cascade to them.
      On ClickHouse a new table EXCHANGEd with the old one (views refer to it by name);
    * incremental: DELETE the affected keys (`affected(model, unique_key)`), INSERT what
      the model's SQL recomputed for them. On Postgres both in one transaction; on
      ClickHouse a lightweight DELETE then the INSERT: a crash in between leaves the
      watermark behind, so the next build deletes and recomputes the same keys again.

    A model configured `replaced_whole` (one row computed anew by every build) always has
    its rows replaced, as in a full rebuild: a build that changes its columns makes it anew.

    Config: `unique_key` (the column the affected keys are matched on), `order_by`
    (ClickHouse sorting key), `indexes` (Postgres: lists of columns to index, or
    {'columns': [...], 'include': [...]} for a covering index),
    `minmax_indexes` (ClickHouse: columns given a minmax skip index, for lookups by a
    column that rises with the sorting key without leading it).

    A view left under the name by an earlier materialization is renamed away on Postgres
    (the published materialized views may still read it; they go with the next publish)
    and dropped on ClickHouse. -#}
{% materialization shopmarts_incremental, default %}
    {%- set existing = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set fold = fold_state() -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if existing is not none and not existing.is_table -%}
        {{ shopmarts_retire_relation(existing) }}
        {%- set existing = none -%}
    {%- endif -%}

    {%- if not fold.incremental or existing is none -%}
        {{ shopmarts_forget_watermark() }}
    {%- endif -%}
    {%- if existing is none -%}
        {{ shopmarts_create_table(target_relation, sql) }}
    {%- elif not fold.incremental or config.get('replaced_whole', false) -%}
        {{ shopmarts_replace_rows(target_relation, sql) }}
    {%- else -%}
        {%- set key = config.require('unique_key') -%}
        {% call statement('delete_affected') -%}
            {{ shopmarts_delete_where(target_relation, affected(this.identifier, key, fold)) }}
        {%- endcall %}
        {{ shopmarts_insert(target_relation, sql) }}
    {%- endif -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- A model about to be computed in full empties the watermark (`int_changes__folded`)
    first. Every model after it in the same build then finds no watermark and computes in
    full too, even one that finds every incremental table (one missing before this build
    has been made by now): folding the change log with the touched keys of a full build,
    which are none, would miss the batches. A build that finishes writes the watermark
    again. -#}
{% macro shopmarts_forget_watermark() -%}
    {%- set folded = intermediate_relation('int_changes__folded') -%}
    {%- if folded is not none -%}
        {{ adapter.dispatch('shopmarts_forget_watermark', 'shopmarts')(folded) }}
    {%- endif -%}
{%- endmacro %}

{#- Postgres: a DELETE, committed at once. Each model's transaction holds a share lock on
    the watermark from reading it (fold_state()); two models' TRUNCATEs, which must wait
    for every other lock, would wait for each other. -#}
{% macro default__shopmarts_forget_watermark(folded) -%}
    {% call statement('forget_watermark') -%}
        delete from {{ folded }}
    {%- endcall %}
    {{ adapter.commit() }}
{%- endmacro %}

{% macro clickhouse__shopmarts_forget_watermark(folded) -%}
    {% call statement('forget_watermark') -%}
        truncate table {{ folded }}
    {%- endcall %}
{%- endmacro %}


{% macro shopmarts_insert(relation, sql) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set quoted = [] -%}
    {%- for column in columns -%}{%- do quoted.append(adapter.quote(column)) -%}{%- endfor -%}
    {% call statement('main') -%}
        insert into {{ relation }} ({{ quoted | join(', ') }})
        select {{ quoted | join(', ') }} from ({{ sql }}) as recomputed
    {%- endcall %}
{%- endmacro %}


{% macro shopmarts_create_table(relation, sql) -%}
    {{ return(adapter.dispatch('shopmarts_create_table', 'shopmarts')(relation, sql)) }}
{%- endmacro %}

{% macro default__shopmarts_create_table(relation, sql) -%}
    {% call statement('main') -%}
        create table {{ relation }} as {{ sql }}
    {%- endcall %}
    {{ shopmarts_create_indexes(relation) }}
{%- endmacro %}

{#- Postgres: the model's `indexes`, each built in one pass over the table's rows. -#}
{% macro shopmarts_create_indexes(relation) -%}
    {%- for index in config.get('indexes', []) -%}
        {#- A list of columns, or {'columns': [...], 'include': [...]}: a covering index,
            which an index-only scan answers without visiting the rows. -#}
        {%- set columns = index['columns'] if index is mapping else index -%}
        {%- set include = index.get('include', []) if index is mapping else [] -%}
        {% call statement('index_' ~ loop.index) -%}
            create index on {{ relation }} ({{ columns | join(', ') }})
            {%- if include %} include ({{ include | join(', ') }}){% endif %}
        {%- endcall %}
    {%- endfor -%}
{%- endmacro %}

{#- Postgres: drop the indexes of ``relation`` (those `shopmarts_create_indexes` made; no
    key or unique constraint is made here). -#}
{% macro shopmarts_drop_indexes(relation) -%}
    {% call statement('drop_indexes') -%}
        do $$
        declare found record;
        begin
            for found in
                select indexrelid::regclass as name from pg_index
                where indrelid = '{{ relation }}'::regclass
                    and not indisprimary and not indisunique
            loop
                execute format('drop index %s', found.name);
            end loop;
        end
        $$
    {%- endcall %}
{%- endmacro %}

{% macro clickhouse__shopmarts_create_table(relation, sql) -%}
    {% call statement('main') -%}
        create table {{ relation }}
        engine = MergeTree()
        order by ({{ config.get('order_by', []) | join(', ') or 'tuple()' }})
        {#- A profile whose mapping leaves a key nullable (ModestWear: the product through
            its variant) still sorts by it. #}
        settings allow_nullable_key = 1,
            {#- What a lightweight update (the DELETE of the affected keys) needs. #}
            enable_block_number_column = 1, enable_block_offset_column = 1
        as {{ sql }}
    {%- endcall %}
    {%- for column in config.get('minmax_indexes', []) %}
    {% call statement('minmax_index_' ~ column) -%}
        alter table {{ relation }} add index {{ column }}_minmax {{ column }} type minmax granularity 1
    {%- endcall %}
    {% call statement('materialize_minmax_index_' ~ column) -%}
        alter table {{ relation }} materialize index {{ column }}_minmax settings mutations_sync = 2
    {%- endcall %}
    {%- endfor %}
{%- endmacro %}


{% macro shopmarts_replace_rows(relation, sql) -%}
    {{ return(adapter.dispatch('shopmarts_replace_rows', 'shopmarts')(relation, sql)) }}
{%- endmacro %}

{% macro default__shopmarts_replace_rows(relation, sql) -%}
    {%- if shopmarts_columns_differ(relation, sql) -%}
        {#- Other columns or types (another source profile's keys, a changed model): the
            rows cannot go into this table. It is renamed away (what reads it keeps
            reading it until rebuilt) and the table made anew. -#}
        {{ log("The columns of " ~ relation ~ " changed: a new table", info=True) }}
        {{ default__shopmarts_retire_relation(relation) }}
        {{ default__shopmarts_create_table(relation, sql) }}
    {%- else -%}
        {#- Every row is new: the indexes are dropped and built again after the insert,
            each in one sorted pass, instead of kept up to date row by row (random UUID
            keys split B-tree pages all over: SoleMate's order lines at scale 20, 19.9 s
            into five kept indexes, 4.7 s inserted then indexed). In the transaction of
            the TRUNCATE, which locks the table anyway. -#}
        {% call statement('truncate') -%}
            truncate table {{ relation }}
        {%- endcall %}
        {{ shopmarts_drop_indexes(relation) }}
        {{ shopmarts_insert(relation, sql) }}
        {{ shopmarts_create_indexes(relation) }}
    {%- endif -%}
{%- endmacro %}


{#- Postgres: whether ``sql``'s columns (names, types, order) differ from ``relation``'s;
    the SQL goes through a temporary view so Postgres types it as it would the table. -#}
{% macro shopmarts_columns_differ(relation, sql) -%}
    {%- set probe = 'shopmarts_columns_probe' -%}
    {% call statement('drop_columns_probe') -%}
        drop view if exists pg_temp.{{ probe }}
    {%- endcall %}
    {% call statement('create_columns_probe') -%}
        create temporary view {{ probe }} as {{ sql }}
    {%- endcall %}
    {%- set columns_of -%}
        select attnum, attname, format_type(atttypid, atttypmod)
        from pg_attribute where attnum > 0 and not attisdropped and attrelid =
    {%- endset -%}
    {% call statement('compare_columns', fetch_result=True) -%}
        select count(*) from (
            ({{ columns_of }} '{{ relation }}'::regclass
             except {{ columns_of }} 'pg_temp.{{ probe }}'::regclass)
            union all
            ({{ columns_of }} 'pg_temp.{{ probe }}'::regclass
             except {{ columns_of }} '{{ relation }}'::regclass)
        ) as differing
    {%- endcall %}
    {%- set differing = load_result('compare_columns')['data'][0][0] -%}
    {% call statement('drop_columns_probe') -%}
        drop view pg_temp.{{ probe }}
    {%- endcall %}
    {{ return(differing | int > 0) }}
{%- endmacro %}

{% macro clickhouse__shopmarts_replace_rows(relation, sql) -%}
    {%- set fresh = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_rebuild'}) -%}
    {% call statement('drop_leftover') -%}
        drop table if exists {{ fresh }}
    {%- endcall %}
    {{ clickhouse__shopmarts_create_table(fresh, sql) }}
    {% call statement('exchange') -%}
        exchange tables {{ fresh }} and {{ relation }}
    {%- endcall %}
    {% call statement('drop_old') -%}
        drop table if exists {{ fresh }}
    {%- endcall %}
{%- endmacro %}


{% macro shopmarts_delete_where(relation, predicate) -%}
    {{ return(adapter.dispatch('shopmarts_delete_where', 'shopmarts')(relation, predicate)) }}
{%- endmacro %}

{% macro default__shopmarts_delete_where(relation, predicate) -%}
    delete from {{ relation }} where {{ predicate }}
{%- endmacro %}

{#- ClickHouse: a lightweight update (a patch part marking the rows deleted, written like
    an insert), where the table has the block columns it needs (made by
    clickhouse__shopmarts_create_table, above); else ClickHouse falls back to a mutation,
    which waits for a slot of the server's two background workers behind the merges of
    the hour's inserts (1.3-1.8 s a table in an hourly run at scale 100, 0.1 s alone). -#}
{% macro clickhouse__shopmarts_delete_where(relation, predicate) -%}
    delete from {{ relation }} where {{ predicate }}
    settings lightweight_delete_mode = 'lightweight_update'
{%- endmacro %}


{% macro shopmarts_retire_relation(relation) -%}
    {{ return(adapter.dispatch('shopmarts_retire_relation', 'shopmarts')(relation)) }}
{%- endmacro %}

{% macro default__shopmarts_retire_relation(relation) -%}
    {%- set retired = relation.identifier ~ '__retired_' ~ run_started_at.strftime('%Y%m%d%H%M%S') -%}
    {% call statement('retire') -%}
        alter {{ 'view' if relation.is_view else 'table' }} {{ relation }} rename to {{ adapter.quote(retired) }}
    {%- endcall %}
    {%- do adapter.cache_dropped(relation) -%}
{%- endmacro %}

{% macro clickhouse__shopmarts_retire_relation(relation) -%}
    {% call statement('retire') -%}
        drop {{ 'view' if relation.is_view else 'table' }} if exists {{ relation }}
    {%- endcall %}
    {%- do adapter.cache_dropped(relation) -%}
{%- endmacro %}
