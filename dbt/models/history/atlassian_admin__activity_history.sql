-- Every last-activity time the user_activity table recorded per user and site (each row's
-- last_active; a deletion record says nothing of activity, and the activity it ends was real).
SELECT DISTINCT workspace_id, account_id, last_active
FROM {{ ref('stg_atlassian_admin__user_activity') }}
WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL AND _ab_cdc_deleted_at IS NULL
