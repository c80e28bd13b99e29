-- Licence utilization per product site, and in total: seats paid for, seats assigned and
-- billed, every seat holder counted in one category (active, active through the API, new,
-- unseen, reclaimable; not billed; service accounts), what the seats cost, what could be
-- reclaimed, the smallest user tier that would do, the external holders, and Atlassian's own
-- seat count beside the report's. One row per site, then one `total` row over the paid sites.
-- Service accounts and suspended or deactivated holders are not billed: they count toward
-- neither seats_billed, the right tier nor the money. Only reclaimable seats are priced as a
-- saving (and unseen ones when unseen_in_savings is set).
WITH site_rows AS (
    SELECT f.type_key                             AS product,
           f.name                                 AS site_name,
           f.host_url                             AS site_url,
           f.plan                                 AS plan,
           f.paid_site                            AS paid_site,
           f.capacity                             AS capacity,
           CASE WHEN f.paid_site THEN f.capacity END AS seats_paid,
           f.seats_assigned                       AS seats_assigned,
           f.seats_billed                         AS seats_billed,
           f.not_billed                           AS not_billed,
           f.service_accounts                     AS service_accounts,
           f.active_recent                        AS active_30d,
           f.active                               AS active_90d,
           f.active_via_api                       AS active_via_api,
           f.new_not_active                       AS new_not_active,
           f.unseen                               AS unseen,
           f.reclaimable                          AS reclaimable,
           f.never_active                         AS never_active,
           f.external_holders                     AS external_holders,
           ROUND(CAST(f.seats_billed AS NUMERIC) / NULLIF(f.capacity, 0), 3) AS utilization,
           f.capacity - f.seats_billed            AS seats_unassigned,
           f.seats_needed                         AS seats_needed,
           f.right_tier                           AS right_tier,
           f.capacity - f.right_tier              AS tier_saving_seats,
           f.price_per_seat_month                 AS price_per_seat_month,
           f.currency                             AS currency,
           f.capacity * f.price_per_seat_month    AS cost_paid_month,
           f.seats_billed * f.price_per_seat_month AS cost_billed_month,
           f.seats_to_reclaim * f.price_per_seat_month AS cost_reclaimable_month,
           (f.capacity - f.right_tier) * f.price_per_seat_month AS tier_saving_month,
           CASE WHEN NOT f.paid_site THEN 'not paid'
                WHEN f.price_per_seat_month IS NULL THEN 'no price'
                ELSE 'priced' END                 AS pricing,
           f.atlassian_seat_count                 AS atlassian_seat_count,
           f.report_seat_count                    AS report_seat_count,
           f.counts_agree                         AS counts_agree,
           f.workspace_id                         AS workspace_id
    FROM {{ ref('int_atlassian_admin__site_figures') }} f
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
           SUM(service_accounts)                  AS service_accounts,
           SUM(active_30d)                        AS active_30d,
           SUM(active_90d)                        AS active_90d,
           SUM(active_via_api)                    AS active_via_api,
           SUM(new_not_active)                    AS new_not_active,
           SUM(unseen)                            AS unseen,
           SUM(reclaimable)                       AS reclaimable,
           SUM(never_active)                      AS never_active,
           SUM(external_holders)                  AS external_holders,
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
           SUM(atlassian_seat_count)              AS atlassian_seat_count,
           SUM(CASE WHEN atlassian_seat_count IS NOT NULL THEN report_seat_count END) AS report_seat_count,
           CASE WHEN COUNT(counts_agree) = 0 THEN NULL
                WHEN MIN(CASE WHEN counts_agree THEN 1 ELSE 0 END) = 1 THEN TRUE
                ELSE FALSE END                    AS counts_agree,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS workspace_id
    FROM site_rows
    WHERE paid_site
)
SELECT r.*, CASE WHEN r.workspace_id IS NULL THEN 'total' ELSE 'site' END AS row_type, b.as_of AS as_of
FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM total_row) r
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
ORDER BY CASE WHEN r.workspace_id IS NULL THEN 1 ELSE 0 END, r.product, r.site_url, r.workspace_id
