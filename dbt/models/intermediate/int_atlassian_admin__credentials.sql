-- Every credential that reaches the organization now, in one shape: the user API tokens of
-- managed accounts (api_tokens) and the organization's API keys (api_keys), each the latest row
-- of its id, the ones gone from the list (revoked) dropped. A key's owner is the admin who
-- created it; a token has a status (a key has none). scopes: the list sorted and joined by ','
-- ('' for a credential without scopes). Empty for a stream not synced.
WITH tokens AS (
    {{ atlassian_admin.current_rows(ref('stg_atlassian_admin__api_tokens'), ['token_id'],
        ['token_id', 'label', 'status', 'created_at', 'expires_at', 'last_active_at', 'account_id', 'owner_name',
         'owner_email', 'scopes', 'observed_at']) }}
),
org_keys AS (
    {{ atlassian_admin.current_rows(ref('stg_atlassian_admin__api_keys'), ['key_id'],
        ['key_id', 'label', 'created_at', 'expires_at', 'last_active_at', 'created_by_id', 'created_by_name',
         'created_by_email', 'scopes', 'observed_at']) }}
),
token_scope_items AS (
    {{ atlassian_admin.json_list_items('tokens', ['token_id'], 'scopes') }}
),
token_scopes AS (
    SELECT token_id, {{ atlassian_admin.sorted_list('item', "','") }} AS scopes
    FROM token_scope_items
    WHERE item IS NOT NULL
    GROUP BY token_id
),
key_scope_items AS (
    {{ atlassian_admin.json_list_items('org_keys', ['key_id'], 'scopes') }}
),
key_scopes AS (
    SELECT key_id, {{ atlassian_admin.sorted_list('item', "','") }} AS scopes
    FROM key_scope_items
    WHERE item IS NOT NULL
    GROUP BY key_id
)
SELECT 'api_token' AS credential_type, t.token_id AS credential_id, t.label, t.account_id AS owner_account_id,
       t.owner_name AS listed_owner_name, t.owner_email AS listed_owner_email, t.status, t.created_at, t.expires_at,
       t.last_active_at, COALESCE(s.scopes, '') AS scopes, t.observed_at
FROM tokens t
LEFT JOIN token_scopes s ON s.token_id = t.token_id
UNION ALL
SELECT 'api_key' AS credential_type, k.key_id AS credential_id, k.label, k.created_by_id AS owner_account_id,
       k.created_by_name AS listed_owner_name, k.created_by_email AS listed_owner_email,
       CAST(NULL AS {{ atlassian_admin.type_text() }}) AS status, k.created_at, k.expires_at,
       k.last_active_at, COALESCE(s.scopes, '') AS scopes, k.observed_at
FROM org_keys k
LEFT JOIN key_scopes s ON s.key_id = k.key_id
