{#- NIK / No. KK checks in SQL, the same rules as lintas.identity.nik (Python) so analysts see what linkage saw.
    A NIK is PPKKCC DDMMYY SSSS: region of first registration, birth date with 40 added to the day for women,
    and a serial that is never 0000. Every macro takes a digits-only column (staging's digits_only). -#}

{#- Exactly 16 digits; translate() is several times cheaper than a regex over a whole register. -#}
{% macro is_16_digits(column) -%}
    (length({{ column }}) = 16 and translate({{ column }}, '0123456789', '') = '')
{%- endmacro %}

{#- The date a NIK or No. KK carries: this century if that is not in the future, else the last one. -#}
{% macro nik_implied_date(column, day_offset=true) -%}
    {%- set day = "substr(" ~ column ~ ", 7, 2)::int" -%}
    {%- if day_offset -%}{%- set day = "(" ~ day ~ " - case when " ~ day ~ " > 40 then 40 else 0 end)" -%}{%- endif -%}
    case when {{ lintas.is_16_digits(column) }} then
        coalesce(
            case when {{ lintas.safe_make_date("2000 + substr(" ~ column ~ ", 11, 2)::int",
                "substr(" ~ column ~ ", 9, 2)::int", day) }} <= {{ lintas.as_of_date() }}
                then {{ lintas.safe_make_date("2000 + substr(" ~ column ~ ", 11, 2)::int",
                    "substr(" ~ column ~ ", 9, 2)::int", day) }}
            end,
            case when 1900 + substr({{ column }}, 11, 2)::int >= extract(year from {{ lintas.as_of_date() }}) - 110
                then {{ lintas.safe_make_date("1900 + substr(" ~ column ~ ", 11, 2)::int",
                    "substr(" ~ column ~ ", 9, 2)::int", day) }}
            end
        )
    end
{%- endmacro %}

{#- Sex a NIK implies: women have 40 added to the birth day. -#}
{% macro nik_implied_sex(column) -%}
    case when {{ lintas.is_16_digits(column) }} then
        case when substr({{ column }}, 7, 2)::int > 40 then 'P' else 'L' end
    end
{%- endmacro %}

{#- All one digit, a run of the sequence 0123456789, or six trailing zeros (padding). -#}
{% macro nik_is_placeholder(column) -%}
    (
        -- all one digit (a regex backreference would be far slower)
        ltrim({{ column }}, left({{ column }}, 1)) = ''
        or strpos('01234567890123456789', {{ column }}) > 0
        or strpos('98765432109876543210', {{ column }}) > 0
        or right({{ column }}, 6) = '000000'
    )
{%- endmacro %}

{#- Problems of a recorded NIK as a text array (empty = valid); `region_known` is a boolean expression telling
    whether its first six digits are a current or historical kecamatan code; `implied_date`, if given, is the
    already computed nik_implied_date of the column (saves computing it twice). -#}
{% macro nik_problems(column, region_known, from_number_cell='false', implied_date=none) -%}
    case
        when {{ column }} is null then array['missing']
        when not {{ lintas.is_16_digits(column) }} then array['length_' || length({{ column }})]
        else array_remove(array[
            case when {{ from_number_cell }} then 'excel_number' end,
            case when {{ lintas.nik_is_placeholder(column) }} then 'placeholder' end,
            case when not coalesce({{ region_known }}, false) then 'unknown_region' end,
            case when {{ implied_date or lintas.nik_implied_date(column) }} is null then 'bad_birth_date' end,
            case when right({{ column }}, 4) = '0000' then 'zero_serial' end
        ], null)
    end
{%- endmacro %}

{#- The date rules are evaluated at: var as_of_date (YYYY-MM-DD) or today. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) -%}date '{{ var("as_of_date") }}'{%- else -%}current_date{%- endif -%}
{%- endmacro %}
