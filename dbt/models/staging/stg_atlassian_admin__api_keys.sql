-- The api_keys stream as loaded (the organization's API keys: who created each, its expiry and
-- last use, never a secret): every row, every column typed; id as key_id. No row when not synced.
{{ atlassian_admin.staged('api_keys') }}
