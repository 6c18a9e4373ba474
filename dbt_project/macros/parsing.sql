{#- Parsers for the value forms in shared/spec/agency-extracts.md. Each returns NULL for what it cannot
    read, never raises: one bad cell must not fail a whole build. -#}

{% macro safe_make_date(year, month, day) -%}
    case
        when ({{ year }}) not between 1900 and 2100 or ({{ month }}) not between 1 and 12 then null
        when ({{ day }}) between 1 and extract(
            day from (make_date(({{ year }}), ({{ month }}), 1) + interval '1 month - 1 day')
        ) then make_date(({{ year }}), ({{ month }}), ({{ day }}))
    end
{%- endmacro %}

{#- dd-mm-yyyy, dd/mm/yyyy or yyyy-mm-dd -#}
{% macro parse_date(column) -%}
    case
        when {{ column }} ~ '^\s*\d{2}[-/]\d{2}[-/]\d{4}\s*$' then {{ lintas.safe_make_date(
            "substr(trim(" ~ column ~ "), 7, 4)::int",
            "substr(trim(" ~ column ~ "), 4, 2)::int",
            "substr(trim(" ~ column ~ "), 1, 2)::int") }}
        when {{ column }} ~ '^\s*\d{4}-\d{2}-\d{2}\s*$' then {{ lintas.safe_make_date(
            "substr(trim(" ~ column ~ "), 1, 4)::int",
            "substr(trim(" ~ column ~ "), 6, 2)::int",
            "substr(trim(" ~ column ~ "), 9, 2)::int") }}
    end
{%- endmacro %}

{#- YA/TIDAK, Y/T, 1/0 -#}
{% macro parse_yes_no(column) -%}
    case
        when upper(trim({{ column }})) in ('YA', 'Y', '1') then true
        when upper(trim({{ column }})) in ('TIDAK', 'T', '0') then false
    end
{%- endmacro %}

{#- L/P or LAKI-LAKI/PEREMPUAN -> 'L'/'P' -#}
{% macro parse_sex(column) -%}
    case
        when upper(trim({{ column }})) in ('L', 'LAKI-LAKI', 'LAKI LAKI') then 'L'
        when upper(trim({{ column }})) in ('P', 'PEREMPUAN', 'WANITA') then 'P'
    end
{%- endmacro %}

{#- First number in an RT/RW cell: '005', '5', 'RT 005', 'RT.05/RW.02' -> 5 -#}
{% macro parse_rt_rw(column) -%}
    nullif(substring({{ column }} from '(\d{1,3})'), '')::int
{%- endmacro %}

{#- Identifier with everything but digits removed (NIK, No. KK) -#}
{% macro digits_only(column) -%}
    nullif(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '')
{%- endmacro %}

{#- Spelling-insensitive key for region names: 'Oro-Oro Dowo' = 'ORO ORO DOWO' = 'OROORODOWO' -#}
{% macro region_key(column) -%}
    nullif(regexp_replace(upper({{ column }}), '[^A-Z0-9]', '', 'g'), '')
{%- endmacro %}
