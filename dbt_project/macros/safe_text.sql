{#- Free text from agencies (names, addresses) as it may leave Lintas in a spreadsheet: a value that begins with
    =, +, -, @, a tab or a carriage return would be read by Excel/LibreOffice as a formula (CSV injection), so it
    gets a leading apostrophe (OWASP's advice; spreadsheets show the text, and the apostrophe marks it as text).
    A value of dashes and spaces only ("-", "--") is the agencies' way of writing "blank" and no formula: left as
    it is. The raw layer keeps the value as delivered; lintas.export.safe_cell applies the same rule to files
    Lintas writes. -#}
{% macro safe_text(column) -%}
    case
        when {{ column }} ~ '^[=+@\t\r]' or ({{ column }} ~ '^-' and {{ column }} !~ '^[-\s]+$')
            then '''' || {{ column }}
        else {{ column }}
    end
{%- endmacro %}
