-- The credential report's counts: one row per flag of atlassian_admin__credentials (and one for
-- every credential, one for those that still work), how many credentials have it, of which API
-- tokens and API keys, and how many are unknown (the flag null: users or domains not synced).
-- api_tokens / api_keys are null when there is no token / no key at all (the stream not synced,
-- or none in the org): not counted, rather than a zero that may not be true.
-- Tables read: api_tokens, api_keys, users, domains, user_activity (as_of), each may be empty
-- (docs/credential-report.md, "Tables it reads").
{%- set flags = ['credentials', 'still_works', 'owner_gone', 'external_owner', 'never_used', 'unused_for_inactive_days',
                 'no_expiry_within_a_year', 'expires_within_30_days'] %}
WITH creds AS (
    SELECT * FROM {{ ref('int_atlassian_admin__credential_flags') }}
),
present AS (
    SELECT SUM(CASE WHEN credential_type = 'api_token' THEN 1 ELSE 0 END) AS n_tokens,
           SUM(CASE WHEN credential_type = 'api_key' THEN 1 ELSE 0 END) AS n_keys,
           MAX(as_of) AS as_of
    FROM creds
),
counted AS (
{%- for flag in flags %}
{%- set holds = 'TRUE' if flag == 'credentials' else flag %}
    SELECT {{ loop.index }} AS flag_order, '{{ flag }}' AS flag,
           SUM(CASE WHEN {{ holds }} THEN 1 ELSE 0 END) AS credentials,
           SUM(CASE WHEN credential_type = 'api_token' AND {{ holds }} THEN 1 ELSE 0 END) AS api_tokens,
           SUM(CASE WHEN credential_type = 'api_key' AND {{ holds }} THEN 1 ELSE 0 END) AS api_keys,
           SUM(CASE WHEN {{ holds }} IS NULL THEN 1 ELSE 0 END) AS unknown
    FROM creds
    {%- if not loop.last %}
    UNION ALL
    {%- endif %}
{%- endfor %}
)
SELECT c.flag, COALESCE(c.credentials, 0) AS credentials,
       CASE WHEN p.n_tokens > 0 THEN c.api_tokens END AS api_tokens,
       CASE WHEN p.n_keys > 0 THEN c.api_keys END AS api_keys,
       COALESCE(c.unknown, 0) AS unknown,
       c.flag_order, p.as_of
FROM counted c
CROSS JOIN present p
ORDER BY c.flag_order
