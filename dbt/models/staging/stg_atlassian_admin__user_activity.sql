-- Each user's last activity on each product site now: the latest row of each
-- (account_id, product_id), pairs whose latest row is a deletion record dropped.
SELECT account_id, product_id, product_key, workspace_id,
       {{ atlassian_admin.to_timestamp('last_active') }} AS last_active,
       {{ atlassian_admin.to_timestamp('observed_at') }} AS observed_at
FROM ({{ atlassian_admin.current_rows('user_activity', ['account_id', 'product_id'],
        ['account_id', 'product_id', 'product_key', 'workspace_id', 'last_active', 'observed_at']) }}) current_activity
