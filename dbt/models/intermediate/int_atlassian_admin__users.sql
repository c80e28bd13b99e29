-- The org's users now: the latest version of each account, removed accounts dropped.
{{ atlassian_admin.current_rows(ref('stg_atlassian_admin__users'), ['account_id'],
    ['account_id', 'name', 'email', 'status', 'added_to_org', 'access_billable', 'groups', 'observed_at']) }}
