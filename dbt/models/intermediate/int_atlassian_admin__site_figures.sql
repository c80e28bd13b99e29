-- Per report site: its seat holders counted by category, the seats it needs and the user tiers
-- that would hold them, its price, its external holders, and Atlassian's own seat count beside
-- the report's (the marts atlassian_admin__license_utilization and atlassian_admin__bill read it).
WITH per_site AS (
    SELECT workspace_id,
           COUNT(*) AS seats_assigned,
           SUM(CASE WHEN billed THEN 1 ELSE 0 END) AS seats_billed,
           SUM(CASE WHEN category = 'not_billed' THEN 1 ELSE 0 END) AS not_billed,
           SUM(CASE WHEN category = 'service_account' THEN 1 ELSE 0 END) AS service_accounts,
           SUM(CASE WHEN category = 'active' AND active_recent THEN 1 ELSE 0 END) AS active_recent,
           SUM(CASE WHEN category = 'active' THEN 1 ELSE 0 END) AS active,
           SUM(CASE WHEN category = 'active_via_api' THEN 1 ELSE 0 END) AS active_via_api,
           SUM(CASE WHEN category = 'new' THEN 1 ELSE 0 END) AS new_not_active,
           SUM(CASE WHEN category = 'unseen' THEN 1 ELSE 0 END) AS unseen,
           SUM(CASE WHEN category = 'reclaimable' THEN 1 ELSE 0 END) AS reclaimable,
           SUM(CASE WHEN category = 'reclaimable' AND last_active IS NULL THEN 1 ELSE 0 END) AS never_active,
           SUM(CASE WHEN billed AND external THEN 1 ELSE 0 END) AS external_holders,
           COUNT(CASE WHEN billed AND external IS NULL THEN 1 END) AS external_unknown
    FROM {{ ref('int_atlassian_admin__seat_holders') }}
    GROUP BY workspace_id
),
-- The report's holders per site and billable role, beside Atlassian's count of the same.
role_counts AS (
    SELECT workspace_id, role, COUNT(DISTINCT account_id) AS holders
    FROM {{ ref('int_atlassian_admin__license_assignments') }}
    GROUP BY workspace_id, role
),
reconciled AS (
    SELECT c.workspace_id,
           SUM(c.seat_count) AS atlassian_seat_count,
           SUM(COALESCE(r.holders, 0)) AS role_seat_count,
           SUM(CASE WHEN c.seat_count = COALESCE(r.holders, 0) THEN 0 ELSE 1 END) AS roles_differing
    FROM {{ ref('int_atlassian_admin__seat_counts') }} c
    LEFT JOIN role_counts r ON r.workspace_id = c.workspace_id AND r.role = c.role
    GROUP BY c.workspace_id
),
-- A role the report has holders for and Atlassian no count of, on a site it counts.
uncounted AS (
    SELECT r.workspace_id, SUM(r.holders) AS holders
    FROM role_counts r
    WHERE r.workspace_id IN (SELECT workspace_id FROM {{ ref('int_atlassian_admin__seat_counts') }})
      AND NOT EXISTS (SELECT 1 FROM {{ ref('int_atlassian_admin__seat_counts') }} c WHERE c.workspace_id = r.workspace_id AND c.role = r.role)
    GROUP BY r.workspace_id
),
-- Seats the site needs: the billed holders it keeps (active, active through the API, new, and
-- unseen unless unseen_in_savings), plus headroom_pct, rounded up.
needs AS (
    SELECT s.workspace_id, s.type_key,
           COALESCE(ps.active, 0) + COALESCE(ps.active_via_api, 0) + COALESCE(ps.new_not_active, 0)
             + CASE WHEN p.unseen_in_savings THEN 0 ELSE COALESCE(ps.unseen, 0) END AS seats_kept,
           CASE WHEN s.paid_site
                THEN CAST(CEIL((COALESCE(ps.active, 0) + COALESCE(ps.active_via_api, 0) + COALESCE(ps.new_not_active, 0)
                                + CASE WHEN p.unseen_in_savings THEN 0 ELSE COALESCE(ps.unseen, 0) END)
                               * (100 + p.headroom_pct) / 100.0) AS INTEGER)
           END AS seats_needed
    FROM {{ ref('int_atlassian_admin__sites') }} s
    CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
    LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
),
tiers AS (
    SELECT CAST(product_type_key AS {{ atlassian_admin.type_text() }}) AS product_type_key, CAST(tier_users AS INTEGER) AS tier_users
    FROM {{ atlassian_admin.reference('user_tiers') }}
),
-- The right tier: the smallest user tier of the product that holds seats_needed.
right_tiers AS (
    SELECT n.workspace_id, MIN(t.tier_users) AS right_tier
    FROM needs n
    JOIN tiers t ON t.product_type_key = n.type_key AND t.tier_users >= n.seats_needed
    GROUP BY n.workspace_id
),
-- The tier below the one paid for (the capacity): the largest tier of the product under it.
lower_tiers AS (
    SELECT s.workspace_id, MAX(t.tier_users) AS lower_tier
    FROM {{ ref('int_atlassian_admin__sites') }} s
    JOIN tiers t ON t.product_type_key = s.type_key AND t.tier_users < s.capacity
    WHERE s.paid_site
    GROUP BY s.workspace_id
),
free_plans AS (
    SELECT CAST(product_type_key AS {{ atlassian_admin.type_text() }}) AS product_type_key, MIN(CAST(free_users AS INTEGER)) AS free_users
    FROM {{ atlassian_admin.reference('free_plans') }}
    GROUP BY CAST(product_type_key AS {{ atlassian_admin.type_text() }})
)
SELECT s.workspace_id, s.type_key, s.name, s.host_url, s.plan, s.paid_site, s.capacity,
       COALESCE(ps.seats_assigned, 0) AS seats_assigned,
       COALESCE(ps.seats_billed, 0) AS seats_billed,
       COALESCE(ps.not_billed, 0) AS not_billed,
       COALESCE(ps.service_accounts, 0) AS service_accounts,
       COALESCE(ps.active_recent, 0) AS active_recent,
       COALESCE(ps.active, 0) AS active,
       COALESCE(ps.active_via_api, 0) AS active_via_api,
       COALESCE(ps.new_not_active, 0) AS new_not_active,
       COALESCE(ps.unseen, 0) AS unseen,
       COALESCE(ps.reclaimable, 0) AS reclaimable,
       COALESCE(ps.never_active, 0) AS never_active,
       -- What a saving counts: the reclaimable seats, and the unseen ones when unseen_in_savings.
       COALESCE(ps.reclaimable, 0) + CASE WHEN p.unseen_in_savings THEN COALESCE(ps.unseen, 0) ELSE 0 END AS seats_to_reclaim,
       CASE WHEN NOT EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__domains') }}) THEN NULL
            ELSE COALESCE(ps.external_holders, 0) END AS external_holders,
       n.seats_kept, n.seats_needed, rt.right_tier, lt.lower_tier,
       fp.free_users AS free_plan_users,
       CASE WHEN s.paid_site AND fp.free_users IS NOT NULL THEN
            CASE WHEN n.seats_needed <= fp.free_users THEN TRUE ELSE FALSE END END AS could_be_free,
       pr.price_per_seat_month, pr.currency,
       rc.atlassian_seat_count,
       rc.role_seat_count + COALESCE(uc.holders, 0) AS report_seat_count,
       CASE WHEN rc.workspace_id IS NULL THEN NULL
            WHEN rc.roles_differing = 0 AND uc.workspace_id IS NULL THEN TRUE
            ELSE FALSE END AS counts_agree
FROM {{ ref('int_atlassian_admin__sites') }} s
CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
JOIN needs n ON n.workspace_id = s.workspace_id
LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
LEFT JOIN right_tiers rt ON rt.workspace_id = s.workspace_id
LEFT JOIN lower_tiers lt ON lt.workspace_id = s.workspace_id
LEFT JOIN free_plans fp ON fp.product_type_key = s.type_key
LEFT JOIN {{ ref('int_atlassian_admin__site_prices') }} pr ON pr.workspace_id = s.workspace_id
LEFT JOIN reconciled rc ON rc.workspace_id = s.workspace_id
LEFT JOIN uncounted uc ON uc.workspace_id = s.workspace_id
