{#- Postgres marts are materialized views. Two changes to dbt's materialization:

    * dbt only refreshes an existing materialized view and never notices that its SQL
      changed. Here the stored definition is compared with the new SQL (both deparsed by
      Postgres in this session); when they differ the view is rebuilt under a temporary
      name and swapped in.
    * An unchanged view in the published schema (var `published_marts_schema`) is
      refreshed CONCURRENTLY, so analysts' reads never wait; the grain's unique index
      allows it. Elsewhere (the `marts_next` shadow has no readers) a plain refresh is
      faster.

    And two to dbt's CREATE and REFRESH. Every build ANALYZEs the view it wrote: the
    gates' queries get plans from real statistics, and the statistics move with the view
    when the publish moves it into `marts` (ALTER ... SET SCHEMA keeps the relation). And
    autovacuum is off for the marts. A mart is written once, by its build, and never
    updated in place (the shadow is built whole, then moved), so a vacuum has nothing to
    reclaim. Left on, autovacuum took
    the new marts' insert-triggered VACUUM while the next refresh's publish needed them:
    its lock requests (lock_timeout 100 ms, under the 1 s deadlock_timeout after which
    PostgreSQL cancels an autovacuum in the way) failed ten times over 12 s at scale 100. -#}
{% materialization materialized_view, adapter='postgres' %}
    {% set existing_relation = load_cached_relation(this) %}
    {% set target_relation = this.incorporate(type=this.MaterializedView) %}
    {% set intermediate_relation = make_intermediate_relation(target_relation) %}
    {% set backup_relation_type = target_relation.MaterializedView if existing_relation is none else existing_relation.type %}
    {% set backup_relation = make_backup_relation(target_relation, backup_relation_type) %}

    {{ materialized_view_setup(backup_relation, intermediate_relation, pre_hooks) }}

        {% if existing_relation is not none
              and existing_relation.is_materialized_view
              and not should_full_refresh()
              and shopmarts_materialized_view_sql_changed(existing_relation, sql) %}
            {{ log("The SQL of " ~ target_relation ~ " changed: rebuilding it", info=True) }}
            {% set build_sql = get_replace_sql(existing_relation, target_relation, sql) %}
        {% else %}
            {% set build_sql = materialized_view_get_build_sql(existing_relation, target_relation, backup_relation, intermediate_relation) %}
        {% endif %}

        {% if build_sql == '' %}
            {{ materialized_view_execute_no_op(target_relation) }}
        {% else %}
            {{ materialized_view_execute_build_sql(build_sql, existing_relation, target_relation, post_hooks) }}
        {% endif %}

    {{ materialized_view_teardown(backup_relation, intermediate_relation, post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- True when `sql` differs from the query stored for the materialized view `relation`.
    The new SQL goes through a temporary view so Postgres deparses both the same way. -#}
{% macro shopmarts_materialized_view_sql_changed(relation, sql) %}
    {%- set probe = 'shopmarts_definition_probe' -%}
    {% call statement('drop_definition_probe') -%}
        drop view if exists pg_temp.{{ probe }}
    {%- endcall %}
    {% call statement('create_definition_probe') -%}
        create temporary view {{ probe }} as {{ sql }}
    {%- endcall %}
    {% call statement('compare_definitions', fetch_result=True) -%}
        select pg_get_viewdef('{{ relation }}'::regclass) = pg_get_viewdef('pg_temp.{{ probe }}'::regclass)
    {%- endcall %}
    {%- set unchanged = load_result('compare_definitions')['data'][0][0] -%}
    {% call statement('drop_definition_probe') -%}
        drop view pg_temp.{{ probe }}
    {%- endcall %}
    {{ return(not unchanged) }}
{% endmacro %}


{% macro postgres__refresh_materialized_view(relation) %}
    {%- if relation.schema == var('published_marts_schema', 'marts') %}
    {#- Refreshed in place, concurrently: it leaves dead rows, for autovacuum to reclaim. #}
    alter materialized view {{ relation }} reset (autovacuum_enabled, toast.autovacuum_enabled);
    refresh materialized view concurrently {{ relation }}
    {%- else %}
    refresh materialized view {{ relation }}
    {%- endif %};
    analyze {{ relation }}
{% endmacro %}


{% macro postgres__get_create_materialized_view_as_sql(relation, sql) %}
    create materialized view if not exists {{ relation }}
        with (autovacuum_enabled = false, toast.autovacuum_enabled = false)
        as {{ sql }};

    {% for _index_dict in config.get('indexes', []) -%}
        {{- get_create_index_sql(relation, _index_dict) -}};
    {%- endfor %}
    analyze {{ relation }}

{% endmacro %}
