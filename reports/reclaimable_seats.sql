-- Reclaimable seats: every user holding a billable seat on a product site who has not used
-- THAT site for `inactive_days` days (default 90), or never — candidates to remove.
--
-- Runs unchanged on DuckDB and PostgreSQL over the stream tables (see license_utilization.sql
-- and docs/license-report.md): workspaces, license_assignments, user_activity, users.
-- Parameters: edit the `params` line (as_of: see license_utilization.sql; active_days is
-- unused here but kept so both files share one params line).
WITH params AS (
    SELECT 30 AS active_days, 90 AS inactive_days, (SELECT MAX(CAST(last_active AS TIMESTAMP)) FROM user_activity) AS as_of
),
-- license_assignments, deduplicated: the latest row per primary key, removed seats dropped.
seats AS (
    SELECT workspace_id, account_id, role
    FROM (
        SELECT workspace_id, account_id, role, _ab_cdc_deleted_at,
               ROW_NUMBER() OVER (PARTITION BY workspace_id, account_id, role
                                  ORDER BY CAST(observed_at AS TIMESTAMP) DESC) AS row_no
        FROM license_assignments
    ) latest
    WHERE row_no = 1 AND _ab_cdc_deleted_at IS NULL
),
-- users, deduplicated the same way: the latest version of each user, deleted users dropped.
current_users AS (
    SELECT account_id, name, email, status
    FROM (
        SELECT account_id, name, email, status, _ab_cdc_deleted_at,
               ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY CAST(observed_at AS TIMESTAMP) DESC) AS row_no
        FROM users
    ) latest
    WHERE row_no = 1 AND _ab_cdc_deleted_at IS NULL
),
activity AS (
    SELECT workspace_id, account_id, MAX(CAST(last_active AS TIMESTAMP)) AS last_active
    FROM user_activity
    WHERE workspace_id IS NOT NULL
    GROUP BY workspace_id, account_id
),
holders AS (
    SELECT s.workspace_id, s.account_id,
           STRING_AGG(s.role, ',' ORDER BY s.role) AS roles,
           MAX(a.last_active) AS last_active
    FROM seats s
    LEFT JOIN activity a ON a.workspace_id = s.workspace_id AND a.account_id = s.account_id
    GROUP BY s.workspace_id, s.account_id
)
SELECT w.type_key                  AS product,
       w.host_url                  AS site_url,
       h.account_id                AS account_id,
       u.name                      AS name,
       u.email                     AS email,
       u.status                    AS user_status,
       h.roles                     AS roles,
       h.last_active               AS last_active_on_site,
       CAST(p.as_of AS DATE) - CAST(h.last_active AS DATE) AS days_since_active,
       h.workspace_id              AS workspace_id
FROM holders h
CROSS JOIN params p
JOIN workspaces w ON w.id = h.workspace_id
LEFT JOIN current_users u ON u.account_id = h.account_id
WHERE h.last_active IS NULL OR h.last_active < p.as_of - p.inactive_days * INTERVAL '1 day'
ORDER BY product, site_url, last_active_on_site NULLS FIRST, account_id;
