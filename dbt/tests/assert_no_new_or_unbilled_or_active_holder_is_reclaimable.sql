-- No seat flagged by mistake: a listed seat's holder is billed, idle on that site for
-- inactive_days, and holds a seat and an account older than that.
SELECT r.workspace_id, r.account_id
FROM {{ ref('atlassian_admin__reclaimable_seats') }} r
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
LEFT JOIN {{ ref('int_atlassian_admin__users') }} u ON u.account_id = r.account_id
WHERE r.last_active_on_site >= b.inactive_before
   OR r.seat_since >= b.inactive_before
   OR u.added_to_org >= b.inactive_before
   OR LOWER(COALESCE(u.status, 'active')) IN ('suspended', 'deactivated', 'for_deletion')
   OR u.access_billable = FALSE
