-- The credential report's rules, one row per credential (int_atlassian_admin__credentials), as
-- docs/credential-report.md defines them:
--   owner         a token's account, a key's creator: name and email as the list gives them,
--                 else the directory's; owner_status the directory's status, 'removed' when the
--                 account is not in users any more, null when users is not synced (no row);
--   still_works   not revoked or expired (a token's status) and not past expires_at at as_of;
--   the flags     only a credential that still works is flagged (one that no longer works
--                 needs nothing done): owner_gone (its owner suspended, deactivated, for
--                 deletion or removed), external_owner (the owner's email domain is not a
--                 verified domain of the org; null when domains is not synced or the email is
--                 unknown; a service account's @serviceaccount.atlassian.com is the org's own),
--                 never_used, unused_for_inactive_days (neither used nor created within
--                 inactive_days), no_expiry_within_a_year, expires_within_30_days;
--   priority      1 a key expiring within 30 days, 2 a working credential of a gone owner,
--                 3 the other working ones, 4 those that no longer work: the report's order.
-- as_of: the package's (the var, else the newest activity), else the newest observed_at of the
-- credentials (when the sync read them).
WITH creds AS (
    SELECT * FROM {{ ref('int_atlassian_admin__credentials') }}
),
reference_time AS (
    SELECT COALESCE(b.as_of, (SELECT MAX(observed_at) FROM creds)) AS as_of, p.inactive_days
    FROM {{ ref('int_atlassian_admin__bounds') }} b
    CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
),
synced AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__users') }}) THEN TRUE ELSE FALSE END AS users_synced,
           CASE WHEN EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__domains') }}) THEN TRUE ELSE FALSE END AS domains_synced
),
owned AS (
    SELECT c.credential_type, c.credential_id, c.label, c.owner_account_id,
           COALESCE(c.listed_owner_name, u.name) AS owner_name,
           COALESCE(c.listed_owner_email, u.email) AS owner_email,
           CASE WHEN c.owner_account_id IS NULL OR NOT s.users_synced THEN NULL
                WHEN u.account_id IS NULL THEN 'removed'
                ELSE u.status END AS owner_status,
           c.status, c.created_at, c.expires_at, c.last_active_at, c.scopes,
           CASE WHEN LOWER(COALESCE(c.status, '')) IN ('revoked', 'expired') THEN FALSE
                WHEN c.expires_at IS NULL THEN TRUE
                WHEN r.as_of IS NULL THEN NULL
                WHEN c.expires_at > r.as_of THEN TRUE
                ELSE FALSE END AS still_works,
           s.domains_synced, r.as_of, r.inactive_days
    FROM creds c
    CROSS JOIN reference_time r
    CROSS JOIN synced s
    LEFT JOIN {{ ref('int_atlassian_admin__users') }} u ON u.account_id = c.owner_account_id
),
flagged AS (
    SELECT o.*,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.owner_status IS NULL THEN NULL
                WHEN LOWER(o.owner_status) IN ('suspended', 'deactivated', 'for_deletion', 'removed') THEN TRUE
                ELSE FALSE END AS owner_gone,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN NOT o.domains_synced OR o.owner_email IS NULL THEN NULL
                WHEN {{ atlassian_admin.address_domain('o.owner_email') }} = 'serviceaccount.atlassian.com' THEN FALSE
                WHEN {{ atlassian_admin.address_domain('o.owner_email') }} IN (SELECT domain FROM {{ ref('int_atlassian_admin__verified_domains') }}) THEN FALSE
                ELSE TRUE END AS external_owner,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.last_active_at IS NULL THEN TRUE
                ELSE FALSE END AS never_used,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.as_of IS NULL OR COALESCE(o.last_active_at, o.created_at) IS NULL THEN NULL
                WHEN COALESCE(o.last_active_at, o.created_at) < {{ atlassian_admin.days_before('o.as_of', 'o.inactive_days') }} THEN TRUE
                ELSE FALSE END AS unused_for_inactive_days,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.expires_at IS NULL THEN TRUE
                WHEN o.as_of IS NULL THEN NULL
                WHEN o.expires_at > {{ atlassian_admin.days_after('o.as_of', 365) }} THEN TRUE
                ELSE FALSE END AS no_expiry_within_a_year,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works OR o.expires_at IS NULL THEN FALSE
                WHEN o.expires_at <= {{ atlassian_admin.days_after('o.as_of', 30) }} THEN TRUE
                ELSE FALSE END AS expires_within_30_days,
           {{ atlassian_admin.days_between('CAST(o.as_of AS DATE)', 'CAST(o.expires_at AS DATE)') }} AS days_to_expiry
    FROM owned o
)
SELECT credential_type, credential_id, label, owner_account_id, owner_name, owner_email, owner_status, status,
       created_at, expires_at, last_active_at, scopes, still_works, owner_gone, external_owner, never_used,
       unused_for_inactive_days, no_expiry_within_a_year, expires_within_30_days, days_to_expiry,
       CASE WHEN credential_type = 'api_key' AND expires_within_30_days THEN 1
            WHEN owner_gone THEN 2
            WHEN COALESCE(still_works, TRUE) THEN 3
            ELSE 4 END AS priority,
       as_of
FROM flagged
