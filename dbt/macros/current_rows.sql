{#- The current state of a stream from whatever the sync mode left in its table: the latest row
    of each primary key by observed_at, and no key whose latest row is a deletion record
    (_ab_cdc_deleted_at). Full refresh (one row a key), append (every version, deletions as
    rows) and append + dedup (the latest row, or a soft-deleted one) all give the same rows. -#}
{% macro current_rows(stream_name, key_columns, columns) -%}
SELECT {{ columns | join(', ') }}
FROM (
    SELECT {{ columns | join(', ') }}, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY {{ key_columns | join(', ') }}
                              ORDER BY {{ atlassian_admin.to_timestamp('observed_at') }} DESC NULLS LAST) AS row_no
    FROM {{ atlassian_admin.stream(stream_name) }}
) latest
WHERE row_no = 1 AND _ab_cdc_deleted_at IS NULL
{%- endmacro %}
