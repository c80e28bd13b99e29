-- The policies stream as loaded (the organization's policies: type, status, the sites each is
-- applied to, the rule kept whole): every row, every column typed; id as policy_id, type as
-- policy_type. No row when not synced.
{{ atlassian_admin.staged('policies') }}
