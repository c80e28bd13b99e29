{{ config(enabled=var('atlassian_admin_using_groups', true)) }}
-- The sites on which each group now grants a billable role: one row per (group_id,
-- workspace_id) of groups.billable_workspace_ids, a JSON list of ids.
SELECT DISTINCT group_id, item AS workspace_id
FROM ({{ atlassian_admin.json_list_items(ref('int_atlassian_admin__groups'), ['group_id'], 'billable_workspace_ids') }}) group_site_items
WHERE item IS NOT NULL
