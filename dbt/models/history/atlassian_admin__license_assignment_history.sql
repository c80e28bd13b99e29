-- Every version of every seat the table holds, with the span it held for: from its observed_at
-- until the next row of the same seat (a deletion row holds "no seat"), and held_since: when
-- the holding that the row belongs to began (the first row after a deletion, or the first row).
-- Appended syncs keep the whole history; append + dedup and full refresh keep the latest row,
-- whose observed_at is then when the current holding was first seen.
WITH rows_in_order AS (
    SELECT workspace_id, account_id, role, observed_at,
           CASE WHEN _ab_cdc_deleted_at IS NULL THEN FALSE ELSE TRUE END AS is_deletion
    FROM {{ ref('stg_atlassian_admin__license_assignments') }}
),
marked AS (
    SELECT workspace_id, account_id, role, observed_at, is_deletion,
           LEAD(observed_at) OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at NULLS FIRST) AS superseded_at,
           CASE WHEN NOT is_deletion
                 AND COALESCE(LAG(is_deletion) OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at NULLS FIRST), TRUE)
                THEN observed_at END AS holding_start
    FROM rows_in_order
)
SELECT workspace_id, account_id, role, observed_at, superseded_at, is_deletion,
       CASE WHEN NOT is_deletion
            THEN MAX(holding_start) OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at NULLS FIRST
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS held_since
FROM marked
