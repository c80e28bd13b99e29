-- The category reclaimable: billed, idle on the site and through the API for inactive_days (or
-- never), not new, on a product whose activity the API sees: the only category priced as a saving.
-- A holder is in it exactly when this holds and no earlier category's rule does (docs/license-
-- report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'reclaimable') <> (NOT is_service_account AND NOT is_unbilled AND NOT used_the_site AND NOT used_a_token AND NOT is_young AND NOT on_unseen_product)
