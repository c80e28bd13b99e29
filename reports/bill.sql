-- The bill as Atlassian computes it: one row per paid site, then one `guard` row. Monthly plans
-- are billed on the highest number of users in the cycle (maximum quantity billing): a seat
-- removed now saves from the next cycle (saves_from), and this cycle stays at its peak. Annual
-- plans are bought in user tiers: a saving needs the tier to drop at renewal (saves_from =
-- renewal_date). The cycle and the renewal date come from the contracts table (not in the API).
-- could_be_free: a paid site whose needed seats fit its product's Free plan. The guard row:
-- Atlassian Guard's org-level bill, each unique billed user with product access once
-- (service accounts and users on Enterprise plans excluded), priced by the seat_prices row of
-- product 'guard'; of them, external_users (email domain not verified) and managed_users (on
-- a verified domain), null without the domains stream (a user without an email is in neither).
--
-- GENERATED from dbt/models/marts/atlassian_admin__bill.sql by scripts/generate-reports.py: edit the model
-- and run the script, not this file. Runs on DuckDB and PostgreSQL over one table per stream, named
-- after it (users, user_activity, workspaces, license_assignments; groups, audit_events,
-- domains, api_tokens, service_accounts, seat_counts, empty when not synced), and the
-- reference tables seat_prices, user_tiers, contracts, unseen_products and free_plans
-- (dbt/seeds/*.csv, or your own).
-- Parameters: the SELECT line of __dbt__cte__int_atlassian_admin__params below
-- (docs/license-report.md says what each means).
WITH  __dbt__cte__stg_atlassian_admin__license_assignments as (
-- The license_assignments stream as loaded: every row (each version of a billable role held on
-- a site, deletion records too), every column typed. int_atlassian_admin__license_assignments
-- keeps the seats held now; atlassian_admin__license_assignment_history reads every row.
SELECT
    CAST(s.workspace_id AS TEXT) AS workspace_id,
    CAST(s.account_id AS TEXT) AS account_id,
    CAST(s.role AS TEXT) AS role,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM license_assignments s
),  __dbt__cte__int_atlassian_admin__license_assignments as (
-- The seats held now: the latest row of each (workspace_id, account_id, role), removed seats dropped.
SELECT workspace_id, account_id, role, observed_at
FROM (
    SELECT workspace_id, account_id, role, observed_at, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__license_assignments
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
),  __dbt__cte__stg_atlassian_admin__user_activity as (
-- The user_activity stream as loaded: every row (each version of a user's last activity on a
-- product site, deletion records too), every column typed. int_atlassian_admin__activity keeps
-- the current pairs.
SELECT
    CAST(s.account_id AS TEXT) AS account_id,
    CAST(s.product_id AS TEXT) AS product_id,
    CAST(s.workspace_id AS TEXT) AS workspace_id,
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
),  __dbt__cte__stg_atlassian_admin__domains as (
-- The domains stream as loaded (the organization's claimed email domains, verified or not):
-- every row, every column typed; id as domain_id. No row when the stream is not synced (a
-- missing table in a dbt run): holders are then neither external nor not, but unknown.
SELECT
    CAST(s.id AS TEXT) AS domain_id,
    CAST(s.name AS TEXT) AS name,
    CAST(s.claim_status AS TEXT) AS claim_status,
    CAST(s.verified AS BOOLEAN) AS verified,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM domains s
),  __dbt__cte__stg_atlassian_admin__workspaces as (
-- The workspaces stream (product sites) as loaded, every column typed; id as workspace_id. A
-- table synced in append mode holds a copy per sync: int_atlassian_admin__sites keeps the latest.
SELECT
    CAST(s.id AS TEXT) AS workspace_id,
    CAST(s.name AS TEXT) AS name,
    CAST(s.type_key AS TEXT) AS type_key,
    CAST(s.status AS TEXT) AS status,
    CAST(s.host_url AS TEXT) AS host_url,
    CAST(s.capacity AS BIGINT) AS capacity,
    CAST(s.plan AS TEXT) AS plan,
    CAST(s.sandbox_type AS TEXT) AS sandbox_type,
    CAST(NULL AS TIMESTAMP) AS _airbyte_extracted_at
FROM workspaces s
),  __dbt__cte__int_atlassian_admin__sites as (
-- The report's sites: the ones license_assignments reads (a sandbox copy, sandbox_type CHILD,
-- and an offline site hold no seats). A paid site is one whose plan is known and not Free:
-- only paid sites have money and tier figures and count in the totals. workspaces is read in
-- full every sync: a table synced in append mode holds a copy per sync, of which the latest
-- extracted one counts (_airbyte_extracted_at; a plain table, where it is null, has one copy;
-- `row_no <= 1`, not `= 1`: see current_rows).
SELECT workspace_id, type_key, name, host_url, plan, capacity,
       CASE WHEN plan IS NOT NULL AND LOWER(plan) <> 'free' THEN TRUE ELSE FALSE END AS paid_site
FROM (
    SELECT workspace_id, type_key, name, host_url, plan, capacity, sandbox_type, status,
           ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY _airbyte_extracted_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__workspaces
) latest
WHERE row_no <= 1 AND COALESCE(sandbox_type, 'NONE') <> 'CHILD' AND COALESCE(status, 'online') <> 'offline'
),  __dbt__cte__stg_atlassian_admin__users as (
-- The users stream as loaded: every row (each version of an account, deletion records too),
-- every column typed. int_atlassian_admin__users keeps the current accounts.
SELECT
    CAST(s.account_id AS TEXT) AS account_id,
    CAST(s.status AS TEXT) AS status,
    CAST(s.added_to_org AS TIMESTAMP) AS added_to_org,
    CAST(s.name AS TEXT) AS name,
    CAST(s.email AS TEXT) AS email,
    CAST(s.groups AS JSON) AS groups,
    CAST(s.access_billable AS BOOLEAN) AS access_billable,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM users s
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
),  __dbt__cte__atlassian_admin__license_assignment_history as (
-- Every version of every seat the table holds, with the span it held for: from its observed_at
-- until the next row of the same seat (a deletion row holds "no seat"), and held_since: when
-- the holding that the row belongs to began (the first row after a deletion, or the first row).
-- Appended syncs keep the whole history; append + dedup and full refresh keep the latest row,
-- whose observed_at is then when the current holding was first seen.
WITH rows_in_order AS (
    SELECT workspace_id, account_id, role, observed_at,
           CASE WHEN _ab_cdc_deleted_at IS NULL THEN FALSE ELSE TRUE END AS is_deletion
    FROM __dbt__cte__stg_atlassian_admin__license_assignments
),
marked AS (
    SELECT workspace_id, account_id, role, observed_at, is_deletion,
           LEAD(observed_at) OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at NULLS FIRST) AS superseded_at,
           CASE WHEN NOT is_deletion
                 AND COALESCE(LAG(is_deletion) OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at NULLS FIRST), TRUE)
                THEN observed_at END AS holding_start
    FROM rows_in_order
)
SELECT workspace_id, account_id, role, observed_at, superseded_at, is_deletion,
       CASE WHEN NOT is_deletion
            THEN MAX(holding_start) OVER (PARTITION BY workspace_id, account_id, role ORDER BY observed_at NULLS FIRST
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS held_since
FROM marked
),  __dbt__cte__stg_atlassian_admin__audit_events as (

-- The audit_events stream as loaded, every column typed; id as event_id, time as event_time. An
-- event re-read in a later sync is here once per read: int_atlassian_admin__audit_events keeps one.
SELECT
    CAST(s.id AS TEXT) AS event_id,
    CAST(s.time AS TIMESTAMP) AS event_time,
    CAST(s.processed_at AS TIMESTAMP) AS processed_at,
    CAST(s.action AS TEXT) AS action,
    CAST(s.context AS JSON) AS context
FROM audit_events s
),  __dbt__cte__int_atlassian_admin__audit_events as (

-- The audit log, one row per event (an event never changes: a repeated id is the same event).
SELECT event_id, action, context, event_time
FROM (
    SELECT event_id, action, context, event_time,
           ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY processed_at NULLS FIRST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__audit_events
) events
WHERE row_no <= 1  -- not `= 1`: PostgreSQL guesses a third of the rows, not 0.5 % (see current_rows)
),  __dbt__cte__int_atlassian_admin__access_grants as (

-- When the audit log last granted each user access to each site: per (workspace_id,
-- account_id), the latest event of a grant action (the var atlassian_admin_grant_actions) whose
-- context names both. The context, a JSON list of {id, type, ...}, is read with the warehouse's
-- JSON functions; a user and a site are matched by id, whatever the items' type.
WITH grant_events AS (
    SELECT event_id, context, event_time
    FROM __dbt__cte__int_atlassian_admin__audit_events
    WHERE action IN ('product_access_granted', 'user_granted_product_access')
),
items AS (
    SELECT l.event_id, l.event_time, CAST((l.context -> i.n) ->> 'id' AS TEXT) AS item
FROM grant_events l
JOIN (
    SELECT h.n * 100 + t.n * 10 + u.n AS n
    FROM (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) h
    CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) t
    CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) u
    WHERE h.n * 100 + t.n * 10 + u.n < (SELECT MAX(json_array_length(CASE WHEN (context -> 0) IS NOT NULL THEN context END)) FROM grant_events)
) i ON i.n < json_array_length(CASE WHEN (l.context -> 0) IS NOT NULL THEN l.context END)
)
SELECT s.item AS workspace_id, u.item AS account_id, MAX(u.event_time) AS granted_at
FROM items u
JOIN items s ON s.event_id = u.event_id AND s.item <> u.item
GROUP BY s.item, u.item
),  __dbt__cte__int_atlassian_admin__seat_dates as (
-- When each holder's seat on a site began, as far as the data tells: when the current holding
-- of the seat was first seen (license_assignments), if a day or more after the site's first row
-- (before, the seat was there when the site was first synced, and its age is unknown; a sync's
-- rows are observed over its minutes, not at one instant); and, when the
-- audit log is synced, the latest event that granted the user access to the site.
-- A seat's latest row is the one nothing superseded; held_since is null when it is a deletion.
WITH firsts AS (
    SELECT workspace_id, account_id, MIN(held_since) AS first_observed
    FROM __dbt__cte__atlassian_admin__license_assignment_history
    WHERE superseded_at IS NULL AND held_since IS NOT NULL
    GROUP BY workspace_id, account_id
),
site_firsts AS (
    SELECT workspace_id, MIN(observed_at) AS site_first_observed
    FROM __dbt__cte__atlassian_admin__license_assignment_history
    GROUP BY workspace_id
)
SELECT f.workspace_id, f.account_id,
       CASE WHEN sf.site_first_observed <= f.first_observed - 1 * INTERVAL '1 day' THEN f.first_observed END AS seat_first_observed,
       g.granted_at AS granted_at
FROM firsts f
JOIN site_firsts sf ON sf.workspace_id = f.workspace_id
LEFT JOIN __dbt__cte__int_atlassian_admin__access_grants g ON g.workspace_id = f.workspace_id AND g.account_id = f.account_id
),  __dbt__cte__stg_atlassian_admin__api_tokens as (
-- The api_tokens stream as loaded (the managed accounts' API tokens: owner and last use, never
-- a secret): every row, every column typed; id as token_id. No row when not synced.
SELECT
    CAST(s.id AS TEXT) AS token_id,
    CAST(s.label AS TEXT) AS label,
    CAST(s.status AS TEXT) AS status,
    CAST(s.created_at AS TIMESTAMP) AS created_at,
    CAST(s.expires_at AS TIMESTAMP) AS expires_at,
    CAST(s.last_active_at AS TIMESTAMP) AS last_active_at,
    CAST(s.account_id AS TEXT) AS account_id,
    CAST(s.owner_name AS TEXT) AS owner_name,
    CAST(s.owner_email AS TEXT) AS owner_email,
    CAST(s.scopes AS JSON) AS scopes,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM api_tokens s
),  __dbt__cte__int_atlassian_admin__token_use as (
-- Each user's latest use of one of their API tokens: per owner (account_id), the newest
-- last_active_at over their current tokens (latest row of each token, tokens gone from the list
-- dropped). API use is not product activity: "last active" does not see it. Empty when the
-- api_tokens stream is not synced (it lists managed accounts' tokens only).
SELECT account_id, MAX(last_active_at) AS api_last_active
FROM (SELECT token_id, account_id, last_active_at
FROM (
    SELECT token_id, account_id, last_active_at, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY token_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__api_tokens
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1) current_tokens
WHERE account_id IS NOT NULL AND last_active_at IS NOT NULL
GROUP BY account_id
),  __dbt__cte__stg_atlassian_admin__service_accounts as (
-- The service_accounts stream as loaded: every row, every column typed; id as
-- service_account_id, atlassian_id the account id the users search shows. No row when not synced.
SELECT
    CAST(s.id AS TEXT) AS service_account_id,
    CAST(s.atlassian_id AS TEXT) AS atlassian_id,
    CAST(s.email AS TEXT) AS email,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM service_accounts s
),  __dbt__cte__int_atlassian_admin__service_accounts as (
-- The organization's service accounts now, by the account id the users search shows
-- (atlassian_id): the latest row of each, removed ones dropped. Empty when the service_accounts
-- stream is not synced (int_atlassian_admin__seat_holders then tells them by their email).
SELECT DISTINCT atlassian_id AS account_id
FROM (SELECT service_account_id, atlassian_id
FROM (
    SELECT service_account_id, atlassian_id, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY service_account_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__service_accounts
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1) current_service_accounts
WHERE atlassian_id IS NOT NULL
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
),  __dbt__cte__int_atlassian_admin__params as (
-- The report's parameters (dbt vars; in reports/*.sql, the line to edit).
SELECT 30 AS active_days, 90 AS inactive_days, 10 AS headroom_pct, 'monthly' AS billing_cycle, 30 AS trend_days, CAST(NULL AS TIMESTAMP) AS as_of, FALSE AS unseen_in_savings
),  __dbt__cte__int_atlassian_admin__bounds as (
-- The time windows, which end at as_of: the as_of var, else the newest activity in the data
-- (the data's own "now", so a report over a given sync is reproducible).
SELECT as_of,
       as_of - active_days * INTERVAL '1 day' AS active_since,
       as_of - inactive_days * INTERVAL '1 day' AS inactive_before
FROM (SELECT p.active_days, p.inactive_days,
             COALESCE(p.as_of, (SELECT MAX(last_active) FROM __dbt__cte__int_atlassian_admin__activity)) AS as_of
      FROM __dbt__cte__int_atlassian_admin__params p) resolved
),  __dbt__cte__int_atlassian_admin__seat_holders as (
-- One row per user holding a billable seat on a report site (atlassian/user and atlassian/admin
-- on the same site count once), with their last activity on THAT site, every input of the rules
-- and the one category the holder is in (docs/license-report.md, "Every seat holder in one
-- category"), the first that applies:
--   service_account  listed by the service_accounts stream (atlassian_id), else an email ending
--                    @serviceaccount.atlassian.com: Atlassian bills none, never reclaimable;
--   not_billed       not billed: access_billable where the API gives it, else a status of
--                    suspended, deactivated or for_deletion (removing the seat saves nothing);
--   active           used the site within inactive_days;
--   active_via_api   no product activity within inactive_days, but one of the holder's API
--                    tokens used within it (an integration user: keep; consider a service account);
--   new              seat_since within inactive_days (users.added_to_org, the seat's first
--                    observation, the audit log's grant): a new holder who may not have started;
--   unseen           a product whose activity the API cannot fully see (the unseen_products
--                    table: Bitbucket, git over the command line): verify in the product first;
--   reclaimable      the rest: billed, idle on the site for inactive_days (or never), not new.
-- The older flags (billed, is_new, reclaimable, new_not_active) follow from the category.
WITH seats AS (
    SELECT workspace_id, account_id, STRING_AGG(role, ',' ORDER BY role NULLS FIRST) AS roles
    FROM __dbt__cte__int_atlassian_admin__license_assignments
    GROUP BY workspace_id, account_id
),
holders AS (
    SELECT s.workspace_id, s.account_id, s.roles, MAX(a.last_active) AS last_active
    FROM seats s
    LEFT JOIN __dbt__cte__int_atlassian_admin__activity a ON a.workspace_id = s.workspace_id AND a.account_id = s.account_id
    GROUP BY s.workspace_id, s.account_id, s.roles
),
dated AS (
    SELECT h.workspace_id, h.account_id, h.roles, h.last_active,
           u.name, u.email, u.status AS user_status, u.access_billable, u.added_to_org,
           d.seat_first_observed, d.granted_at, t.api_last_active,
           CASE WHEN sa.account_id IS NOT NULL OR LOWER(COALESCE(u.email, '')) LIKE '%@serviceaccount.atlassian.com'
                THEN TRUE ELSE FALSE END AS service_account,
           CASE WHEN u.access_billable IS NOT NULL THEN u.access_billable
     WHEN LOWER(COALESCE(u.status, 'active')) IN ('suspended', 'deactivated', 'for_deletion') THEN FALSE
     ELSE TRUE END AS billable_user,
           CASE WHEN up.product_type_key IS NOT NULL THEN TRUE ELSE FALSE END AS unseen_product,
           -- The email's domain against the verified ones; unknown without a domains table or an
           -- email; a service account is the org's own.
           CASE WHEN NOT EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__domains) THEN NULL
                WHEN sa.account_id IS NOT NULL OR LOWER(COALESCE(u.email, '')) LIKE '%@serviceaccount.atlassian.com' THEN FALSE
                WHEN u.email IS NULL OR u.email NOT LIKE '%@%' THEN NULL
                WHEN vd.domain IS NOT NULL THEN FALSE
                ELSE TRUE END AS external,
           GREATEST(COALESCE(u.added_to_org, d.seat_first_observed, d.granted_at),
                    COALESCE(d.seat_first_observed, d.granted_at, u.added_to_org),
                    COALESCE(d.granted_at, u.added_to_org, d.seat_first_observed)) AS seat_since
    FROM holders h
    JOIN __dbt__cte__int_atlassian_admin__sites st ON st.workspace_id = h.workspace_id
    LEFT JOIN __dbt__cte__int_atlassian_admin__users u ON u.account_id = h.account_id
    LEFT JOIN __dbt__cte__int_atlassian_admin__seat_dates d ON d.workspace_id = h.workspace_id AND d.account_id = h.account_id
    LEFT JOIN __dbt__cte__int_atlassian_admin__token_use t ON t.account_id = h.account_id
    LEFT JOIN __dbt__cte__int_atlassian_admin__service_accounts sa ON sa.account_id = h.account_id
    LEFT JOIN (SELECT DISTINCT product_type_key FROM unseen_products) up ON up.product_type_key = st.type_key
    LEFT JOIN __dbt__cte__int_atlassian_admin__verified_domains vd
      ON vd.domain = LOWER(SPLIT_PART(u.email, '@', 2))
),
flagged AS (
    SELECT d.*,
           CASE WHEN d.last_active >= b.active_since THEN TRUE ELSE FALSE END AS active_recent,
           CASE WHEN d.last_active >= b.inactive_before THEN TRUE ELSE FALSE END AS active_within_inactive_days,
           CASE WHEN d.api_last_active >= b.inactive_before THEN TRUE ELSE FALSE END AS api_used,
           CASE WHEN d.seat_since >= b.inactive_before THEN TRUE ELSE FALSE END AS is_new
    FROM dated d
    CROSS JOIN __dbt__cte__int_atlassian_admin__bounds b
),
categorised AS (
    SELECT f.*,
           CASE WHEN service_account THEN 'service_account'
                WHEN NOT billable_user THEN 'not_billed'
                WHEN active_within_inactive_days THEN 'active'
                WHEN api_used THEN 'active_via_api'
                WHEN is_new THEN 'new'
                WHEN unseen_product THEN 'unseen'
                ELSE 'reclaimable' END AS category
    FROM flagged f
)
SELECT workspace_id, account_id, roles, last_active, api_last_active, name, email, user_status, access_billable, added_to_org,
       seat_first_observed, granted_at, seat_since, category,
       CASE WHEN category IN ('service_account', 'not_billed') THEN FALSE ELSE TRUE END AS billed,
       service_account,
       external,
       unseen_product, active_recent, active_within_inactive_days,
       CASE WHEN category = 'active_via_api' THEN TRUE ELSE FALSE END AS active_via_api,
       is_new,
       CASE WHEN category = 'reclaimable' THEN TRUE ELSE FALSE END AS reclaimable,
       CASE WHEN category = 'new' THEN TRUE ELSE FALSE END AS new_not_active
FROM categorised
),  __dbt__cte__int_atlassian_admin__billing_terms as (
-- When each subscription bills, from the contract (the contracts table: neither the cycle nor the
-- renewal date is in the admin API). One row per report site, and one for Atlassian Guard
-- (product 'guard', no site): the contract row naming the site (product and site_url), else the
-- product's row (no site_url); its billing cycle, else the billing_cycle var's (dates unknown).
--   monthly  billed on the highest number of users in each cycle (maximum quantity billing): the
--            cycle runs from cycle_start_day (a day a month lacks is its last) to the next one; a
--            seat removed now saves from next_cycle_start;
--   annual   bought in user tiers: a saving needs the tier to drop at renewal_date (the
--            contract's date, rolled forward by whole years to the first on or after as_of).
-- The dates are taken relative to as_of's day.
WITH subscriptions AS (
    SELECT workspace_id, type_key, host_url FROM __dbt__cte__int_atlassian_admin__sites
    UNION ALL
    SELECT CAST(NULL AS TEXT), 'guard', CAST(NULL AS TEXT)
),
contracts AS (
    SELECT CAST(product_type_key AS TEXT) AS product_type_key,
           LOWER(RTRIM(NULLIF(TRIM(CAST(site_url AS TEXT)), ''), '/')) AS site_url,
           LOWER(TRIM(CAST(billing_cycle AS TEXT))) AS billing_cycle,
           CAST(cycle_start_day AS BIGINT) AS cycle_start_day,
           CAST(renewal_date AS DATE) AS renewal_date
    FROM contracts
),
matched AS (
    SELECT s.workspace_id, s.type_key, c.billing_cycle, c.cycle_start_day, c.renewal_date,
           CASE WHEN c.site_url IS NOT NULL THEN 'site' WHEN c.product_type_key IS NOT NULL THEN 'product' END AS contract_match,
           ROW_NUMBER() OVER (PARTITION BY s.workspace_id, s.type_key
                              ORDER BY CASE WHEN c.site_url IS NOT NULL THEN 0 ELSE 1 END, c.billing_cycle, c.cycle_start_day, c.renewal_date) AS row_no
    FROM subscriptions s
    LEFT JOIN contracts c
      ON c.product_type_key = s.type_key
     AND (c.site_url IS NULL OR c.site_url = LOWER(RTRIM(s.host_url, '/')))
),
chosen AS (
    SELECT m.workspace_id, m.type_key, m.contract_match,
           COALESCE(m.billing_cycle, LOWER(p.billing_cycle)) AS billing_cycle,
           CASE WHEN m.billing_cycle = 'monthly' AND m.cycle_start_day BETWEEN 1 AND 31 THEN m.cycle_start_day END AS cycle_start_day,
           CASE WHEN m.billing_cycle = 'annual' THEN m.renewal_date END AS contract_renewal_date,
           CAST(b.as_of AS DATE) AS bill_day,
           CAST(DATE_TRUNC('month', CAST(b.as_of AS DATE)) AS DATE) AS m0
    FROM matched m
    CROSS JOIN __dbt__cte__int_atlassian_admin__params p
    CROSS JOIN __dbt__cte__int_atlassian_admin__bounds b
    WHERE m.row_no = 1
),
months AS (
    SELECT c.*,
           CAST(m0 + (-1) * INTERVAL '1 month' AS DATE) AS m_prev,
           CAST(m0 + (1) * INTERVAL '1 month' AS DATE) AS m_next,
           CAST(m0 + (2) * INTERVAL '1 month' AS DATE) AS m_after,
           CAST(EXTRACT(YEAR FROM bill_day) AS BIGINT)
             - CAST(EXTRACT(YEAR FROM contract_renewal_date) AS BIGINT) AS years_since
    FROM chosen c
),
starts AS (
    SELECT m.*,
           m_prev + CAST(LEAST(cycle_start_day, (m0 - m_prev)) - 1 AS INTEGER) AS start_prev,
           m0 + CAST(LEAST(cycle_start_day, (m_next - m0)) - 1 AS INTEGER) AS start_this,
           m_next + CAST(LEAST(cycle_start_day, (m_after - m_next)) - 1 AS INTEGER) AS start_next,
           CAST(contract_renewal_date + (12 * years_since) * INTERVAL '1 month' AS DATE) AS renewal_this_year,
           CAST(contract_renewal_date + (12 * (years_since + 1)) * INTERVAL '1 month' AS DATE) AS renewal_next_year
    FROM months m
),
dated AS (
    SELECT workspace_id, type_key, contract_match, billing_cycle, cycle_start_day,
           CASE WHEN cycle_start_day IS NULL THEN NULL WHEN start_this <= bill_day THEN start_this ELSE start_prev END AS cycle_start,
           CASE WHEN cycle_start_day IS NULL THEN NULL WHEN start_this <= bill_day THEN start_next ELSE start_this END AS next_cycle_start,
           CASE WHEN contract_renewal_date IS NULL THEN NULL
                WHEN contract_renewal_date >= bill_day THEN contract_renewal_date
                WHEN renewal_this_year >= bill_day THEN renewal_this_year
                ELSE renewal_next_year END AS renewal_date
    FROM starts
)
SELECT workspace_id, type_key, contract_match, billing_cycle, cycle_start_day, cycle_start, next_cycle_start, renewal_date,
       CASE WHEN billing_cycle = 'monthly' THEN next_cycle_start
            WHEN billing_cycle = 'annual' THEN renewal_date END AS saves_from
FROM dated
),  __dbt__cte__int_atlassian_admin__billed_history as (
-- How many users Atlassian bills on each site over the seat history: one row per site and
-- instant at which the number may change (a seat row observed or superseded, a users row
-- observed), with billed_holders, the count from that instant on. A holder counts while they
-- hold a billable role there (license_assignments' spans: atlassian_admin__license_assignment_history),
-- are billed as of that instant (the latest users row observed by then, not a deletion record;
-- before their first, that row's state), and are not a service account. The peak of a billing
-- cycle is read from it (int_atlassian_admin__site_bill). Appended syncs keep every change; a
-- deduplicated or full-refresh table holds today's seats from when each was first seen (or
-- synced), so its peak is today's count.
WITH role_events AS (
    SELECT workspace_id, account_id, observed_at AS changed_at, 1 AS delta
    FROM __dbt__cte__atlassian_admin__license_assignment_history
    WHERE NOT is_deletion AND observed_at IS NOT NULL
    UNION ALL
    SELECT workspace_id, account_id, superseded_at, -1
    FROM __dbt__cte__atlassian_admin__license_assignment_history
    WHERE NOT is_deletion AND observed_at IS NOT NULL AND superseded_at IS NOT NULL
),
holders AS (
    SELECT DISTINCT workspace_id, account_id FROM role_events
),
user_states AS (
    SELECT account_id, observed_at AS changed_at,
           CASE WHEN access_billable IS NOT NULL THEN access_billable
     WHEN LOWER(COALESCE(status, 'active')) IN ('suspended', 'deactivated', 'for_deletion') THEN FALSE
     ELSE TRUE END AS billed,
           ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY observed_at NULLS FIRST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__users
    WHERE _ab_cdc_deleted_at IS NULL AND observed_at IS NOT NULL
),
first_states AS (
    SELECT account_id, CASE WHEN billed THEN 1 ELSE 0 END AS first_billed
    FROM user_states
    WHERE row_no <= 1  -- not `= 1`: see current_rows
),
service_accounts AS (
    SELECT DISTINCT account_id
    FROM (SELECT account_id FROM __dbt__cte__int_atlassian_admin__service_accounts
          UNION ALL
          SELECT account_id FROM __dbt__cte__int_atlassian_admin__users
          WHERE LOWER(COALESCE(email, '')) LIKE '%@serviceaccount.atlassian.com') listed
),
points AS (
    SELECT workspace_id, account_id, changed_at, delta AS role_delta, CAST(NULL AS BIGINT) AS billed_flag
    FROM role_events
    UNION ALL
    SELECT h.workspace_id, h.account_id, us.changed_at, 0, CASE WHEN us.billed THEN 1 ELSE 0 END
    FROM holders h
    JOIN user_states us ON us.account_id = h.account_id
),
merged AS (
    SELECT workspace_id, account_id, changed_at, SUM(role_delta) AS role_delta, MAX(billed_flag) AS billed_flag
    FROM points
    GROUP BY workspace_id, account_id, changed_at
),
running AS (
    SELECT workspace_id, account_id, changed_at, billed_flag,
           SUM(role_delta) OVER (PARTITION BY workspace_id, account_id ORDER BY changed_at NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS roles_held,
           COUNT(billed_flag) OVER (PARTITION BY workspace_id, account_id ORDER BY changed_at NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS state_no
    FROM merged
),
stated AS (
    SELECT workspace_id, account_id, changed_at, roles_held,
           MAX(billed_flag) OVER (PARTITION BY workspace_id, account_id, state_no) AS billed_flag
    FROM running
),
counted AS (
    SELECT s.workspace_id, s.account_id, s.changed_at,
           CASE WHEN s.roles_held > 0 AND COALESCE(s.billed_flag, f.first_billed, 1) = 1 AND sa.account_id IS NULL
                THEN 1 ELSE 0 END AS counted
    FROM stated s
    LEFT JOIN first_states f ON f.account_id = s.account_id
    LEFT JOIN service_accounts sa ON sa.account_id = s.account_id
),
changes AS (
    SELECT workspace_id, changed_at,
           counted - COALESCE(LAG(counted) OVER (PARTITION BY workspace_id, account_id ORDER BY changed_at NULLS FIRST), 0) AS delta
    FROM counted
),
site_changes AS (
    SELECT workspace_id, changed_at, SUM(delta) AS delta
    FROM changes
    GROUP BY workspace_id, changed_at
)
SELECT workspace_id, changed_at,
       SUM(delta) OVER (PARTITION BY workspace_id ORDER BY changed_at NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS billed_holders
FROM site_changes
),  __dbt__cte__stg_atlassian_admin__seat_counts as (
-- The seat_counts stream as loaded: Atlassian's own count of users per site and billable role
-- (users/count); count as seat_count. No row when not synced.
SELECT
    CAST(s.workspace_id AS TEXT) AS workspace_id,
    CAST(s.role AS TEXT) AS role,
    CAST(s.count AS BIGINT) AS seat_count,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM seat_counts s
),  __dbt__cte__int_atlassian_admin__seat_counts as (
-- Atlassian's own seat counts now: per site and billable role, the latest count (users/count
-- with the site's resourceIds and the role's roleIds, as license_assignments searches), counts
-- no longer read dropped. Empty when the seat_counts stream is not synced.
SELECT workspace_id, role, seat_count
FROM (SELECT workspace_id, role, seat_count
FROM (
    SELECT workspace_id, role, seat_count, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY workspace_id, role ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__seat_counts
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1) current_counts
WHERE role IN ('atlassian/user', 'atlassian/admin')
),  __dbt__cte__int_atlassian_admin__site_prices as (
-- The price of a seat on each paid site: the seat_prices row of its product, plan and billing
-- cycle — the contract's (int_atlassian_admin__billing_terms), else the billing_cycle var's —
-- matched case-insensitively; the highest if several match.
SELECT s.workspace_id,
       MAX(CAST(pr.price_per_seat_month AS DECIMAL(12, 4))) AS price_per_seat_month,
       MAX(pr.currency) AS currency
FROM __dbt__cte__int_atlassian_admin__sites s
JOIN __dbt__cte__int_atlassian_admin__billing_terms bt ON bt.workspace_id = s.workspace_id
JOIN seat_prices pr
  ON pr.product_type_key = s.type_key AND LOWER(pr.plan) = LOWER(s.plan) AND LOWER(pr.billing_cycle) = bt.billing_cycle
WHERE s.paid_site AND pr.price_per_seat_month IS NOT NULL
GROUP BY s.workspace_id
),  __dbt__cte__int_atlassian_admin__site_figures as (
-- Per report site: its seat holders counted by category, the seats it needs and the user tiers
-- that would hold them, its price, its external holders, and Atlassian's own seat count beside
-- the report's (the marts atlassian_admin__license_utilization and atlassian_admin__bill read it).
WITH per_site AS (
    SELECT workspace_id,
           COUNT(*) AS seats_assigned,
           SUM(CASE WHEN billed THEN 1 ELSE 0 END) AS seats_billed,
           SUM(CASE WHEN category = 'not_billed' THEN 1 ELSE 0 END) AS not_billed,
           SUM(CASE WHEN category = 'service_account' THEN 1 ELSE 0 END) AS service_accounts,
           SUM(CASE WHEN category = 'active' AND active_recent THEN 1 ELSE 0 END) AS active_recent,
           SUM(CASE WHEN category = 'active' THEN 1 ELSE 0 END) AS active,
           SUM(CASE WHEN category = 'active_via_api' THEN 1 ELSE 0 END) AS active_via_api,
           SUM(CASE WHEN category = 'new' THEN 1 ELSE 0 END) AS new_not_active,
           SUM(CASE WHEN category = 'unseen' THEN 1 ELSE 0 END) AS unseen,
           SUM(CASE WHEN category = 'reclaimable' THEN 1 ELSE 0 END) AS reclaimable,
           SUM(CASE WHEN category = 'reclaimable' AND last_active IS NULL THEN 1 ELSE 0 END) AS never_active,
           SUM(CASE WHEN billed AND external THEN 1 ELSE 0 END) AS external_holders,
           COUNT(CASE WHEN billed AND external IS NULL THEN 1 END) AS external_unknown
    FROM __dbt__cte__int_atlassian_admin__seat_holders
    GROUP BY workspace_id
),
-- The report's holders per site and billable role, beside Atlassian's count of the same.
role_counts AS (
    SELECT workspace_id, role, COUNT(DISTINCT account_id) AS holders
    FROM __dbt__cte__int_atlassian_admin__license_assignments
    GROUP BY workspace_id, role
),
reconciled AS (
    SELECT c.workspace_id,
           SUM(c.seat_count) AS atlassian_seat_count,
           SUM(COALESCE(r.holders, 0)) AS role_seat_count,
           SUM(CASE WHEN c.seat_count = COALESCE(r.holders, 0) THEN 0 ELSE 1 END) AS roles_differing
    FROM __dbt__cte__int_atlassian_admin__seat_counts c
    LEFT JOIN role_counts r ON r.workspace_id = c.workspace_id AND r.role = c.role
    GROUP BY c.workspace_id
),
-- A role the report has holders for and Atlassian no count of, on a site it counts.
uncounted AS (
    SELECT r.workspace_id, SUM(r.holders) AS holders
    FROM role_counts r
    WHERE r.workspace_id IN (SELECT workspace_id FROM __dbt__cte__int_atlassian_admin__seat_counts)
      AND NOT EXISTS (SELECT 1 FROM __dbt__cte__int_atlassian_admin__seat_counts c WHERE c.workspace_id = r.workspace_id AND c.role = r.role)
    GROUP BY r.workspace_id
),
-- Seats the site needs: the billed holders it keeps (active, active through the API, new, and
-- unseen unless unseen_in_savings), plus headroom_pct, rounded up.
needs AS (
    SELECT s.workspace_id, s.type_key,
           COALESCE(ps.active, 0) + COALESCE(ps.active_via_api, 0) + COALESCE(ps.new_not_active, 0)
             + CASE WHEN p.unseen_in_savings THEN 0 ELSE COALESCE(ps.unseen, 0) END AS seats_kept,
           CASE WHEN s.paid_site
                THEN CAST(CEIL((COALESCE(ps.active, 0) + COALESCE(ps.active_via_api, 0) + COALESCE(ps.new_not_active, 0)
                                + CASE WHEN p.unseen_in_savings THEN 0 ELSE COALESCE(ps.unseen, 0) END)
                               * (100 + p.headroom_pct) / 100.0) AS INTEGER)
           END AS seats_needed
    FROM __dbt__cte__int_atlassian_admin__sites s
    CROSS JOIN __dbt__cte__int_atlassian_admin__params p
    LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
),
tiers AS (
    SELECT CAST(product_type_key AS TEXT) AS product_type_key, CAST(tier_users AS INTEGER) AS tier_users
    FROM user_tiers
),
-- The right tier: the smallest user tier of the product that holds seats_needed.
right_tiers AS (
    SELECT n.workspace_id, MIN(t.tier_users) AS right_tier
    FROM needs n
    JOIN tiers t ON t.product_type_key = n.type_key AND t.tier_users >= n.seats_needed
    GROUP BY n.workspace_id
),
-- The tier below the one paid for (the capacity): the largest tier of the product under it.
lower_tiers AS (
    SELECT s.workspace_id, MAX(t.tier_users) AS lower_tier
    FROM __dbt__cte__int_atlassian_admin__sites s
    JOIN tiers t ON t.product_type_key = s.type_key AND t.tier_users < s.capacity
    WHERE s.paid_site
    GROUP BY s.workspace_id
),
free_plans AS (
    SELECT CAST(product_type_key AS TEXT) AS product_type_key, MIN(CAST(free_users AS INTEGER)) AS free_users
    FROM free_plans
    GROUP BY CAST(product_type_key AS TEXT)
)
SELECT s.workspace_id, s.type_key, s.name, s.host_url, s.plan, s.paid_site, s.capacity,
       COALESCE(ps.seats_assigned, 0) AS seats_assigned,
       COALESCE(ps.seats_billed, 0) AS seats_billed,
       COALESCE(ps.not_billed, 0) AS not_billed,
       COALESCE(ps.service_accounts, 0) AS service_accounts,
       COALESCE(ps.active_recent, 0) AS active_recent,
       COALESCE(ps.active, 0) AS active,
       COALESCE(ps.active_via_api, 0) AS active_via_api,
       COALESCE(ps.new_not_active, 0) AS new_not_active,
       COALESCE(ps.unseen, 0) AS unseen,
       COALESCE(ps.reclaimable, 0) AS reclaimable,
       COALESCE(ps.never_active, 0) AS never_active,
       -- What a saving counts: the reclaimable seats, and the unseen ones when unseen_in_savings.
       COALESCE(ps.reclaimable, 0) + CASE WHEN p.unseen_in_savings THEN COALESCE(ps.unseen, 0) ELSE 0 END AS seats_to_reclaim,
       CASE WHEN NOT EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__domains) THEN NULL
            ELSE COALESCE(ps.external_holders, 0) END AS external_holders,
       n.seats_kept, n.seats_needed, rt.right_tier, lt.lower_tier,
       fp.free_users AS free_plan_users,
       CASE WHEN s.paid_site AND fp.free_users IS NOT NULL THEN
            CASE WHEN n.seats_needed <= fp.free_users THEN TRUE ELSE FALSE END END AS could_be_free,
       pr.price_per_seat_month, pr.currency,
       rc.atlassian_seat_count,
       rc.role_seat_count + COALESCE(uc.holders, 0) AS report_seat_count,
       CASE WHEN rc.workspace_id IS NULL THEN NULL
            WHEN rc.roles_differing = 0 AND uc.workspace_id IS NULL THEN TRUE
            ELSE FALSE END AS counts_agree
FROM __dbt__cte__int_atlassian_admin__sites s
CROSS JOIN __dbt__cte__int_atlassian_admin__params p
JOIN needs n ON n.workspace_id = s.workspace_id
LEFT JOIN per_site ps ON ps.workspace_id = s.workspace_id
LEFT JOIN right_tiers rt ON rt.workspace_id = s.workspace_id
LEFT JOIN lower_tiers lt ON lt.workspace_id = s.workspace_id
LEFT JOIN free_plans fp ON fp.product_type_key = s.type_key
LEFT JOIN __dbt__cte__int_atlassian_admin__site_prices pr ON pr.workspace_id = s.workspace_id
LEFT JOIN reconciled rc ON rc.workspace_id = s.workspace_id
LEFT JOIN uncounted uc ON uc.workspace_id = s.workspace_id
),  __dbt__cte__int_atlassian_admin__site_bill as (
-- The bill of each paid site as Atlassian computes it, from the contract's terms
-- (int_atlassian_admin__billing_terms):
--   monthly  maximum quantity billing: this cycle is billed on its highest number of billed
--            users (peak_billed_this_cycle, from the seat history: the count when the cycle began
--            and at every change since, through the cycle's end), so a seat removed now saves from
--            the next cycle (saves_from) on, at billed_after_reclaim;
--   annual   a tier bought for the year: a saving needs the tier to drop at renewal
--            (saves_from = renewal_date): the right tier then, and how many billed users must
--            go for the tier below the one paid for.
-- The peak is null when the seat history does not reach into the cycle (its first row is
-- after the cycle's end), and counted from peak_since when it begins within it.
WITH history AS (
    SELECT h.workspace_id, h.changed_at, h.billed_holders, bt.cycle_start, bt.next_cycle_start
    FROM __dbt__cte__int_atlassian_admin__billed_history h
    JOIN __dbt__cte__int_atlassian_admin__billing_terms bt ON bt.workspace_id = h.workspace_id
    WHERE bt.billing_cycle = 'monthly' AND bt.cycle_start IS NOT NULL
),
at_cycle_start AS (
    SELECT workspace_id, billed_holders
    FROM (SELECT workspace_id, billed_holders, ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY changed_at DESC) AS row_no
          FROM history
          WHERE changed_at < CAST(cycle_start AS TIMESTAMP)) last_before
    WHERE row_no <= 1  -- not `= 1`: see current_rows
),
within_cycle AS (
    SELECT workspace_id, MAX(billed_holders) AS peak, MIN(changed_at) AS first_at
    FROM history
    WHERE changed_at >= CAST(cycle_start AS TIMESTAMP) AND changed_at < CAST(next_cycle_start AS TIMESTAMP)
    GROUP BY workspace_id
),
peaks AS (
    SELECT bt.workspace_id,
           CASE WHEN s.billed_holders IS NULL THEN w.peak
                WHEN w.peak IS NULL OR s.billed_holders >= w.peak THEN s.billed_holders
                ELSE w.peak END AS peak_billed_this_cycle,
           CASE WHEN s.billed_holders IS NOT NULL THEN CAST(bt.cycle_start AS TIMESTAMP) ELSE w.first_at END AS peak_since
    FROM __dbt__cte__int_atlassian_admin__billing_terms bt
    LEFT JOIN at_cycle_start s ON s.workspace_id = bt.workspace_id
    LEFT JOIN within_cycle w ON w.workspace_id = bt.workspace_id
    WHERE bt.billing_cycle = 'monthly' AND bt.cycle_start IS NOT NULL
)
SELECT f.workspace_id, f.type_key, f.name, f.host_url, f.plan,
       bt.billing_cycle, bt.contract_match, bt.cycle_start, bt.saves_from,
       CASE WHEN bt.billing_cycle = 'annual' THEN bt.renewal_date END AS renewal_date,
       f.capacity AS seats_paid, f.seats_billed, pk.peak_billed_this_cycle, pk.peak_since,
       f.seats_to_reclaim, f.seats_billed - f.seats_to_reclaim AS billed_after_reclaim,
       CASE WHEN bt.billing_cycle = 'annual' THEN f.right_tier END AS tier_at_renewal,
       CASE WHEN bt.billing_cycle = 'annual' THEN f.lower_tier END AS lower_tier,
       CASE WHEN bt.billing_cycle = 'annual' AND f.lower_tier IS NOT NULL
            THEN CASE WHEN f.seats_billed > f.lower_tier THEN f.seats_billed - f.lower_tier ELSE 0 END END AS seats_to_free_for_lower_tier,
       f.seats_needed, f.free_plan_users, f.could_be_free, f.external_holders,
       f.price_per_seat_month, f.currency,
       CASE WHEN bt.billing_cycle = 'monthly' THEN pk.peak_billed_this_cycle * f.price_per_seat_month
            WHEN bt.billing_cycle = 'annual' THEN f.capacity * f.price_per_seat_month END AS bill_month,
       CASE WHEN bt.billing_cycle = 'monthly' THEN (f.seats_billed - f.seats_to_reclaim) * f.price_per_seat_month
            WHEN bt.billing_cycle = 'annual' THEN f.right_tier * f.price_per_seat_month END AS bill_after_month,
       CASE WHEN bt.billing_cycle = 'monthly' THEN f.seats_to_reclaim * f.price_per_seat_month
            WHEN bt.billing_cycle = 'annual' THEN (f.capacity - f.right_tier) * f.price_per_seat_month END AS saving_month
FROM __dbt__cte__int_atlassian_admin__site_figures f
JOIN __dbt__cte__int_atlassian_admin__billing_terms bt ON bt.workspace_id = f.workspace_id
LEFT JOIN peaks pk ON pk.workspace_id = f.workspace_id
WHERE f.paid_site
), guard_users AS (
    SELECT h.account_id, MAX(CASE WHEN h.external THEN 1 WHEN NOT h.external THEN 0 END) AS external
    FROM __dbt__cte__int_atlassian_admin__seat_holders h
    JOIN __dbt__cte__int_atlassian_admin__sites s ON s.workspace_id = h.workspace_id
    WHERE h.billed AND LOWER(COALESCE(s.plan, '')) <> 'enterprise'
    GROUP BY h.account_id
),
guard_price AS (
    SELECT MAX(CAST(pr.price_per_seat_month AS DECIMAL(12, 4))) AS price_per_seat_month, MAX(pr.currency) AS currency
    FROM __dbt__cte__int_atlassian_admin__billing_terms bt
    JOIN seat_prices pr
      ON pr.product_type_key = 'guard' AND LOWER(pr.billing_cycle) = bt.billing_cycle
    WHERE bt.type_key = 'guard' AND bt.workspace_id IS NULL AND pr.price_per_seat_month IS NOT NULL
),
guard_row AS (
    SELECT CAST('guard' AS TEXT) AS product,
           'Atlassian Guard (organization)' AS site_name,
           CAST(NULL AS TEXT) AS site_url,
           CAST(NULL AS TEXT) AS plan,
           bt.billing_cycle, bt.contract_match, bt.cycle_start, bt.saves_from,
           CASE WHEN bt.billing_cycle = 'annual' THEN bt.renewal_date END AS renewal_date,
           CAST(NULL AS BIGINT) AS seats_paid,
           (SELECT COUNT(*) FROM guard_users) AS seats_billed,
           CAST(NULL AS BIGINT) AS peak_billed_this_cycle,
           CAST(NULL AS TIMESTAMP) AS peak_since,
           CAST(NULL AS BIGINT) AS seats_to_reclaim,
           CAST(NULL AS BIGINT) AS billed_after_reclaim,
           CAST(NULL AS BIGINT) AS tier_at_renewal,
           CAST(NULL AS BIGINT) AS lower_tier,
           CAST(NULL AS BIGINT) AS seats_to_free_for_lower_tier,
           CAST(NULL AS BIGINT) AS seats_needed,
           CAST(NULL AS BIGINT) AS free_plan_users,
           CAST(NULL AS BOOLEAN) AS could_be_free,
           CASE WHEN EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__domains)
                THEN (SELECT COUNT(*) FROM guard_users WHERE external = 1) END AS external_users,
           CASE WHEN EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__domains)
                THEN (SELECT COUNT(*) FROM guard_users WHERE external = 0) END AS managed_users,
           gp.price_per_seat_month, gp.currency,
           (SELECT COUNT(*) FROM guard_users) * gp.price_per_seat_month AS bill_month,
           CAST(NULL AS DECIMAL(12, 4)) AS bill_after_month,
           CAST(NULL AS DECIMAL(12, 4)) AS saving_month,
           CAST(NULL AS TEXT) AS workspace_id,
           CAST('guard' AS TEXT) AS row_type
    FROM __dbt__cte__int_atlassian_admin__billing_terms bt
    LEFT JOIN guard_price gp ON 1 = 1
    WHERE bt.type_key = 'guard' AND bt.workspace_id IS NULL
),
site_rows AS (
    SELECT type_key AS product, name AS site_name, host_url AS site_url, plan,
           billing_cycle, contract_match, cycle_start, saves_from, renewal_date,
           seats_paid, seats_billed, peak_billed_this_cycle, peak_since, seats_to_reclaim, billed_after_reclaim,
           tier_at_renewal, lower_tier, seats_to_free_for_lower_tier, seats_needed, free_plan_users, could_be_free,
           external_holders AS external_users,
           CAST(NULL AS BIGINT) AS managed_users,
           price_per_seat_month, currency, bill_month, bill_after_month, saving_month,
           workspace_id, CAST('site' AS TEXT) AS row_type
    FROM __dbt__cte__int_atlassian_admin__site_bill
)
SELECT r.*, b.as_of AS as_of
FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM guard_row) r
CROSS JOIN __dbt__cte__int_atlassian_admin__bounds b
ORDER BY CASE WHEN r.row_type = 'guard' THEN 1 ELSE 0 END, r.product, r.site_url, r.workspace_id;
