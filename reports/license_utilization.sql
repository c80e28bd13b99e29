-- Licence utilization per product site, and in total: seats paid for, seats assigned, how many
-- holders used the site lately, what the seats cost, and the smallest user tier that would do.
--
-- Runs unchanged on DuckDB and PostgreSQL over the tables a destination creates from the
-- streams (one table per stream, named after it; columns = the records' top-level fields;
-- timestamps as ISO-8601 text or as timestamps): workspaces, license_assignments, user_activity;
-- and over two small tables you load from reports/*.csv: seat_prices (may be empty: the money
-- columns are then null and `pricing` says so) and user_tiers. Parses as Snowflake and BigQuery
-- SQL; see docs/license-report.md for the few lines those warehouses need changed, and for what
-- every column means. One row per site, then one `total` row over the paid sites.
--
-- Parameters: edit the `params` line (the same line heads every report file).
--   active_days   "active lately" = last activity on the site within this many days (default 30)
--   inactive_days a seat is reclaimable when its holder has not used the site for this many
--                 days, or never (default 90)
--   headroom_pct  the right tier fits the users active within inactive_days plus this many
--                 percent (default 10)
--   billing_cycle which seat_prices rows apply: 'monthly' or 'annual' (default 'monthly')
--   trend_days    days in license_trend.sql's series (default 30; unused here)
--   as_of         the reference time; NULL (default) = the newest activity in user_activity (the
--                 data's own "now", so a report over a given sync is reproducible). Use
--                 CURRENT_TIMESTAMP for the wall clock, or a literal such as
--                 CAST('2026-11-01T00:00:00Z' AS TIMESTAMP).
WITH params AS (
    SELECT 30 AS active_days, 90 AS inactive_days, 10 AS headroom_pct, 'monthly' AS billing_cycle, 30 AS trend_days, CAST(NULL AS TIMESTAMP) AS as_of
),
-- user_activity, its one use in this file: each user's last activity on each site, as the
-- latest row of its (account_id, product_id) says — so any sync mode gives the same answer:
-- full refresh, append, append + dedup. A pair whose latest row is a deletion record
-- (_ab_cdc_deleted_at: the user removed or suspended, the access revoked) counts no more.
activity AS (
    SELECT workspace_id, account_id, CAST(last_active AS TIMESTAMP) AS last_active
    FROM (
        SELECT workspace_id, account_id, last_active, _ab_cdc_deleted_at,
               ROW_NUMBER() OVER (PARTITION BY account_id, product_id
                                  ORDER BY CAST(observed_at AS TIMESTAMP) DESC NULLS LAST) AS row_no
        FROM user_activity
    ) latest
    WHERE row_no = 1 AND _ab_cdc_deleted_at IS NULL AND workspace_id IS NOT NULL AND last_active IS NOT NULL
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
-- license_assignments, deduplicated: the latest row per primary key, removed seats dropped.
seats AS (
    SELECT workspace_id, account_id, role
    FROM (
        SELECT workspace_id, account_id, role, _ab_cdc_deleted_at,
               ROW_NUMBER() OVER (PARTITION BY workspace_id, account_id, role
                                  ORDER BY CAST(observed_at AS TIMESTAMP) DESC NULLS LAST) AS row_no
        FROM license_assignments
    ) latest
    WHERE row_no = 1 AND _ab_cdc_deleted_at IS NULL
),
-- The price of a seat on each paid site: the seat_prices row of its product, plan and the
-- billing_cycle parameter (matched case-insensitively; the highest if several match).
site_prices AS (
    SELECT s.workspace_id,
           MAX(CAST(pr.price_per_seat_month AS DECIMAL(12, 4))) AS price_per_seat_month,
           MAX(pr.currency) AS currency
    FROM sites s
    CROSS JOIN params p
    JOIN seat_prices pr ON pr.product_type_key = s.type_key AND LOWER(pr.plan) = LOWER(s.plan)
                        AND LOWER(pr.billing_cycle) = LOWER(p.billing_cycle)
    WHERE s.paid_site AND pr.price_per_seat_month IS NOT NULL
    GROUP BY s.workspace_id
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
           SUM(CASE WHEN h.last_active >= b.active_since THEN 1 ELSE 0 END) AS active_recent,
           SUM(CASE WHEN h.last_active >= b.inactive_before THEN 1 ELSE 0 END) AS active_within_inactive_days,
           SUM(CASE WHEN h.last_active IS NULL OR h.last_active < b.inactive_before THEN 1 ELSE 0 END) AS reclaimable,
           SUM(CASE WHEN h.last_active IS NULL THEN 1 ELSE 0 END) AS never_active
    FROM holders h
    CROSS JOIN bounds b
    GROUP BY h.workspace_id
),
-- Seats the site needs: the holders active within inactive_days, plus headroom_pct, rounded up.
needs AS (
    SELECT s.workspace_id, s.type_key,
           CASE WHEN s.paid_site
                THEN CAST(CEIL(COALESCE(ps.active_within_inactive_days, 0) * (100 + p.headroom_pct) / 100.0) AS INTEGER)
           END AS seats_needed
    FROM sites s
    CROSS JOIN params p
    LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
),
-- The right tier: the smallest user tier of the product that holds seats_needed.
right_tiers AS (
    SELECT n.workspace_id, MIN(CAST(t.tier_users AS INTEGER)) AS right_tier
    FROM needs n
    JOIN user_tiers t ON t.product_type_key = n.type_key AND CAST(t.tier_users AS INTEGER) >= n.seats_needed
    GROUP BY n.workspace_id
),
site_rows AS (
    SELECT s.type_key                             AS product,
           s.name                                 AS site_name,
           s.host_url                             AS site_url,
           s.plan                                 AS plan,
           s.paid_site                            AS paid_site,
           s.capacity                             AS capacity,
           CASE WHEN s.paid_site THEN s.capacity END AS seats_paid,
           COALESCE(ps.seats_assigned, 0)         AS seats_assigned,
           COALESCE(ps.active_recent, 0)          AS active_30d,
           COALESCE(ps.active_within_inactive_days, 0) AS active_90d,
           COALESCE(ps.reclaimable, 0)            AS reclaimable,
           COALESCE(ps.never_active, 0)           AS never_active,
           ROUND(CAST(COALESCE(ps.seats_assigned, 0) AS NUMERIC) / NULLIF(s.capacity, 0), 3) AS utilization,
           s.capacity - COALESCE(ps.seats_assigned, 0) AS seats_unassigned,
           n.seats_needed                         AS seats_needed,
           rt.right_tier                          AS right_tier,
           s.capacity - rt.right_tier             AS tier_saving_seats,
           pr.price_per_seat_month                AS price_per_seat_month,
           pr.currency                            AS currency,
           s.capacity * pr.price_per_seat_month   AS cost_paid_month,
           COALESCE(ps.seats_assigned, 0) * pr.price_per_seat_month AS cost_assigned_month,
           COALESCE(ps.reclaimable, 0) * pr.price_per_seat_month AS cost_reclaimable_month,
           (s.capacity - rt.right_tier) * pr.price_per_seat_month AS tier_saving_month,
           CASE WHEN NOT s.paid_site THEN 'not paid'
                WHEN pr.price_per_seat_month IS NULL THEN 'no price'
                ELSE 'priced' END                 AS pricing,
           s.workspace_id                         AS workspace_id
    FROM sites s
    JOIN needs n ON n.workspace_id = s.workspace_id
    LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
    LEFT JOIN right_tiers rt ON rt.workspace_id = s.workspace_id
    LEFT JOIN site_prices pr ON pr.workspace_id = s.workspace_id
),
-- The total row: the paid sites only; money summed over the priced ones, when they share a currency.
total_row AS (
    SELECT NULL                                   AS product,
           'Total (paid sites)'                   AS site_name,
           NULL                                   AS site_url,
           NULL                                   AS plan,
           TRUE                                   AS paid_site,
           SUM(capacity)                          AS capacity,
           SUM(seats_paid)                        AS seats_paid,
           SUM(seats_assigned)                    AS seats_assigned,
           SUM(active_30d)                        AS active_30d,
           SUM(active_90d)                        AS active_90d,
           SUM(reclaimable)                       AS reclaimable,
           SUM(never_active)                      AS never_active,
           ROUND(CAST(SUM(CASE WHEN seats_paid IS NOT NULL THEN seats_assigned END) AS NUMERIC) / NULLIF(SUM(seats_paid), 0), 3) AS utilization,
           SUM(seats_unassigned)                  AS seats_unassigned,
           SUM(seats_needed)                      AS seats_needed,
           SUM(right_tier)                        AS right_tier,
           SUM(tier_saving_seats)                 AS tier_saving_seats,
           CAST(NULL AS DECIMAL(12, 4))           AS price_per_seat_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN MAX(currency) END AS currency,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(cost_paid_month) END AS cost_paid_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(cost_assigned_month) END AS cost_assigned_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(cost_reclaimable_month) END AS cost_reclaimable_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(tier_saving_month) END AS tier_saving_month,
           CASE WHEN COUNT(DISTINCT currency) > 1 THEN 'mixed currencies'
                WHEN COUNT(price_per_seat_month) = 0 THEN 'no price'
                WHEN COUNT(price_per_seat_month) < COUNT(*) THEN 'partly priced'
                ELSE 'priced' END                 AS pricing,
           NULL                                   AS workspace_id
    FROM site_rows
    WHERE paid_site
)
SELECT r.*, CASE WHEN r.workspace_id IS NULL THEN 'total' ELSE 'site' END AS row_type, b.as_of AS as_of
FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM total_row) r
CROSS JOIN bounds b
ORDER BY CASE WHEN r.workspace_id IS NULL THEN 1 ELSE 0 END, r.product, r.site_url, r.workspace_id;
