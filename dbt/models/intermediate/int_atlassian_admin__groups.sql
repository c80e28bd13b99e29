{{ config(enabled=var('atlassian_admin_using_groups', true)) }}
-- The org's groups now: the latest version of each group, removed groups dropped.
{{ atlassian_admin.current_rows(ref('stg_atlassian_admin__groups'), ['group_id'],
    ['group_id', 'name', 'billable_workspace_ids']) }}
