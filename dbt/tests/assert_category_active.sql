-- The category active: billed; used the site within inactive_days (user_activity: a product page
-- viewed for 2 s). A holder is in it exactly when this holds and no earlier category's rule does
-- (docs/license-report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'active') <> (NOT is_service_account AND NOT is_unbilled AND used_the_site)
