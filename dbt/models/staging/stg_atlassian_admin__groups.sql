{{ config(enabled=var('atlassian_admin_using_groups', true)) }}
-- The org's groups now: the latest version of each group, removed groups dropped.
SELECT id AS group_id, name, billable_workspace_ids,
       {{ atlassian_admin.to_timestamp('observed_at') }} AS observed_at
FROM ({{ atlassian_admin.current_rows('groups', ['id'], ['id', 'name', 'billable_workspace_ids', 'observed_at']) }}) current_groups
