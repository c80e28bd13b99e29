-- The category active_via_api: billed; no product activity on the site within inactive_days, but
-- one of the holder's API tokens used within it (api_tokens.last_active_at). Source: API use is
-- not product activity (Atlassian's "last active"): an integration user. Keep; consider a service
-- account. A holder is in it exactly when this holds and no earlier category's rule does
-- (docs/license-report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'active_via_api') <> (NOT is_service_account AND NOT is_unbilled AND NOT used_the_site AND used_a_token)
