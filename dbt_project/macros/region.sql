{#- The region this warehouse serves: dotted kab/kota codes, from the var lintas_region_kabkota (comma-separated
    text or a list). lintas.region sets it from LINTAS_REGION_CODES (a province expanded to its kab/kota) through
    dbt_project.yml; default 35.73, Kota Malang. -#}
{% macro region_kabkota() -%}
    {%- set value = var('lintas_region_kabkota', '35.73') -%}
    {%- set items = value.split(',') if value is string else value -%}
    {%- set codes = [] -%}
    {%- for item in items -%}
        {%- set code = (item | string).strip() -%}
        {%- if not modules.re.match('^[0-9]{2}[.][0-9]{2}$', code) -%}
            {{ exceptions.raise_compiler_error("var lintas_region_kabkota: '" ~ code ~ "' is not a dotted kab/kota code like 35.73") }}
        {%- endif -%}
        {%- do codes.append(code) -%}
    {%- endfor -%}
    {{ return(codes | unique | list | sort) }}
{%- endmacro %}

{#- SQL list of the region's kab/kota codes: ('35.73', '35.79') -#}
{% macro region_kabkota_sql() -%}
    ({%- for code in lintas.region_kabkota() -%}'{{ code }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}

{#- Whether a dotted Kemendagri code (province .. kelurahan) belongs to the region: a kab/kota of it or anything
    below one, or the province a kab/kota of it lies in. -#}
{% macro in_region(code_column) -%}
    {%- set provinces = [] -%}
    {%- for code in lintas.region_kabkota() if code[:2] not in provinces -%}
        {%- do provinces.append(code[:2]) -%}
    {%- endfor -%}
    (
        left({{ code_column }}, 5) in {{ lintas.region_kabkota_sql() }}
        or {{ code_column }} in ('{{ provinces | join("', '") }}')
    )
{%- endmacro %}

{#- Resolve a recorded kelurahan name (with its recorded kecamatan) to the region's kelurahan: two left joins of
    int_wilayah__kelurahan_lookup, by name within the recorded kecamatan first, else by a name unique in the
    region. Read the result with kelurahan_lookup_column. -#}
{% macro kelurahan_lookup_joins(kelurahan, kecamatan, alias='lookup') -%}
    left join {{ ref('int_wilayah__kelurahan_lookup') }} as {{ alias }}_in_kecamatan
        on
            {{ lintas.region_key(kelurahan) }} = {{ alias }}_in_kecamatan.kelurahan_key
            and {{ lintas.region_key(kecamatan) }} = {{ alias }}_in_kecamatan.kecamatan_key
    left join {{ ref('int_wilayah__kelurahan_lookup') }} as {{ alias }}_anywhere
        on
            {{ lintas.region_key(kelurahan) }} = {{ alias }}_anywhere.kelurahan_key
            and {{ alias }}_anywhere.kecamatan_key = ''
{%- endmacro %}

{% macro kelurahan_lookup_column(column, alias='lookup') -%}
    coalesce({{ alias }}_in_kecamatan.{{ column }}, {{ alias }}_anywhere.{{ column }})
{%- endmacro %}

{#- The dotted kab/kota (35.73) of a kelurahan code, 'TIDAK DIKETAHUI' where the place is unresolved (as the area
    reports name it): the partition key of the large facts (macros/partitioning.sql), never null. -#}
{% macro kabkota_of(kode_kelurahan) -%}
    coalesce(left({{ kode_kelurahan }}, 5), 'TIDAK DIKETAHUI')
{%- endmacro %}
