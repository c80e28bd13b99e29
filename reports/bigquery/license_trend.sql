-- The trend: per site and day, the seats assigned at the end of the day and how many of their
-- holders had used the site within active_days days, for the last trend_days days of the
-- history. Built from the appended history of license_assignments and user_activity: sync them
-- incrementally in append mode (append + dedup keeps no history; see docs/license-report.md).
-- One row per site and day, from the first day observed (or trend_days before the last) to the
-- later of the newest observed_at and as_of. Days are UTC calendar days.
--
-- GENERATED from dbt/models/marts/atlassian_admin__license_trend.sql by scripts/generate-reports.py: edit the model
-- and run the script, not this file. The BigQuery form (the package's bigquery__ macros) over one table per stream, named
-- after it (users, user_activity, workspaces, license_assignments; groups, audit_events,
-- domains, api_tokens, service_accounts, seat_counts, empty when not synced), and the
-- reference tables seat_prices, user_tiers, contracts, unseen_products and free_plans
-- (dbt/seeds/*.csv, or your own).
-- Parameters: the SELECT line of __dbt__cte__int_atlassian_admin__params below
-- (docs/license-report.md says what each means).
WITH  __dbt__cte__stg_atlassian_admin__license_assignments as (
-- The license_assignments stream as loaded: every row (each version of a billable role held on
-- a site, deletion records too), every column typed. int_atlassian_admin__license_assignments
-- keeps the seats held now; atlassian_admin__license_assignment_history reads every row.
SELECT
    CAST(s.workspace_id AS STRING) AS workspace_id,
    CAST(s.account_id AS STRING) AS account_id,
    CAST(s.role AS STRING) AS role,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM license_assignments s
),  __dbt__cte__atlassian_admin__license_assignment_history as (
-- Every version of every seat the table holds, with the span it held for: from its observed_at
-- until the next row of the same seat (a deletion row holds "no seat"), and held_since: when
-- the holding that the row belongs to began (the first row after a deletion, or the first row).
-- Appended syncs keep the whole history; append + dedup and full refresh keep the latest row,
-- whose observed_at is then when the current holding was first seen.
WITH rows_in_order AS (
    SELECT workspace_id, account_id, role, observed_at,
           CASE WHEN _ab_cdc_deleted_at IS NULL THEN FALSE ELSE TRUE END AS is_deletion
    FROM __dbt__cte__stg_atlassian_admin__license_assignments
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
),  __dbt__cte__int_atlassian_admin__params as (
-- The report's parameters (dbt vars; in reports/*.sql, the line to edit).
SELECT 30 AS active_days, 90 AS inactive_days, 10 AS headroom_pct, 'monthly' AS billing_cycle, 30 AS trend_days, CAST(NULL AS TIMESTAMP) AS as_of, FALSE AS unseen_in_savings
),  __dbt__cte__stg_atlassian_admin__user_activity as (
-- The user_activity stream as loaded: every row (each version of a user's last activity on a
-- product site, deletion records too), every column typed. int_atlassian_admin__activity keeps
-- the current pairs.
SELECT
    CAST(s.account_id AS STRING) AS account_id,
    CAST(s.product_id AS STRING) AS product_id,
    CAST(s.workspace_id AS STRING) AS workspace_id,
    CAST(s.last_active AS TIMESTAMP) AS last_active,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM user_activity s
),  __dbt__cte__int_atlassian_admin__activity as (
-- Each user's last activity on each site now: the latest row of each (account_id, product_id),
-- pairs whose latest row is a deletion record dropped; pairs with a site and a time.
SELECT workspace_id, account_id, last_active
FROM (SELECT account_id, product_id, workspace_id, last_active
FROM (
    SELECT account_id, product_id, workspace_id, last_active, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY account_id, product_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__user_activity
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1) current_activity
WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL
),  __dbt__cte__int_atlassian_admin__bounds as (
-- The time windows, which end at as_of: the as_of var, else the newest activity in the data
-- (the data's own "now", so a report over a given sync is reproducible).
SELECT as_of,
       TIMESTAMP_SUB(as_of, INTERVAL active_days DAY) AS active_since,
       TIMESTAMP_SUB(as_of, INTERVAL inactive_days DAY) AS inactive_before
FROM (SELECT p.active_days, p.inactive_days,
             COALESCE(p.as_of, (SELECT MAX(last_active) FROM __dbt__cte__int_atlassian_admin__activity)) AS as_of
      FROM __dbt__cte__int_atlassian_admin__params p) resolved
),  __dbt__cte__atlassian_admin__activity_history as (
-- Every last-activity time the user_activity table recorded per user and site (each row's
-- last_active; a deletion record says nothing of activity, and the activity it ends was real).
SELECT DISTINCT workspace_id, account_id, last_active
FROM __dbt__cte__stg_atlassian_admin__user_activity
WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL AND _ab_cdc_deleted_at IS NULL
),  __dbt__cte__stg_atlassian_admin__workspaces as (
-- The workspaces stream (product sites) as loaded, every column typed; id as workspace_id. A
-- table synced in append mode holds a copy per sync: int_atlassian_admin__sites keeps the latest.
SELECT
    CAST(s.id AS STRING) AS workspace_id,
    CAST(s.name AS STRING) AS name,
    CAST(s.type_key AS STRING) AS type_key,
    CAST(s.status AS STRING) AS status,
    CAST(s.host_url AS STRING) AS host_url,
    CAST(s.capacity AS INT64) AS capacity,
    CAST(s.plan AS STRING) AS plan,
    CAST(s.sandbox_type AS STRING) AS sandbox_type,
    CAST(NULL AS TIMESTAMP) AS _airbyte_extracted_at
FROM workspaces s
),  __dbt__cte__int_atlassian_admin__sites as (
-- The report's sites: the ones license_assignments reads (a sandbox copy, sandbox_type CHILD,
-- and an offline site hold no seats). A paid site is one whose plan is known and not Free:
-- only paid sites have money and tier figures and count in the totals. workspaces is read in
-- full every sync: a table synced in append mode holds a copy per sync, of which the latest
-- extracted one counts (_airbyte_extracted_at; a plain table, where it is null, has one copy;
-- `row_no <= 1`, not `= 1`: see current_rows).
SELECT workspace_id, type_key, name, host_url, plan, capacity,
       CASE WHEN plan IS NOT NULL AND LOWER(plan) <> 'free' THEN TRUE ELSE FALSE END AS paid_site
FROM (
    SELECT workspace_id, type_key, name, host_url, plan, capacity, sandbox_type, status,
           ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY _airbyte_extracted_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__workspaces
) latest
WHERE row_no <= 1 AND COALESCE(sandbox_type, 'NONE') <> 'CHILD' AND COALESCE(status, 'online') <> 'offline'
), seat_spans AS (
    SELECT workspace_id, account_id, is_deletion,
           CAST(observed_at AS DATE) AS from_day,
           CAST(superseded_at AS DATE) AS until_day
    FROM __dbt__cte__atlassian_admin__license_assignment_history
),
span AS (
    SELECT GREATEST(MIN(ss.from_day), DATE_ADD(GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)), INTERVAL -(p.trend_days - 1) DAY)) AS first_day,
           GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)) AS last_day
    FROM seat_spans ss
    CROSS JOIN __dbt__cte__int_atlassian_admin__params p
    CROSS JOIN __dbt__cte__int_atlassian_admin__bounds b
    GROUP BY p.trend_days, b.as_of
),
-- 0..999 (no generate_series: not every warehouse has it).
digits AS (
    SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9
),
days AS (
    SELECT DATE_ADD(sp.first_day, INTERVAL (h.n * 100 + t.n * 10 + u.n) DAY) AS day
    FROM span sp
    CROSS JOIN digits h CROSS JOIN digits t CROSS JOIN digits u
    WHERE h.n * 100 + t.n * 10 + u.n <= DATE_DIFF(sp.last_day, sp.first_day, DAY)
),
-- Who held a billable seat on each site at the end of each day (both roles count once).
held AS (
    SELECT DISTINCT d.day, ss.workspace_id, ss.account_id
    FROM days d
    JOIN seat_spans ss ON ss.from_day <= d.day AND (ss.until_day IS NULL OR ss.until_day > d.day)
    WHERE NOT ss.is_deletion
),
-- Of those, who had been active on the site on one of the active_days days up to that day.
active AS (
    SELECT DISTINCT h.day, h.workspace_id, h.account_id
    FROM held h
    CROSS JOIN __dbt__cte__int_atlassian_admin__params p
    JOIN __dbt__cte__atlassian_admin__activity_history a ON a.workspace_id = h.workspace_id AND a.account_id = h.account_id
    WHERE CAST(a.last_active AS DATE) <= h.day AND CAST(a.last_active AS DATE) > DATE_ADD(h.day, INTERVAL -p.active_days DAY)
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
FROM __dbt__cte__int_atlassian_admin__sites s
CROSS JOIN days d
LEFT JOIN per_day pd ON pd.workspace_id = s.workspace_id AND pd.day = d.day
ORDER BY product, site_url, workspace_id, day;
