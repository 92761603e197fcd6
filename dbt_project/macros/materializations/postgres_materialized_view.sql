{#- Postgres marts are materialized views. Two changes to dbt's materialization:

    * dbt only refreshes an existing materialized view and never notices that its SQL
      changed. Here the stored definition is compared with the new SQL (both deparsed by
      Postgres in this session); when they differ the view is rebuilt under a temporary
      name and swapped in.
    * An unchanged view in the published schema (var `published_marts_schema`) is
      refreshed CONCURRENTLY, so analysts' reads never wait; the grain's unique index
      allows it. Elsewhere (the `marts_next` shadow has no readers) a plain refresh is
      faster. -#}
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
    refresh materialized view concurrently {{ relation }}
    {%- else %}
    refresh materialized view {{ relation }}
    {%- endif %}
{% endmacro %}
