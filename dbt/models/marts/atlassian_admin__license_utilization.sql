-- Licence utilization per product site, and in total: seats paid for, seats assigned and
-- billed, how many holders used the site lately, what the seats cost, what could be reclaimed,
-- and the smallest user tier that would do. One row per site, then one `total` row over the
-- paid sites. Suspended and deactivated holders are not billed: not_billed counts them, and they
-- count toward neither seats_billed, the right tier nor the money. New holders (seat or account
-- younger than inactive_days) who have not used the site yet are new_not_active, not reclaimable.
WITH per_site AS (
    SELECT workspace_id,
           COUNT(*) AS seats_assigned,
           SUM(CASE WHEN billed THEN 1 ELSE 0 END) AS seats_billed,
           SUM(CASE WHEN billed THEN 0 ELSE 1 END) AS not_billed,
           SUM(CASE WHEN billed AND active_recent THEN 1 ELSE 0 END) AS active_recent,
           SUM(CASE WHEN billed AND active_within_inactive_days THEN 1 ELSE 0 END) AS active_within_inactive_days,
           SUM(CASE WHEN new_not_active THEN 1 ELSE 0 END) AS new_not_active,
           SUM(CASE WHEN reclaimable THEN 1 ELSE 0 END) AS reclaimable,
           SUM(CASE WHEN reclaimable AND last_active IS NULL THEN 1 ELSE 0 END) AS never_active
    FROM {{ ref('int_atlassian_admin__seat_holders') }}
    GROUP BY workspace_id
),
-- Seats the site needs: the billed holders active within inactive_days and the new ones not
-- active yet, plus headroom_pct, rounded up.
needs AS (
    SELECT s.workspace_id, s.type_key,
           CASE WHEN s.paid_site
                THEN CAST(CEIL((COALESCE(ps.active_within_inactive_days, 0) + COALESCE(ps.new_not_active, 0)) * (100 + p.headroom_pct) / 100.0) AS INTEGER)
           END AS seats_needed
    FROM {{ ref('int_atlassian_admin__sites') }} s
    CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
    LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
),
-- The right tier: the smallest user tier of the product that holds seats_needed.
right_tiers AS (
    SELECT n.workspace_id, MIN(CAST(t.tier_users AS INTEGER)) AS right_tier
    FROM needs n
    JOIN {{ atlassian_admin.reference('user_tiers') }} t ON t.product_type_key = n.type_key AND CAST(t.tier_users AS INTEGER) >= n.seats_needed
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
           COALESCE(ps.seats_billed, 0)           AS seats_billed,
           COALESCE(ps.not_billed, 0)             AS not_billed,
           COALESCE(ps.active_recent, 0)          AS active_30d,
           COALESCE(ps.active_within_inactive_days, 0) AS active_90d,
           COALESCE(ps.new_not_active, 0)         AS new_not_active,
           COALESCE(ps.reclaimable, 0)            AS reclaimable,
           COALESCE(ps.never_active, 0)           AS never_active,
           ROUND(CAST(COALESCE(ps.seats_billed, 0) AS NUMERIC) / NULLIF(s.capacity, 0), 3) AS utilization,
           s.capacity - COALESCE(ps.seats_billed, 0) AS seats_unassigned,
           n.seats_needed                         AS seats_needed,
           rt.right_tier                          AS right_tier,
           s.capacity - rt.right_tier             AS tier_saving_seats,
           pr.price_per_seat_month                AS price_per_seat_month,
           pr.currency                            AS currency,
           s.capacity * pr.price_per_seat_month   AS cost_paid_month,
           COALESCE(ps.seats_billed, 0) * pr.price_per_seat_month AS cost_billed_month,
           COALESCE(ps.reclaimable, 0) * pr.price_per_seat_month AS cost_reclaimable_month,
           (s.capacity - rt.right_tier) * pr.price_per_seat_month AS tier_saving_month,
           CASE WHEN NOT s.paid_site THEN 'not paid'
                WHEN pr.price_per_seat_month IS NULL THEN 'no price'
                ELSE 'priced' END                 AS pricing,
           s.workspace_id                         AS workspace_id
    FROM {{ ref('int_atlassian_admin__sites') }} s
    JOIN needs n ON n.workspace_id = s.workspace_id
    LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
    LEFT JOIN right_tiers rt ON rt.workspace_id = s.workspace_id
    LEFT JOIN {{ ref('int_atlassian_admin__site_prices') }} pr ON pr.workspace_id = s.workspace_id
),
-- The total row: the paid sites only; money summed over the priced ones, when they share a currency.
total_row AS (
    SELECT CAST(NULL AS {{ atlassian_admin.type_text() }}) AS product,
           'Total (paid sites)'                   AS site_name,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS site_url,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS plan,
           TRUE                                   AS paid_site,
           SUM(capacity)                          AS capacity,
           SUM(seats_paid)                        AS seats_paid,
           SUM(seats_assigned)                    AS seats_assigned,
           SUM(seats_billed)                      AS seats_billed,
           SUM(not_billed)                        AS not_billed,
           SUM(active_30d)                        AS active_30d,
           SUM(active_90d)                        AS active_90d,
           SUM(new_not_active)                    AS new_not_active,
           SUM(reclaimable)                       AS reclaimable,
           SUM(never_active)                      AS never_active,
           ROUND(CAST(SUM(CASE WHEN seats_paid IS NOT NULL THEN seats_billed END) AS NUMERIC) / NULLIF(SUM(seats_paid), 0), 3) AS utilization,
           SUM(seats_unassigned)                  AS seats_unassigned,
           SUM(seats_needed)                      AS seats_needed,
           SUM(right_tier)                        AS right_tier,
           SUM(tier_saving_seats)                 AS tier_saving_seats,
           CAST(NULL AS DECIMAL(12, 4))           AS price_per_seat_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN MAX(currency) END AS currency,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(cost_paid_month) END AS cost_paid_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(cost_billed_month) END AS cost_billed_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(cost_reclaimable_month) END AS cost_reclaimable_month,
           CASE WHEN COUNT(DISTINCT currency) = 1 THEN SUM(tier_saving_month) END AS tier_saving_month,
           CASE WHEN COUNT(DISTINCT currency) > 1 THEN 'mixed currencies'
                WHEN COUNT(price_per_seat_month) = 0 THEN 'no price'
                WHEN COUNT(price_per_seat_month) < COUNT(*) THEN 'partly priced'
                ELSE 'priced' END                 AS pricing,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS workspace_id
    FROM site_rows
    WHERE paid_site
)
SELECT r.*, CASE WHEN r.workspace_id IS NULL THEN 'total' ELSE 'site' END AS row_type, b.as_of AS as_of
FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM total_row) r
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
ORDER BY CASE WHEN r.workspace_id IS NULL THEN 1 ELSE 0 END, r.product, r.site_url, r.workspace_id
