-- The organization's service accounts now, by the account id the users search shows
-- (atlassian_id): the latest row of each, removed ones dropped. Empty when the service_accounts
-- stream is not synced (int_atlassian_admin__seat_holders then tells them by their email).
SELECT DISTINCT atlassian_id AS account_id
FROM ({{ atlassian_admin.current_rows(ref('stg_atlassian_admin__service_accounts'), ['service_account_id'],
        ['service_account_id', 'atlassian_id']) }}) current_service_accounts
WHERE atlassian_id IS NOT NULL
