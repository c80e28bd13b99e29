-- The service_accounts stream as loaded: every row, every column typed; id as
-- service_account_id, atlassian_id the account id the users search shows. No row when not synced.
{{ atlassian_admin.staged('service_accounts') }}
