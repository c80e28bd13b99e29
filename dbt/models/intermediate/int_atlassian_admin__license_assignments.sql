-- The seats held now: the latest row of each (workspace_id, account_id, role), removed seats dropped.
{{ atlassian_admin.current_rows(ref('stg_atlassian_admin__license_assignments'), ['workspace_id', 'account_id', 'role'],
    ['workspace_id', 'account_id', 'role', 'observed_at']) }}
