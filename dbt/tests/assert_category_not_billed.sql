-- The category not_billed: not a service account; access_billable false, or (where the API does
-- not say) suspended, deactivated or for_deletion. Source: Atlassian's user management docs,
-- suspended users "won't be billed": removing the seat saves nothing. A holder is in it exactly
-- when this holds and no earlier category's rule does (docs/license-report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'not_billed') <> (NOT is_service_account AND is_unbilled)
