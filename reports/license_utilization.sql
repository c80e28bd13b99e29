-- Licence utilization per product site: seats paid for, seats assigned, and how many of the
-- users holding a seat used that site lately.
--
-- Runs unchanged on DuckDB and PostgreSQL over the tables a destination creates from the
-- streams (one table per stream, named after it; columns = the records' top-level fields;
-- timestamps as ISO-8601 text): workspaces, license_assignments, user_activity.
-- Incremental (append / append + dedup) tables are deduplicated below, so any sync mode works.
-- See docs/license-report.md for what each column means.
--
-- Parameters: edit the `params` line.
--   active_days   "active lately" = last activity on the site within this many days (default 30)
--   inactive_days a seat is reclaimable when its holder has not used the site for this many
--                 days, or never (default 90)
--   as_of         the reference time; default: the newest activity in user_activity (the
--                 data's own "now", so a report over a given sync is reproducible). Use
--                 CURRENT_TIMESTAMP to measure against the wall clock instead, or a literal
--                 such as CAST('2026-11-01T00:00:00Z' AS TIMESTAMP).
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
-- Last activity per user and site (the newest row wins, which also deduplicates).
activity AS (
    SELECT workspace_id, account_id, MAX(CAST(last_active AS TIMESTAMP)) AS last_active
    FROM user_activity
    WHERE workspace_id IS NOT NULL
    GROUP BY workspace_id, account_id
),
-- One row per user holding a billable seat on a site (atlassian/user and atlassian/admin
-- on the same site count once), with their last activity on THAT site.
holders AS (
    SELECT s.workspace_id, s.account_id, MAX(a.last_active) AS last_active
    FROM (SELECT DISTINCT workspace_id, account_id FROM seats) s
    LEFT JOIN activity a ON a.workspace_id = s.workspace_id AND a.account_id = s.account_id
    GROUP BY s.workspace_id, s.account_id
),
per_site AS (
    SELECT h.workspace_id,
           COUNT(*) AS seats_assigned,
           SUM(CASE WHEN h.last_active >= p.as_of - p.active_days * INTERVAL '1 day' THEN 1 ELSE 0 END) AS active_recent,
           SUM(CASE WHEN h.last_active >= p.as_of - p.inactive_days * INTERVAL '1 day' THEN 1 ELSE 0 END) AS active_within_inactive_days,
           SUM(CASE WHEN h.last_active IS NULL OR h.last_active < p.as_of - p.inactive_days * INTERVAL '1 day' THEN 1 ELSE 0 END) AS reclaimable,
           SUM(CASE WHEN h.last_active IS NULL THEN 1 ELSE 0 END) AS never_active
    FROM holders h
    CROSS JOIN params p
    GROUP BY h.workspace_id
)
SELECT w.type_key                             AS product,
       w.name                                 AS site_name,
       w.host_url                             AS site_url,
       w.plan                                 AS plan,
       w.capacity                             AS seats_paid,
       COALESCE(ps.seats_assigned, 0)         AS seats_assigned,
       COALESCE(ps.active_recent, 0)          AS active_30d,
       COALESCE(ps.active_within_inactive_days, 0) AS active_90d,
       COALESCE(ps.reclaimable, 0)            AS reclaimable,
       COALESCE(ps.never_active, 0)           AS never_active,
       ROUND(CAST(COALESCE(ps.seats_assigned, 0) AS NUMERIC) / NULLIF(w.capacity, 0), 3) AS utilization,
       w.capacity - COALESCE(ps.seats_assigned, 0) AS seats_unassigned,
       w.id                                   AS workspace_id,
       (SELECT as_of FROM params)             AS as_of
FROM workspaces w
LEFT JOIN per_site ps ON ps.workspace_id = w.id
-- The sites license_assignments reads: sandbox copies and offline sites hold no paid seats.
WHERE COALESCE(w.sandbox_type, 'NONE') <> 'CHILD' AND COALESCE(w.status, 'online') <> 'offline'
ORDER BY product, site_url, workspace_id;
