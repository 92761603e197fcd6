{#- Postgres indexes of a mart: a unique one on the grain (it also allows REFRESH ...
    CONCURRENTLY) plus one per column list analysts filter on. ClickHouse marts get none:
    they are ordered by their grain instead (config order_by). dbt names each index from
    a hash of its relation, columns and creation time, so names never repeat between
    `marts` and `marts_next` and the publish step can move relations freely. -#}
{% macro mart_indexes(grain, filters=[]) -%}
    {%- if target.type != 'postgres' -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set indexes = [{'columns': grain, 'unique': true}] -%}
    {%- for columns in filters -%}
        {%- do indexes.append({'columns': columns}) -%}
    {%- endfor -%}
    {{ return(indexes) }}
{%- endmacro %}
