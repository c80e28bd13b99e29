{{ config(enabled=var('atlassian_admin_using_groups', true)) }}
-- Each user's groups now: one row per (account_id, group_id) of users.groups, a JSON list read
-- with the warehouse's JSON functions (whether loaded as JSON, text or a typed list).
SELECT DISTINCT account_id, item AS group_id
FROM ({{ atlassian_admin.json_list_items(ref('int_atlassian_admin__users'), ['account_id'], 'groups', 'id') }}) user_group_items
WHERE item IS NOT NULL
