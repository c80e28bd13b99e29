-- Each user's last activity on each site now (pairs with a site and a time).
SELECT workspace_id, account_id, last_active
FROM {{ ref('stg_atlassian_admin__user_activity') }}
WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL
