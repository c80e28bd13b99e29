-- The category service_account: listed by the service_accounts stream (atlassian_id), else an
-- email ending @serviceaccount.atlassian.com. Source: Atlassian's billing docs, "service accounts
-- do not count toward a product's user limit": never billed, never reclaimable. A holder is in it
-- exactly when this holds and no earlier category's rule does (docs/license-report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'service_account') <> (is_service_account)
