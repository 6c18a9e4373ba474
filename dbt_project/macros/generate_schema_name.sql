{#- Layers get plain schema names (staging, intermediate, reference), not target-prefixed ones.
    Marts are written, audited, then published: dbt builds them into a build schema (LINTAS_MARTS_BUILD_SCHEMA,
    set by lintas.transform.dbt; `marts_build` by default, so no dbt run ever writes to the published `marts`),
    the mart gate checks them and lintas.transform.publish swaps the build schema into `marts`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ env_var('LINTAS_MARTS_BUILD_SCHEMA', 'marts_build') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
