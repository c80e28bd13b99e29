-- The api_tokens stream as loaded (the managed accounts' API tokens: owner and last use, never
-- a secret): every row, every column typed; id as token_id. No row when not synced.
{{ atlassian_admin.staged('api_tokens') }}
