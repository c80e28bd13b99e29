-- The workspaces stream (product sites) as loaded, every column typed; id as workspace_id. A
-- table synced in append mode holds a copy per sync: int_atlassian_admin__sites keeps the latest.
{{ atlassian_admin.staged('workspaces') }}
