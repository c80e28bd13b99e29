-- The bill of each paid site as Atlassian computes it, from the contract's terms
-- (int_atlassian_admin__billing_terms):
--   monthly  maximum quantity billing: this cycle is billed on its highest number of billed
--            users (peak_billed_this_cycle, from the seat history: the count when the cycle began
--            and at every change since, through the cycle's end), so a seat removed now saves from
--            the next cycle (saves_from) on, at billed_after_reclaim;
--   annual   a tier bought for the year: a saving needs the tier to drop at renewal
--            (saves_from = renewal_date): the right tier then, and how many billed users must
--            go for the tier below the one paid for.
-- The peak is null when the seat history does not reach into the cycle (its first row is
-- after the cycle's end), and counted from peak_since when it begins within it.
WITH history AS (
    SELECT h.workspace_id, h.changed_at, h.billed_holders, bt.cycle_start, bt.next_cycle_start
    FROM {{ ref('int_atlassian_admin__billed_history') }} h
    JOIN {{ ref('int_atlassian_admin__billing_terms') }} bt ON bt.workspace_id = h.workspace_id
    WHERE bt.billing_cycle = 'monthly' AND bt.cycle_start IS NOT NULL
),
at_cycle_start AS (
    SELECT workspace_id, billed_holders
    FROM (SELECT workspace_id, billed_holders, ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY changed_at DESC) AS row_no
          FROM history
          WHERE changed_at < CAST(cycle_start AS TIMESTAMP)) last_before
    WHERE row_no <= 1  -- not `= 1`: see current_rows
),
within_cycle AS (
    SELECT workspace_id, MAX(billed_holders) AS peak, MIN(changed_at) AS first_at
    FROM history
    WHERE changed_at >= CAST(cycle_start AS TIMESTAMP) AND changed_at < CAST(next_cycle_start AS TIMESTAMP)
    GROUP BY workspace_id
),
peaks AS (
    SELECT bt.workspace_id,
           CASE WHEN s.billed_holders IS NULL THEN w.peak
                WHEN w.peak IS NULL OR s.billed_holders >= w.peak THEN s.billed_holders
                ELSE w.peak END AS peak_billed_this_cycle,
           CASE WHEN s.billed_holders IS NOT NULL THEN CAST(bt.cycle_start AS TIMESTAMP) ELSE w.first_at END AS peak_since
    FROM {{ ref('int_atlassian_admin__billing_terms') }} bt
    LEFT JOIN at_cycle_start s ON s.workspace_id = bt.workspace_id
    LEFT JOIN within_cycle w ON w.workspace_id = bt.workspace_id
    WHERE bt.billing_cycle = 'monthly' AND bt.cycle_start IS NOT NULL
)
SELECT f.workspace_id, f.type_key, f.name, f.host_url, f.plan,
       bt.billing_cycle, bt.contract_match, bt.cycle_start, bt.saves_from,
       CASE WHEN bt.billing_cycle = 'annual' THEN bt.renewal_date END AS renewal_date,
       f.capacity AS seats_paid, f.seats_billed, pk.peak_billed_this_cycle, pk.peak_since,
       f.seats_to_reclaim, f.seats_billed - f.seats_to_reclaim AS billed_after_reclaim,
       CASE WHEN bt.billing_cycle = 'annual' THEN f.right_tier END AS tier_at_renewal,
       CASE WHEN bt.billing_cycle = 'annual' THEN f.lower_tier END AS lower_tier,
       CASE WHEN bt.billing_cycle = 'annual' AND f.lower_tier IS NOT NULL
            THEN CASE WHEN f.seats_billed > f.lower_tier THEN f.seats_billed - f.lower_tier ELSE 0 END END AS seats_to_free_for_lower_tier,
       f.seats_needed, f.free_plan_users, f.could_be_free, f.external_holders,
       f.price_per_seat_month, f.currency,
       CASE WHEN bt.billing_cycle = 'monthly' THEN pk.peak_billed_this_cycle * f.price_per_seat_month
            WHEN bt.billing_cycle = 'annual' THEN f.capacity * f.price_per_seat_month END AS bill_month,
       CASE WHEN bt.billing_cycle = 'monthly' THEN (f.seats_billed - f.seats_to_reclaim) * f.price_per_seat_month
            WHEN bt.billing_cycle = 'annual' THEN f.right_tier * f.price_per_seat_month END AS bill_after_month,
       CASE WHEN bt.billing_cycle = 'monthly' THEN f.seats_to_reclaim * f.price_per_seat_month
            WHEN bt.billing_cycle = 'annual' THEN (f.capacity - f.right_tier) * f.price_per_seat_month END AS saving_month
FROM {{ ref('int_atlassian_admin__site_figures') }} f
JOIN {{ ref('int_atlassian_admin__billing_terms') }} bt ON bt.workspace_id = f.workspace_id
LEFT JOIN peaks pk ON pk.workspace_id = f.workspace_id
WHERE f.paid_site
