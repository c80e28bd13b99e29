-- The org's users now: the latest version of each account, removed accounts dropped.
SELECT account_id, name, email, status, account_status, membership_status,
       {{ atlassian_admin.to_timestamp('added_to_org') }} AS added_to_org,
       access_billable, groups,
       {{ atlassian_admin.to_timestamp('observed_at') }} AS observed_at
FROM ({{ atlassian_admin.current_rows('users', ['account_id'],
        ['account_id', 'name', 'email', 'status', 'account_status', 'membership_status', 'added_to_org',
         'access_billable', 'groups', 'observed_at']) }}) current_users
