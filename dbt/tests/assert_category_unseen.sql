-- The category unseen: billed, idle, not new, on a product whose activity the API cannot fully see
-- (unseen_products; Bitbucket: its last active does not count git over the command line,
-- Atlassian's knowledge base). Verify in the product before removing. A holder is in it exactly
-- when this holds and no earlier category's rule does (docs/license-report.md).
SELECT workspace_id, account_id, category
FROM ({{ atlassian_admin.seat_holder_facts() }}) facts
WHERE (category = 'unseen') <> (NOT is_service_account AND NOT is_unbilled AND NOT used_the_site AND NOT used_a_token AND NOT is_young AND on_unseen_product)
