{#- The generic tests the package needs (the dbt package hub, and so dbt_utils, is not a
    dependency: a package of its own tests keeps `dbt deps` out of the way). -#}

{#- No two rows share these columns: a composite primary key. -#}
{% test unique_combination(model, columns) %}
SELECT {{ columns | join(', ') }}, COUNT(*) AS n_rows
FROM {{ model }}
GROUP BY {{ columns | join(', ') }}
HAVING COUNT(*) > 1
{% endtest %}

{#- Every row satisfies the SQL condition. -#}
{% test holds(model, condition) %}
SELECT *
FROM {{ model }}
WHERE NOT ({{ condition }})
{% endtest %}
