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

{#- dd-mm-yyyy, dd/mm/yyyy, yyyy-mm-dd, or an Excel serial day number (XLSX date cells read as numbers) -#}
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
        -- Excel counts days from 1899-12-30; five digits (10000..80000) cover 1927..2119
        when {{ column }} ~ '^\s*\d{5}\s*$' and trim({{ column }})::int between 10000 and 80000
            then date '1899-12-30' + trim({{ column }})::int
    end
{%- endmacro %}

{#- JSON booleans as text: 'true'/'false' -#}
{% macro parse_bool(column) -%}
    case lower(trim({{ column }})) when 'true' then true when 'false' then false end
{%- endmacro %}

{#- Rupiah amounts: 'Rp 5.000.000', '5.000.000', '5000000' -> 5000000 (dots are thousands separators) -#}
{% macro parse_rupiah(column) -%}
    nullif(regexp_replace(split_part({{ column }}, ',', 1), '[^0-9]', '', 'g'), '')::numeric
{%- endmacro %}

{#- Second number of a combined RT/RW cell: '005/002', 'RT.05/RW.02' -> 2 -#}
{% macro parse_rw_of_rt_rw(column) -%}
    nullif(substring({{ column }} from '\d{1,3}\D+(\d{1,3})'), '')::int
{%- endmacro %}

{#- YA/TIDAK, Y/T, 1/0 (and TRUE/FALSE: an XLSX boolean cell) -#}
{% macro parse_yes_no(column) -%}
    case
        when upper(trim({{ column }})) in ('YA', 'Y', '1', 'TRUE') then true
        when upper(trim({{ column }})) in ('TIDAK', 'T', '0', 'FALSE') then false
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

{#- RT and RW from separate RT and RW columns that may each hold the combined form: RT '005/002' with RW blank,
    RT and RW both 'RT.05/RW.02', RT blank with RW '007/003'. RT: the RT cell's first number, else the first of a
    combined RW cell. RW: the second number of a combined RW cell, else its only number, else the second number of
    a combined RT cell. -#}
{% macro parse_rt_of_cells(rt_column, rw_column) -%}
    coalesce({{ parse_rt_rw(rt_column) }},
             nullif(substring({{ rw_column }} from '(\d{1,3})\D+\d{1,3}'), '')::int)
{%- endmacro %}

{% macro parse_rw_of_cells(rw_column, rt_column) -%}
    coalesce({{ parse_rw_of_rt_rw(rw_column) }}, {{ parse_rt_rw(rw_column) }}, {{ parse_rw_of_rt_rw(rt_column) }})
{%- endmacro %}

{#- Identifier with everything but digits removed (NIK, No. KK) -#}
{% macro digits_only(column) -%}
    nullif(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '')
{%- endmacro %}

{#- Spelling-insensitive key for region names: 'Oro-Oro Dowo' = 'ORO ORO DOWO' = 'OROORODOWO'; 'Kel. Bareng' =
    'BARENG', 'Desa Tulungrejo' = 'TULUNGREJO' (lintas.identity.address.region_key, the same rule) -#}
{% macro region_key(column) -%}
    nullif(regexp_replace(
        regexp_replace(upper({{ column }}), '^\s*(KEL(URAHAN)?|KEC(AMATAN)?|DESA|DS)\y\.?', ''),
        '[^A-Z0-9]', '', 'g'
    ), '')
{%- endmacro %}
