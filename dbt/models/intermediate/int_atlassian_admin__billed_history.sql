-- How many users Atlassian bills on each site over the seat history: one row per site and
-- instant at which the number may change (a seat row observed or superseded, a users row
-- observed), with billed_holders, the count from that instant on. A holder counts while they
-- hold a billable role there (license_assignments' spans: atlassian_admin__license_assignment_history),
-- are billed as of that instant (the latest users row observed by then, not a deletion record;
-- before their first, that row's state), and are not a service account. The peak of a billing
-- cycle is read from it (int_atlassian_admin__site_bill). Appended syncs keep every change; a
-- deduplicated or full-refresh table holds today's seats from when each was first seen (or
-- synced), so its peak is today's count.
WITH role_events AS (
    SELECT workspace_id, account_id, observed_at AS changed_at, 1 AS delta
    FROM {{ ref('atlassian_admin__license_assignment_history') }}
    WHERE NOT is_deletion AND observed_at IS NOT NULL
    UNION ALL
    SELECT workspace_id, account_id, superseded_at, -1
    FROM {{ ref('atlassian_admin__license_assignment_history') }}
    WHERE NOT is_deletion AND observed_at IS NOT NULL AND superseded_at IS NOT NULL
),
holders AS (
    SELECT DISTINCT workspace_id, account_id FROM role_events
),
user_states AS (
    SELECT account_id, observed_at AS changed_at,
           {{ atlassian_admin.billed_user('access_billable', 'status') }} AS billed,
           ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY observed_at NULLS FIRST) AS row_no
    FROM {{ ref('stg_atlassian_admin__users') }}
    WHERE _ab_cdc_deleted_at IS NULL AND observed_at IS NOT NULL
),
first_states AS (
    SELECT account_id, CASE WHEN billed THEN 1 ELSE 0 END AS first_billed
    FROM user_states
    WHERE row_no <= 1  -- not `= 1`: see current_rows
),
service_accounts AS (
    SELECT DISTINCT account_id
    FROM (SELECT account_id FROM {{ ref('int_atlassian_admin__service_accounts') }}
          UNION ALL
          SELECT account_id FROM {{ ref('int_atlassian_admin__users') }}
          WHERE {{ atlassian_admin.service_account_email('email') }}) listed
),
points AS (
    SELECT workspace_id, account_id, changed_at, delta AS role_delta, CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS billed_flag
    FROM role_events
    UNION ALL
    SELECT h.workspace_id, h.account_id, us.changed_at, 0, CASE WHEN us.billed THEN 1 ELSE 0 END
    FROM holders h
    JOIN user_states us ON us.account_id = h.account_id
),
merged AS (
    SELECT workspace_id, account_id, changed_at, SUM(role_delta) AS role_delta, MAX(billed_flag) AS billed_flag
    FROM points
    GROUP BY workspace_id, account_id, changed_at
),
running AS (
    SELECT workspace_id, account_id, changed_at, billed_flag,
           SUM(role_delta) OVER (PARTITION BY workspace_id, account_id ORDER BY changed_at NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS roles_held,
           COUNT(billed_flag) OVER (PARTITION BY workspace_id, account_id ORDER BY changed_at NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS state_no
    FROM merged
),
stated AS (
    SELECT workspace_id, account_id, changed_at, roles_held,
           MAX(billed_flag) OVER (PARTITION BY workspace_id, account_id, state_no) AS billed_flag
    FROM running
),
counted AS (
    SELECT s.workspace_id, s.account_id, s.changed_at,
           CASE WHEN s.roles_held > 0 AND COALESCE(s.billed_flag, f.first_billed, 1) = 1 AND sa.account_id IS NULL
                THEN 1 ELSE 0 END AS counted
    FROM stated s
    LEFT JOIN first_states f ON f.account_id = s.account_id
    LEFT JOIN service_accounts sa ON sa.account_id = s.account_id
),
changes AS (
    SELECT workspace_id, changed_at,
           counted - COALESCE(LAG(counted) OVER (PARTITION BY workspace_id, account_id ORDER BY changed_at NULLS FIRST), 0) AS delta
    FROM counted
),
site_changes AS (
    SELECT workspace_id, changed_at, SUM(delta) AS delta
    FROM changes
    GROUP BY workspace_id, changed_at
)
SELECT workspace_id, changed_at,
       SUM(delta) OVER (PARTITION BY workspace_id ORDER BY changed_at NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS billed_holders
FROM site_changes
