-- Each user's last activity on each site now: the latest row of each (account_id, product_id),
-- pairs whose latest row is a deletion record dropped; pairs with a site and a time.
SELECT workspace_id, account_id, last_active
FROM ({{ atlassian_admin.current_rows(ref('stg_atlassian_admin__user_activity'), ['account_id', 'product_id'],
        ['account_id', 'product_id', 'workspace_id', 'last_active']) }}) current_activity
WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL
