{#- The current state of a stream from whatever the sync mode left in its table (its staging
    model, `relation`): the latest row of each primary key by observed_at, and no key whose
    latest row is a deletion record (_ab_cdc_deleted_at). Full refresh (one row a key), append
    (every version, deletions as rows) and append + dedup (the latest row, or a soft-deleted one)
    all give the same rows. -#}
{% macro current_rows(relation, key_columns, columns) -%}
SELECT {{ columns | join(', ') }}
FROM (
    SELECT {{ columns | join(', ') }}, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY {{ key_columns | join(', ') }} ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM {{ relation }}
) latest
-- One condition, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL guesses each at a
-- fraction of the rows, and the product of two guesses (a row or so) leads it to plans that
-- re-run whole subqueries per row.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) = 1
{%- endmacro %}
