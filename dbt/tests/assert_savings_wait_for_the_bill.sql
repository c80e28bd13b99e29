-- A saving starts when the bill can show it: on a monthly plan at the next cycle (after as_of's
-- day: this cycle stays at its peak), on an annual plan at the renewal (on or after as_of's day);
-- a listed seat saves from its site's date.
SELECT b.workspace_id, b.billing_cycle, b.cycle_start, b.saves_from
FROM {{ ref('atlassian_admin__bill') }} b
WHERE b.row_type = 'site'
  AND ((b.billing_cycle = 'monthly' AND b.cycle_start IS NOT NULL
        AND NOT (b.cycle_start <= CAST(b.as_of AS DATE) AND b.saves_from > CAST(b.as_of AS DATE)))
    OR (b.billing_cycle = 'annual' AND b.renewal_date IS NOT NULL
        AND NOT (b.saves_from = b.renewal_date AND b.renewal_date >= CAST(b.as_of AS DATE))))
UNION ALL
SELECT r.workspace_id, 'listed', NULL, r.saves_from
FROM {{ ref('atlassian_admin__reclaimable_seats') }} r
JOIN {{ ref('atlassian_admin__bill') }} b ON b.workspace_id = r.workspace_id
WHERE r.saves_from <> b.saves_from
