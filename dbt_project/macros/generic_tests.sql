{#- Generic tests the project needs (dbt_utils cannot be installed offline). -#}

{#- No two rows share the same values in `columns`. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
