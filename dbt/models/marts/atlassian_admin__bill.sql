-- The bill as Atlassian computes it: one row per paid site, then one `guard` row. Monthly plans
-- are billed on the highest number of users in the cycle (maximum quantity billing): a seat
-- removed now saves from the next cycle (saves_from), and this cycle stays at its peak. Annual
-- plans are bought in user tiers: a saving needs the tier to drop at renewal (saves_from =
-- renewal_date). The cycle and the renewal date come from the contracts table (not in the API).
-- could_be_free: a paid site whose needed seats fit its product's Free plan. The guard row:
-- Atlassian Guard's org-level bill, each unique billed user with product access once
-- (service accounts and users on Enterprise plans excluded), priced by the seat_prices row of
-- product 'guard'; of them, external_users (email domain not verified) and managed_users (on
-- a verified domain), null without the domains stream (a user without an email is in neither).
WITH guard_users AS (
    SELECT h.account_id, MAX(CASE WHEN h.external THEN 1 WHEN NOT h.external THEN 0 END) AS external
    FROM {{ ref('int_atlassian_admin__seat_holders') }} h
    JOIN {{ ref('int_atlassian_admin__sites') }} s ON s.workspace_id = h.workspace_id
    WHERE h.billed AND LOWER(COALESCE(s.plan, '')) <> 'enterprise'
    GROUP BY h.account_id
),
guard_price AS (
    SELECT MAX(CAST(pr.price_per_seat_month AS DECIMAL(12, 4))) AS price_per_seat_month, MAX(pr.currency) AS currency
    FROM {{ ref('int_atlassian_admin__billing_terms') }} bt
    JOIN {{ atlassian_admin.reference('seat_prices') }} pr
      ON pr.product_type_key = 'guard' AND LOWER(pr.billing_cycle) = bt.billing_cycle
    WHERE bt.type_key = 'guard' AND bt.workspace_id IS NULL AND pr.price_per_seat_month IS NOT NULL
),
guard_row AS (
    SELECT CAST('guard' AS {{ atlassian_admin.type_text() }}) AS product,
           'Atlassian Guard (organization)' AS site_name,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS site_url,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS plan,
           bt.billing_cycle, bt.contract_match, bt.cycle_start, bt.saves_from,
           CASE WHEN bt.billing_cycle = 'annual' THEN bt.renewal_date END AS renewal_date,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS seats_paid,
           (SELECT COUNT(*) FROM guard_users) AS seats_billed,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS peak_billed_this_cycle,
           CAST(NULL AS TIMESTAMP) AS peak_since,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS seats_to_reclaim,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS billed_after_reclaim,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS tier_at_renewal,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS lower_tier,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS seats_to_free_for_lower_tier,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS seats_needed,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS free_plan_users,
           CAST(NULL AS {{ atlassian_admin.type_boolean() }}) AS could_be_free,
           CASE WHEN EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__domains') }})
                THEN (SELECT COUNT(*) FROM guard_users WHERE external = 1) END AS external_users,
           CASE WHEN EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__domains') }})
                THEN (SELECT COUNT(*) FROM guard_users WHERE external = 0) END AS managed_users,
           gp.price_per_seat_month, gp.currency,
           (SELECT COUNT(*) FROM guard_users) * gp.price_per_seat_month AS bill_month,
           CAST(NULL AS DECIMAL(12, 4)) AS bill_after_month,
           CAST(NULL AS DECIMAL(12, 4)) AS saving_month,
           CAST(NULL AS {{ atlassian_admin.type_text() }}) AS workspace_id,
           CAST('guard' AS {{ atlassian_admin.type_text() }}) AS row_type
    FROM {{ ref('int_atlassian_admin__billing_terms') }} bt
    LEFT JOIN guard_price gp ON 1 = 1
    WHERE bt.type_key = 'guard' AND bt.workspace_id IS NULL
),
site_rows AS (
    SELECT type_key AS product, name AS site_name, host_url AS site_url, plan,
           billing_cycle, contract_match, cycle_start, saves_from, renewal_date,
           seats_paid, seats_billed, peak_billed_this_cycle, peak_since, seats_to_reclaim, billed_after_reclaim,
           tier_at_renewal, lower_tier, seats_to_free_for_lower_tier, seats_needed, free_plan_users, could_be_free,
           external_holders AS external_users,
           CAST(NULL AS {{ atlassian_admin.type_integer() }}) AS managed_users,
           price_per_seat_month, currency, bill_month, bill_after_month, saving_month,
           workspace_id, CAST('site' AS {{ atlassian_admin.type_text() }}) AS row_type
    FROM {{ ref('int_atlassian_admin__site_bill') }}
)
SELECT r.*, b.as_of AS as_of
FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM guard_row) r
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
ORDER BY CASE WHEN r.row_type = 'guard' THEN 1 ELSE 0 END, r.product, r.site_url, r.workspace_id
