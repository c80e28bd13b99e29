-- Reclaimable seats: every user holding a billable seat on a product site who has not used
-- THAT site for `inactive_days` days (default 90), or never: candidates to remove, with what
-- each seat costs a month when seat_prices has the site's price, and where to remove them
-- from: the group(s) through which they hold the seat, or 'direct' (null when the groups
-- table is empty: the groups stream is not synced).
--
-- Runs unchanged on DuckDB and PostgreSQL over the stream tables and seat_prices (see
-- license_utilization.sql and docs/license-report.md): workspaces, license_assignments,
-- user_activity, users, groups (may be empty), seat_prices. Parses as Snowflake and BigQuery SQL (docs: the lines
-- those warehouses need changed).
-- Parameters: the `params` line, the same in every report file (see license_utilization.sql;
-- active_days, headroom_pct and trend_days are unused here).
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
-- users, deduplicated the same way: the latest version of each user, deleted users dropped.
current_users AS (
    SELECT account_id, name, email, status, groups
    FROM (
        SELECT account_id, name, email, status, groups, _ab_cdc_deleted_at,
               ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY CAST(observed_at AS TIMESTAMP) DESC NULLS LAST) AS row_no
        FROM users
    ) latest
    WHERE row_no = 1 AND _ab_cdc_deleted_at IS NULL
),
-- groups, deduplicated the same way: the latest version of each group, deleted groups dropped.
current_groups AS (
    SELECT id, name, billable_workspace_ids
    FROM (
        SELECT id, name, billable_workspace_ids, _ab_cdc_deleted_at,
               ROW_NUMBER() OVER (PARTITION BY id ORDER BY CAST(observed_at AS TIMESTAMP) DESC NULLS LAST) AS row_no
        FROM groups
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
holders AS (
    SELECT s.workspace_id, s.account_id,
           STRING_AGG(s.role, ',' ORDER BY s.role) AS roles,
           MAX(a.last_active) AS last_active
    FROM seats s
    LEFT JOIN activity a ON a.workspace_id = s.workspace_id AND a.account_id = s.account_id
    GROUP BY s.workspace_id, s.account_id
),
-- Through which group(s) each holder has the site's billable role: the holder's groups
-- (users.groups) that grant one there (groups.billable_workspace_ids). Both are JSON lists,
-- stored as JSON or as text depending on the destination: a quoted id in their text is the
-- test that carries to every warehouse (ids hold no quotes or escapes).
seat_groups AS (
    SELECT h.workspace_id, h.account_id,
           STRING_AGG(COALESCE(g.name, g.id), ', ' ORDER BY COALESCE(g.name, g.id)) AS via
    FROM holders h
    JOIN current_users u ON u.account_id = h.account_id
    JOIN current_groups g ON POSITION('"' || g.id || '"' IN CAST(u.groups AS TEXT)) > 0
                         AND POSITION('"' || h.workspace_id || '"' IN CAST(g.billable_workspace_ids AS TEXT)) > 0
    GROUP BY h.workspace_id, h.account_id
)
SELECT st.type_key                 AS product,
       st.host_url                 AS site_url,
       h.account_id                AS account_id,
       u.name                      AS name,
       u.email                     AS email,
       u.status                    AS user_status,
       h.roles                     AS roles,
       CASE WHEN EXISTS (SELECT 1 FROM current_groups) THEN COALESCE(sg.via, 'direct') END AS remove_from,
       h.last_active               AS last_active_on_site,
       CAST(b.as_of AS DATE) - CAST(h.last_active AS DATE) AS days_since_active,
       st.paid_site                AS paid_site,
       pr.price_per_seat_month     AS cost_month,
       pr.currency                 AS currency,
       h.workspace_id              AS workspace_id
FROM holders h
CROSS JOIN bounds b
JOIN sites st ON st.workspace_id = h.workspace_id
LEFT JOIN current_users u ON u.account_id = h.account_id
LEFT JOIN site_prices pr ON pr.workspace_id = h.workspace_id
LEFT JOIN seat_groups sg ON sg.workspace_id = h.workspace_id AND sg.account_id = h.account_id
WHERE h.last_active IS NULL OR h.last_active < b.inactive_before
ORDER BY product, site_url, last_active_on_site NULLS FIRST, account_id;
