-- Which policies apply to which site now: one row per (site, policy) of the current policies
-- (latest row of each, removed ones dropped) that are enabled and name the site in their
-- resources with an application status of applied, enabled or applying (docs/credential-report.md:
-- "applies"). A disabled policy, or one whose application failed, is scheduled or is being
-- removed, covers nothing. Policy types are kept as they come (an open set). Empty when the
-- policies stream is not synced.
WITH current_policies AS (
    {{ atlassian_admin.current_rows(ref('stg_atlassian_admin__policies'), ['policy_id'],
        ['policy_id', 'policy_type', 'name', 'status', 'resources']) }}
),
resources AS (
    {{ atlassian_admin.json_list_fields('current_policies', ['policy_id', 'policy_type', 'name', 'status'], 'resources',
        ['id', 'application_status']) }}
)
SELECT DISTINCT id AS workspace_id, policy_id, policy_type, name AS policy_name, application_status
FROM resources
WHERE id IS NOT NULL
  AND LOWER(COALESCE(status, '')) = 'enabled'
  AND LOWER(COALESCE(application_status, '')) IN ('applied', 'enabled', 'applying')
