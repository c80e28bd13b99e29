-- The category new: billed, idle on the site and through the API, and the seat or the account
-- younger than inactive_days (added_to_org, the seat's first observation, the audit log's grant):
-- a new holder who may not have started. A holder is in it exactly when this holds and no earlier
-- category's rule does (docs/license-report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'new') <> (NOT is_service_account AND NOT is_unbilled AND NOT used_the_site AND NOT used_a_token AND is_young)
