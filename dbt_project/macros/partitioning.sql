{#- Declarative partitioning of the large facts by kab/kota (issue 16). A mart with config
    `partition_by_kabkota: true` (and an enforced contract, whose key includes kode_kabkota: PostgreSQL requires
    the partition key in every unique constraint of a partitioned table) is created as
    `partition by list (kode_kabkota)` with one partition per served kab/kota (var lintas_region_kabkota) and a
    DEFAULT partition, so a row outside the served list ('TIDAK DIKETAHUI', another kab/kota) is kept, not refused.

    Partitions are named after the model, not the relation being built: <model>__3573, <model>__default. dbt builds
    <model>__dbt_tmp, renames the existing <model> to a backup and the new one into place, then drops the backup
    (all in one transaction): partitions keep their names through the renames, so the existing table's partitions
    are renamed out of the way (<name>__replaced) first; they are dropped with the backup. -#}

{% macro kabkota_partitions(model_identifier) -%}
    {%- set partitions = [] -%}
    {%- for code in lintas.region_kabkota() -%}
        {%- do partitions.append((model_identifier ~ '__' ~ code | replace('.', ''), "for values in ('" ~ code ~ "')")) -%}
    {%- endfor -%}
    {%- do partitions.append((model_identifier ~ '__default', 'default')) -%}
    {{ return(partitions) }}
{%- endmacro %}

{#- dbt-postgres's postgres__create_table_as (1.11), plus the partitioning above; dispatch finds the root
    project's version first. -#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
  {%- set unlogged = config.get('unlogged', default=false) -%}
  {%- set sql_header = config.get('sql_header', none) -%}
  {%- set contract_config = config.get('contract') -%}
  {%- set partitioned = config.get('partition_by_kabkota', default=false) and not temporary -%}
  {%- if partitioned and not contract_config.enforced -%}
    {{ exceptions.raise_compiler_error("partition_by_kabkota needs an enforced contract (its key must include kode_kabkota)") }}
  {%- endif -%}

  {{ sql_header if sql_header is not none }}

  {% if partitioned -%}
    {%- for name, bound in lintas.kabkota_partitions(this.identifier) %}
  drop table if exists {{ adapter.quote(relation.schema) }}.{{ adapter.quote(name ~ '__replaced') }};
  alter table if exists {{ adapter.quote(relation.schema) }}.{{ adapter.quote(name) }} rename to {{ adapter.quote(name ~ '__replaced') }};
    {%- endfor %}
  {%- endif %}

  create {% if temporary -%}
    temporary
  {%- elif unlogged -%}
    unlogged
  {%- endif %} table {{ relation }}
  {% if contract_config.enforced %}
    {{ get_assert_columns_equivalent(sql) }}
  {% endif -%}
  {% if contract_config.enforced and (not temporary) -%}
      {{ get_table_columns_and_constraints() }}
      {%- if partitioned %} partition by list (kode_kabkota){% endif %} ;
    {% if partitioned -%}
      {%- for name, bound in lintas.kabkota_partitions(this.identifier) %}
    create table {{ adapter.quote(relation.schema) }}.{{ adapter.quote(name) }} partition of {{ relation }} {{ bound }};
      {%- endfor %}
    {%- endif %}
    insert into {{ relation }} (
      {{ adapter.dispatch('get_column_names', 'dbt')() }}
    )
    {%- set sql = get_select_subquery(sql) %}
  {% else %}
    as
  {% endif %}
  (
    {{ sql }}
  );
{%- endmacro %}
