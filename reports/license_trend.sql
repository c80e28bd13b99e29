-- The trend: per site and day, the seats assigned at the end of the day and how many of their
-- holders had used the site within active_days (default 30) days, for the last trend_days days
-- (default 30) of the history. Built from the appended history of license_assignments (each
-- row's observed_at; deletion rows with _ab_cdc_deleted_at) and of user_activity: sync them
-- incrementally in APPEND mode (append + dedup keeps no history; see docs/license-report.md).
--
-- Runs unchanged on DuckDB and PostgreSQL; parses as Snowflake and BigQuery SQL (BigQuery needs
-- DATE_ADD / DATE_SUB for the date arithmetic: see the docs). One row per site and day, from
-- the first day observed (or trend_days before the last) to the later of the newest observed_at
-- and as_of. Days are UTC calendar days.
-- Parameters: the `params` line, the same in every report file (see license_utilization.sql;
-- inactive_days, headroom_pct and billing_cycle are unused here).
WITH params AS (
    SELECT 30 AS active_days, 90 AS inactive_days, 10 AS headroom_pct, 'monthly' AS billing_cycle, 30 AS trend_days, CAST(NULL AS TIMESTAMP) AS as_of
),
-- user_activity, its one use in this file: every day a user was active on a site, as the
-- history recorded it (each row's last_active; a deletion record says nothing of activity, and
-- the activity it ends was real until then).
activity AS (
    SELECT DISTINCT workspace_id, account_id, CAST(last_active AS TIMESTAMP) AS last_active
    FROM user_activity
    WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL AND _ab_cdc_deleted_at IS NULL
),
-- The time windows end at as_of; the only interval arithmetic of the file.
bounds AS (
    SELECT as_of,
           as_of - active_days * INTERVAL '1 day' AS active_since,
           as_of - inactive_days * INTERVAL '1 day' AS inactive_before
    FROM (SELECT p.active_days, p.inactive_days,
                 COALESCE(p.as_of, (SELECT MAX(last_active) FROM activity)) AS as_of
          FROM params p) resolved
),
-- The report's sites: the ones license_assignments reads (a sandbox copy, sandbox_type CHILD,
-- and an offline site hold no seats). A PAID site is one of them whose plan is known and not
-- Free: only paid sites have money and tier figures and count in the totals.
sites AS (
    SELECT id AS workspace_id, type_key, name, host_url, plan, capacity,
           CASE WHEN plan IS NOT NULL AND LOWER(plan) <> 'free' THEN TRUE ELSE FALSE END AS paid_site
    FROM workspaces
    WHERE COALESCE(sandbox_type, 'NONE') <> 'CHILD' AND COALESCE(status, 'online') <> 'offline'
),
-- Each license_assignments row holds from the day it was observed until the day the next row of
-- the same seat was (a deletion row holds "no seat").
seat_spans AS (
    SELECT workspace_id, account_id, _ab_cdc_deleted_at,
           CAST(CAST(observed_at AS TIMESTAMP) AS DATE) AS from_day,
           CAST(LEAD(CAST(observed_at AS TIMESTAMP)) OVER (PARTITION BY workspace_id, account_id, role
                                                           ORDER BY CAST(observed_at AS TIMESTAMP)) AS DATE) AS until_day
    FROM license_assignments
),
span AS (
    SELECT GREATEST(MIN(ss.from_day), GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)) - (p.trend_days - 1)) AS first_day,
           GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)) AS last_day
    FROM seat_spans ss
    CROSS JOIN params p
    CROSS JOIN bounds b
    GROUP BY p.trend_days, b.as_of
),
-- 0..999 (no generate_series: not every warehouse has it).
digits AS (
    SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9
),
days AS (
    SELECT sp.first_day + (h.n * 100 + t.n * 10 + u.n) AS day
    FROM span sp
    CROSS JOIN digits h CROSS JOIN digits t CROSS JOIN digits u
    WHERE h.n * 100 + t.n * 10 + u.n <= sp.last_day - sp.first_day
),
-- Who held a billable seat on each site at the end of each day (both roles count once).
held AS (
    SELECT DISTINCT d.day, ss.workspace_id, ss.account_id
    FROM days d
    JOIN seat_spans ss ON ss.from_day <= d.day AND (ss.until_day IS NULL OR ss.until_day > d.day)
    WHERE ss._ab_cdc_deleted_at IS NULL
),
-- Of those, who had been active on the site on one of the active_days days up to that day.
active AS (
    SELECT DISTINCT h.day, h.workspace_id, h.account_id
    FROM held h
    CROSS JOIN params p
    JOIN activity a ON a.workspace_id = h.workspace_id AND a.account_id = h.account_id
    WHERE CAST(a.last_active AS DATE) <= h.day AND CAST(a.last_active AS DATE) > h.day - p.active_days
),
per_day AS (
    SELECT h.day, h.workspace_id, COUNT(*) AS seats_assigned, COUNT(a.account_id) AS seats_active
    FROM held h
    LEFT JOIN active a ON a.day = h.day AND a.workspace_id = h.workspace_id AND a.account_id = h.account_id
    GROUP BY h.day, h.workspace_id
)
SELECT s.type_key                      AS product,
       s.name                          AS site_name,
       s.host_url                      AS site_url,
       s.paid_site                     AS paid_site,
       d.day                           AS day,
       COALESCE(pd.seats_assigned, 0)  AS seats_assigned,
       COALESCE(pd.seats_active, 0)    AS seats_active,
       CASE WHEN s.paid_site THEN s.capacity END AS seats_paid_now,
       s.workspace_id                  AS workspace_id
FROM sites s
CROSS JOIN days d
LEFT JOIN per_day pd ON pd.workspace_id = s.workspace_id AND pd.day = d.day
ORDER BY product, site_url, workspace_id, day;
