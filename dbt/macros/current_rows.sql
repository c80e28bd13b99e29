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
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
{%- endmacro %}
