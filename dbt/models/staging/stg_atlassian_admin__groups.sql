{{ config(enabled=var('atlassian_admin_using_groups', true)) }}
-- The groups stream as loaded: every row (each version of a group, deletion records too), every
-- column typed; id as group_id. int_atlassian_admin__groups keeps the current groups.
{{ atlassian_admin.staged('groups') }}
