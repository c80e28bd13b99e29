-- Each user's latest use of one of their API tokens: per owner (account_id), the newest
-- last_active_at over their current tokens (latest row of each token, tokens gone from the list
-- dropped). API use is not product activity: "last active" does not see it. Empty when the
-- api_tokens stream is not synced (it lists managed accounts' tokens only).
SELECT account_id, MAX(last_active_at) AS api_last_active
FROM ({{ atlassian_admin.current_rows(ref('stg_atlassian_admin__api_tokens'), ['token_id'],
        ['token_id', 'account_id', 'last_active_at']) }}) current_tokens
WHERE account_id IS NOT NULL AND last_active_at IS NOT NULL
GROUP BY account_id
