{#- Source profiles: which seed shop's schema the shop database holds (ingest/profiles/).
    The profile is the dbt var `source_profile`, default the SHOPMARTS_SOURCE_PROFILE
    environment variable, else `canonical`. dbt_project.yml enables exactly one folder
    of models/staging/ with the same expression: keep the two in step. -#}

{#- Each profile's key type, as ingest/profiles/__init__.py registers it: it decides how
    a tie-break orders keys (key_order) and what an absent key column is (typed_null). -#}
{% macro source_profile_key_types() -%}
    {{ return({
        'canonical': 'bigint',
        'modestwear': 'bigint',
        'techally': 'uuid',
        'minimal': 'uuid',
        'solemate': 'uuid',
    }) }}
{%- endmacro %}

{#- The chosen profile's name; a name no profile has is a compile error naming them all. -#}
{% macro source_profile() -%}
    {%- set name = var('source_profile', env_var('SHOPMARTS_SOURCE_PROFILE', 'canonical')) | trim | lower -%}
    {%- set known = source_profile_key_types() -%}
    {%- if name not in known -%}
        {{ exceptions.raise_compiler_error(
            "unknown source profile '" ~ name ~ "': choose one of " ~ (known.keys() | join(', '))
        ) }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{#- `bigint` or `uuid`: the type of the chosen profile's keys in staging and the marts
    (the marts keep the shop's own keys; serial keys are widened to bigint). -#}
{% macro source_key_type() -%}
    {{ return(source_profile_key_types()[source_profile()]) }}
{%- endmacro %}
