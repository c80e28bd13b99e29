-- No seat flagged by mistake: a listed seat's holder is billed, not a service account, idle on
-- that site and through their API tokens for inactive_days, holds a seat and an account older
-- than that, and is on a product whose activity the API sees — unless unseen_in_savings lists
-- the unseen seats too, each saying so (category unseen).
SELECT r.workspace_id, r.account_id
FROM {{ ref('atlassian_admin__reclaimable_seats') }} r
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
LEFT JOIN {{ ref('int_atlassian_admin__users') }} u ON u.account_id = r.account_id
LEFT JOIN {{ ref('int_atlassian_admin__service_accounts') }} sa ON sa.account_id = r.account_id
LEFT JOIN {{ ref('int_atlassian_admin__token_use') }} t ON t.account_id = r.account_id
LEFT JOIN (SELECT DISTINCT product_type_key FROM {{ atlassian_admin.reference('unseen_products') }}) up ON up.product_type_key = r.product
WHERE r.last_active_on_site >= b.inactive_before
   OR r.seat_since >= b.inactive_before
   OR u.added_to_org >= b.inactive_before
   OR LOWER(COALESCE(u.status, 'active')) IN ('suspended', 'deactivated', 'for_deletion')
   OR u.access_billable = FALSE
   OR sa.account_id IS NOT NULL
   OR LOWER(COALESCE(r.email, '')) LIKE '%@serviceaccount.atlassian.com'
   OR t.api_last_active >= b.inactive_before
   OR (up.product_type_key IS NOT NULL AND NOT (p.unseen_in_savings AND r.category = 'unseen'))
   OR r.category NOT IN ('reclaimable', 'unseen')
