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
--
-- GENERATED from dbt/models/marts/atlassian_admin__credentials.sql by scripts/generate-reports.py: edit the model
-- and run the script, not this file. The BigQuery form (the package's bigquery__ macros) over one table per stream, named
-- after it (users, user_activity, workspaces, license_assignments; groups, audit_events,
-- domains, api_tokens, service_accounts, seat_counts, empty when not synced), and the
-- reference tables seat_prices, user_tiers, contracts, unseen_products and free_plans
-- (dbt/seeds/*.csv, or your own).
-- Parameters: the SELECT line of __dbt__cte__int_atlassian_admin__params below
-- (docs/license-report.md says what each means).
with __dbt__cte__stg_atlassian_admin__api_tokens as (
-- The api_tokens stream as loaded (the managed accounts' API tokens: owner and last use, never
-- a secret): every row, every column typed; id as token_id. No row when not synced.
SELECT
    CAST(s.id AS STRING) AS token_id,
    CAST(s.label AS STRING) AS label,
    CAST(s.status AS STRING) AS status,
    CAST(s.created_at AS TIMESTAMP) AS created_at,
    CAST(s.expires_at AS TIMESTAMP) AS expires_at,
    CAST(s.last_active_at AS TIMESTAMP) AS last_active_at,
    CAST(s.account_id AS STRING) AS account_id,
    CAST(s.owner_name AS STRING) AS owner_name,
    CAST(s.owner_email AS STRING) AS owner_email,
    s.scopes AS scopes,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM api_tokens s
),  __dbt__cte__stg_atlassian_admin__api_keys as (
-- The api_keys stream as loaded (the organization's API keys: who created each, its expiry and
-- last use, never a secret): every row, every column typed; id as key_id. No row when not synced.
SELECT
    CAST(s.id AS STRING) AS key_id,
    CAST(s.label AS STRING) AS label,
    CAST(s.created_at AS TIMESTAMP) AS created_at,
    CAST(s.expires_at AS TIMESTAMP) AS expires_at,
    CAST(s.last_active_at AS TIMESTAMP) AS last_active_at,
    CAST(s.created_by_id AS STRING) AS created_by_id,
    CAST(s.created_by_name AS STRING) AS created_by_name,
    CAST(s.created_by_email AS STRING) AS created_by_email,
    s.scopes AS scopes,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM api_keys s
),  __dbt__cte__int_atlassian_admin__credentials as (
-- Every credential that reaches the organization now, in one shape: the user API tokens of
-- managed accounts (api_tokens) and the organization's API keys (api_keys), each the latest row
-- of its id, the ones gone from the list (revoked) dropped. A key's owner is the admin who
-- created it; a token has a status (a key has none). scopes: the list sorted and joined by ','
-- ('' for a credential without scopes). Empty for a stream not synced.
WITH tokens AS (
    SELECT token_id, label, status, created_at, expires_at, last_active_at, account_id, owner_name, owner_email, scopes, observed_at
FROM (
    SELECT token_id, label, status, created_at, expires_at, last_active_at, account_id, owner_name, owner_email, scopes, observed_at, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY token_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__api_tokens
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
),
org_keys AS (
    SELECT key_id, label, created_at, expires_at, last_active_at, created_by_id, created_by_name, created_by_email, scopes, observed_at
FROM (
    SELECT key_id, label, created_at, expires_at, last_active_at, created_by_id, created_by_name, created_by_email, scopes, observed_at, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY key_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__api_keys
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
),
token_scope_items AS (
    SELECT l.token_id, JSON_VALUE(e, '$') AS item
FROM tokens l
CROSS JOIN UNNEST(JSON_QUERY_ARRAY(l.scopes)) AS e
),
token_scopes AS (
    SELECT token_id, STRING_AGG(item, ',' ORDER BY item NULLS FIRST) AS scopes
    FROM token_scope_items
    WHERE item IS NOT NULL
    GROUP BY token_id
),
key_scope_items AS (
    SELECT l.key_id, JSON_VALUE(e, '$') AS item
FROM org_keys l
CROSS JOIN UNNEST(JSON_QUERY_ARRAY(l.scopes)) AS e
),
key_scopes AS (
    SELECT key_id, STRING_AGG(item, ',' ORDER BY item NULLS FIRST) AS scopes
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
       CAST(NULL AS STRING) AS status, k.created_at, k.expires_at,
       k.last_active_at, COALESCE(s.scopes, '') AS scopes, k.observed_at
FROM org_keys k
LEFT JOIN key_scopes s ON s.key_id = k.key_id
),  __dbt__cte__stg_atlassian_admin__user_activity as (
-- The user_activity stream as loaded: every row (each version of a user's last activity on a
-- product site, deletion records too), every column typed. int_atlassian_admin__activity keeps
-- the current pairs.
SELECT
    CAST(s.account_id AS STRING) AS account_id,
    CAST(s.product_id AS STRING) AS product_id,
    CAST(s.workspace_id AS STRING) AS workspace_id,
    CAST(s.last_active AS TIMESTAMP) AS last_active,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM user_activity s
),  __dbt__cte__int_atlassian_admin__activity as (
-- Each user's last activity on each site now: the latest row of each (account_id, product_id),
-- pairs whose latest row is a deletion record dropped; pairs with a site and a time.
SELECT workspace_id, account_id, last_active
FROM (SELECT account_id, product_id, workspace_id, last_active
FROM (
    SELECT account_id, product_id, workspace_id, last_active, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY account_id, product_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__user_activity
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1) current_activity
WHERE workspace_id IS NOT NULL AND last_active IS NOT NULL
),  __dbt__cte__int_atlassian_admin__params as (
-- The report's parameters (dbt vars; in reports/*.sql, the line to edit).
SELECT 30 AS active_days, 90 AS inactive_days, 10 AS headroom_pct, 'monthly' AS billing_cycle, 30 AS trend_days, CAST(NULL AS TIMESTAMP) AS as_of, FALSE AS unseen_in_savings
),  __dbt__cte__int_atlassian_admin__bounds as (
-- The time windows, which end at as_of: the as_of var, else the newest activity in the data
-- (the data's own "now", so a report over a given sync is reproducible).
SELECT as_of,
       TIMESTAMP_SUB(as_of, INTERVAL active_days DAY) AS active_since,
       TIMESTAMP_SUB(as_of, INTERVAL inactive_days DAY) AS inactive_before
FROM (SELECT p.active_days, p.inactive_days,
             COALESCE(p.as_of, (SELECT MAX(last_active) FROM __dbt__cte__int_atlassian_admin__activity)) AS as_of
      FROM __dbt__cte__int_atlassian_admin__params p) resolved
),  __dbt__cte__stg_atlassian_admin__users as (
-- The users stream as loaded: every row (each version of an account, deletion records too),
-- every column typed. int_atlassian_admin__users keeps the current accounts.
SELECT
    CAST(s.account_id AS STRING) AS account_id,
    CAST(s.status AS STRING) AS status,
    CAST(s.added_to_org AS TIMESTAMP) AS added_to_org,
    CAST(s.name AS STRING) AS name,
    CAST(s.email AS STRING) AS email,
    s.groups AS groups,
    CAST(s.access_billable AS BOOL) AS access_billable,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM users s
),  __dbt__cte__stg_atlassian_admin__domains as (
-- The domains stream as loaded (the organization's claimed email domains, verified or not):
-- every row, every column typed; id as domain_id. No row when the stream is not synced (a
-- missing table in a dbt run): holders are then neither external nor not, but unknown.
SELECT
    CAST(s.id AS STRING) AS domain_id,
    CAST(s.name AS STRING) AS name,
    CAST(s.claim_status AS STRING) AS claim_status,
    CAST(s.verified AS BOOL) AS verified,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM domains s
),  __dbt__cte__int_atlassian_admin__users as (
-- The org's users now: the latest version of each account, removed accounts dropped.
SELECT account_id, name, email, status, added_to_org, access_billable, groups, observed_at
FROM (
    SELECT account_id, name, email, status, added_to_org, access_billable, groups, observed_at, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__users
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
),  __dbt__cte__int_atlassian_admin__verified_domains as (
-- The organization's verified email domains now (lower case): the current domains (latest row of
-- each, removed ones dropped) whose claim is verified. A user whose email domain is not one of
-- them is external (Atlassian: "Domains with access to your apps"). Empty when the domains
-- stream is not synced, or the org has verified none: int_atlassian_admin__seat_holders then
-- says external is unknown (null) when the domains table has no row at all.
SELECT DISTINCT LOWER(name) AS domain
FROM (SELECT domain_id, name, claim_status, verified
FROM (
    SELECT domain_id, name, claim_status, verified, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY domain_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__domains
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1) current_domains
WHERE name IS NOT NULL AND (verified OR LOWER(COALESCE(claim_status, '')) = 'verified')
),  __dbt__cte__int_atlassian_admin__credential_flags as (
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
    SELECT * FROM __dbt__cte__int_atlassian_admin__credentials
),
reference_time AS (
    SELECT COALESCE(b.as_of, (SELECT MAX(observed_at) FROM creds)) AS as_of, p.inactive_days
    FROM __dbt__cte__int_atlassian_admin__bounds b
    CROSS JOIN __dbt__cte__int_atlassian_admin__params p
),
synced AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__users) THEN TRUE ELSE FALSE END AS users_synced,
           CASE WHEN EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__domains) THEN TRUE ELSE FALSE END AS domains_synced
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
    LEFT JOIN __dbt__cte__int_atlassian_admin__users u ON u.account_id = c.owner_account_id
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
                WHEN LOWER(SPLIT(o.owner_email, '@')[SAFE_OFFSET(1)]) = 'serviceaccount.atlassian.com' THEN FALSE
                WHEN LOWER(SPLIT(o.owner_email, '@')[SAFE_OFFSET(1)]) IN (SELECT domain FROM __dbt__cte__int_atlassian_admin__verified_domains) THEN FALSE
                ELSE TRUE END AS external_owner,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.last_active_at IS NULL THEN TRUE
                ELSE FALSE END AS never_used,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.as_of IS NULL OR COALESCE(o.last_active_at, o.created_at) IS NULL THEN NULL
                WHEN COALESCE(o.last_active_at, o.created_at) < TIMESTAMP_SUB(o.as_of, INTERVAL o.inactive_days DAY) THEN TRUE
                ELSE FALSE END AS unused_for_inactive_days,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works THEN FALSE
                WHEN o.expires_at IS NULL THEN TRUE
                WHEN o.as_of IS NULL THEN NULL
                WHEN o.expires_at > TIMESTAMP_ADD(o.as_of, INTERVAL 365 DAY) THEN TRUE
                ELSE FALSE END AS no_expiry_within_a_year,
           CASE WHEN o.still_works IS NULL THEN NULL
                WHEN NOT o.still_works OR o.expires_at IS NULL THEN FALSE
                WHEN o.expires_at <= TIMESTAMP_ADD(o.as_of, INTERVAL 30 DAY) THEN TRUE
                ELSE FALSE END AS expires_within_30_days,
           DATE_DIFF(CAST(o.expires_at AS DATE), CAST(o.as_of AS DATE), DAY) AS days_to_expiry
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
) SELECT credential_type, credential_id, label, owner_account_id, owner_name, owner_email, owner_status, status,
       created_at, expires_at, days_to_expiry, last_active_at, scopes, still_works, owner_gone, external_owner,
       never_used, unused_for_inactive_days, no_expiry_within_a_year, expires_within_30_days, priority, as_of
FROM __dbt__cte__int_atlassian_admin__credential_flags
ORDER BY priority, expires_at NULLS LAST, credential_type, credential_id;
