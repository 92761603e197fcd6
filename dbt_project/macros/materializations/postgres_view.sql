{#- Postgres views are replaced in place with CREATE OR REPLACE VIEW.

    dbt's default view materialization creates the new view under a temporary name,
    renames the old one away and drops it with CASCADE, which would also drop every
    published mart (a materialized view) selecting from it. CREATE OR REPLACE keeps the
    dependents and their data. Postgres refuses it when an existing column is removed,
    renamed or changes type, and the build fails loudly: such a change needs the marts
    rebuilt deliberately, never silently dropped. Columns may be added at the end. -#}
{% materialization view, adapter='postgres' %}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}

    {#- Something else (a table, say) left under this name by an earlier materialization. -#}
    {%- if existing_relation is not none and not existing_relation.is_view -%}
        {{ drop_relation_if_exists(existing_relation) }}
    {%- endif -%}

    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('main') -%}
        {{ get_replace_view_sql(target_relation, sql) }}
    {%- endcall %}

    {%- set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke=should_revoke) -%}

    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    {{ adapter.commit() }}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}
