-- The credential report: one row per credential that reaches the organization — each user API
-- token of a managed account and each organization API key — with its owner (a token's account,
-- a key's creator) and the owner's status, and what a security review looks for: a credential
-- that still works for an owner who is gone (suspended, deactivated, for deletion or removed),
-- an owner outside the org's verified domains, a credential never used or unused for
-- inactive_days, one that does not expire within a year, one expiring within 30 days. Keys
-- expiring within 30 days come first, then the credentials of gone owners, then by expiry.
-- Flags are null when what decides them is not synced (users, domains): unknown, not guessed.
-- Tables read: api_tokens, api_keys, users, domains, user_activity (as_of), each may be empty
-- (docs/credential-report.md, "Tables it reads").
SELECT credential_type, credential_id, label, owner_account_id, owner_name, owner_email, owner_status, status,
       created_at, expires_at, days_to_expiry, last_active_at, scopes, still_works, owner_gone, external_owner,
       never_used, unused_for_inactive_days, no_expiry_within_a_year, expires_within_30_days, priority, as_of
FROM {{ ref('int_atlassian_admin__credential_flags') }}
ORDER BY priority, expires_at NULLS LAST, credential_type, credential_id
