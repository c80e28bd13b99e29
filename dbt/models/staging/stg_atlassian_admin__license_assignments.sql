-- The seats held now: the latest row of each (workspace_id, account_id, role), removed seats dropped.
SELECT workspace_id, account_id, role, billable,
       {{ atlassian_admin.to_timestamp('observed_at') }} AS observed_at
FROM ({{ atlassian_admin.current_rows('license_assignments', ['workspace_id', 'account_id', 'role'],
        ['workspace_id', 'account_id', 'role', 'billable', 'observed_at']) }}) current_seats
