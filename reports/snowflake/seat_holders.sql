-- One row per user holding a billable seat on a product site: who, their category (service
-- account, not billed, active, active through the API, new, unseen, reclaimable: the first that
-- applies), their last activity on that site and through an API token, whether they are
-- external, every input of the rules, and where to remove the seat.
--
-- GENERATED from dbt/models/marts/atlassian_admin__seat_holders.sql by scripts/generate-reports.py: edit the model
-- and run the script, not this file. The Snowflake form (the package's snowflake__ macros) over one table per stream, named
-- after it (users, user_activity, workspaces, license_assignments; groups, audit_events,
-- domains, api_tokens, service_accounts, seat_counts, empty when not synced), and the
-- reference tables seat_prices, user_tiers, contracts, unseen_products and free_plans
-- (dbt/seeds/*.csv, or your own).
-- Parameters: the SELECT line of __dbt__cte__int_atlassian_admin__params below
-- (docs/license-report.md says what each means).
with __dbt__cte__stg_atlassian_admin__license_assignments as (
-- The license_assignments stream as loaded: every row (each version of a billable role held on
-- a site, deletion records too), every column typed. int_atlassian_admin__license_assignments
-- keeps the seats held now; atlassian_admin__license_assignment_history reads every row.
SELECT
    CAST(s.workspace_id AS VARCHAR) AS workspace_id,
    CAST(s.account_id AS VARCHAR) AS account_id,
    CAST(s.role AS VARCHAR) AS role,
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
    CAST(s.account_id AS VARCHAR) AS account_id,
    CAST(s.product_id AS VARCHAR) AS product_id,
    CAST(s.workspace_id AS VARCHAR) AS workspace_id,
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
    CAST(s.id AS VARCHAR) AS domain_id,
    CAST(s.name AS VARCHAR) AS name,
    CAST(s.claim_status AS VARCHAR) AS claim_status,
    CAST(s.verified AS BOOLEAN) AS verified,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM domains s
),  __dbt__cte__stg_atlassian_admin__workspaces as (
-- The workspaces stream (product sites) as loaded, every column typed; id as workspace_id. A
-- table synced in append mode holds a copy per sync: int_atlassian_admin__sites keeps the latest.
SELECT
    CAST(s.id AS VARCHAR) AS workspace_id,
    CAST(s.name AS VARCHAR) AS name,
    CAST(s.type_key AS VARCHAR) AS type_key,
    CAST(s.status AS VARCHAR) AS status,
    CAST(s.host_url AS VARCHAR) AS host_url,
    CAST(s.capacity AS INTEGER) AS capacity,
    CAST(s.plan AS VARCHAR) AS plan,
    CAST(s.sandbox_type AS VARCHAR) AS sandbox_type,
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
    CAST(s.account_id AS VARCHAR) AS account_id,
    CAST(s.status AS VARCHAR) AS status,
    CAST(s.added_to_org AS TIMESTAMP) AS added_to_org,
    CAST(s.name AS VARCHAR) AS name,
    CAST(s.email AS VARCHAR) AS email,
    PARSE_JSON(TO_VARCHAR(s.groups)) AS groups,
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
    CAST(s.id AS VARCHAR) AS event_id,
    CAST(s.time AS TIMESTAMP) AS event_time,
    CAST(s.processed_at AS TIMESTAMP) AS processed_at,
    CAST(s.action AS VARCHAR) AS action,
    PARSE_JSON(TO_VARCHAR(s.context)) AS context
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
    SELECT l.event_id, l.event_time, CAST(f.value:id AS VARCHAR) AS item
FROM grant_events l, LATERAL FLATTEN(input => l.context) f
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
       CASE WHEN sf.site_first_observed <= DATEADD(day, -(1), f.first_observed) THEN f.first_observed END AS seat_first_observed,
       g.granted_at AS granted_at
FROM firsts f
JOIN site_firsts sf ON sf.workspace_id = f.workspace_id
LEFT JOIN __dbt__cte__int_atlassian_admin__access_grants g ON g.workspace_id = f.workspace_id AND g.account_id = f.account_id
),  __dbt__cte__stg_atlassian_admin__api_tokens as (
-- The api_tokens stream as loaded (the managed accounts' API tokens: owner and last use, never
-- a secret): every row, every column typed; id as token_id. No row when not synced.
SELECT
    CAST(s.id AS VARCHAR) AS token_id,
    CAST(s.label AS VARCHAR) AS label,
    CAST(s.status AS VARCHAR) AS status,
    CAST(s.created_at AS TIMESTAMP) AS created_at,
    CAST(s.expires_at AS TIMESTAMP) AS expires_at,
    CAST(s.last_active_at AS TIMESTAMP) AS last_active_at,
    CAST(s.account_id AS VARCHAR) AS account_id,
    CAST(s.owner_name AS VARCHAR) AS owner_name,
    CAST(s.owner_email AS VARCHAR) AS owner_email,
    PARSE_JSON(TO_VARCHAR(s.scopes)) AS scopes,
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
    CAST(s.id AS VARCHAR) AS service_account_id,
    CAST(s.atlassian_id AS VARCHAR) AS atlassian_id,
    CAST(s.email AS VARCHAR) AS email,
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
       DATEADD(day, -(active_days), as_of) AS active_since,
       DATEADD(day, -(inactive_days), as_of) AS inactive_before
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
    SELECT workspace_id, account_id, LISTAGG(role, ',') WITHIN GROUP (ORDER BY role) AS roles
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
),  __dbt__cte__int_atlassian_admin__user_groups as (

-- Each user's groups now: one row per (account_id, group_id) of users.groups, a JSON list read
-- with the warehouse's JSON functions (whether loaded as JSON, text or a typed list).
SELECT DISTINCT account_id, item AS group_id
FROM (SELECT l.account_id, CAST(f.value:id AS VARCHAR) AS item
FROM __dbt__cte__int_atlassian_admin__users l, LATERAL FLATTEN(input => l.groups) f) user_group_items
WHERE item IS NOT NULL
),  __dbt__cte__stg_atlassian_admin__groups as (

-- The groups stream as loaded: every row (each version of a group, deletion records too), every
-- column typed; id as group_id. int_atlassian_admin__groups keeps the current groups.
SELECT
    CAST(s.id AS VARCHAR) AS group_id,
    CAST(s.name AS VARCHAR) AS name,
    PARSE_JSON(TO_VARCHAR(s.billable_workspace_ids)) AS billable_workspace_ids,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM groups s
),  __dbt__cte__int_atlassian_admin__groups as (

-- The org's groups now: the latest version of each group, removed groups dropped.
SELECT group_id, name, billable_workspace_ids
FROM (
    SELECT group_id, name, billable_workspace_ids, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY group_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__groups
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
),  __dbt__cte__int_atlassian_admin__group_sites as (

-- The sites on which each group now grants a billable role: one row per (group_id,
-- workspace_id) of groups.billable_workspace_ids, a JSON list of ids.
SELECT DISTINCT group_id, item AS workspace_id
FROM (SELECT l.group_id, CAST(f.value AS VARCHAR) AS item
FROM __dbt__cte__int_atlassian_admin__groups l, LATERAL FLATTEN(input => l.billable_workspace_ids) f) group_site_items
WHERE item IS NOT NULL
),  __dbt__cte__int_atlassian_admin__seat_groups as (
-- Through which group(s) each holder has the site's billable role: the holder's groups
-- (users.groups) that grant one there (groups.billable_workspace_ids). Null for every holder
-- when the groups stream is not synced (remove_from cannot be told then).
WITH via AS (
    SELECT DISTINCT h.workspace_id, h.account_id, g.group_id, COALESCE(g.name, g.group_id) AS group_name
    FROM __dbt__cte__int_atlassian_admin__seat_holders h
    JOIN __dbt__cte__int_atlassian_admin__user_groups ug ON ug.account_id = h.account_id
    JOIN __dbt__cte__int_atlassian_admin__group_sites gs ON gs.group_id = ug.group_id AND gs.workspace_id = h.workspace_id
    JOIN __dbt__cte__int_atlassian_admin__groups g ON g.group_id = ug.group_id
),
lists AS (
    SELECT workspace_id, account_id, LISTAGG(group_name, ', ') WITHIN GROUP (ORDER BY group_name) AS groups_list
    FROM via
    GROUP BY workspace_id, account_id
)
SELECT h.workspace_id, h.account_id,
       CASE WHEN EXISTS (SELECT 1 FROM __dbt__cte__int_atlassian_admin__groups)
            THEN COALESCE(l.groups_list, 'direct') END AS remove_from
FROM __dbt__cte__int_atlassian_admin__seat_holders h
LEFT JOIN lists l ON l.workspace_id = h.workspace_id AND l.account_id = h.account_id
),  __dbt__cte__int_atlassian_admin__seat_holder_rows as (
-- One row per user holding a billable seat on a report site: who, their category (the one rule
-- that decides what to do with the seat), their last activity on that site and API use, and
-- every input of the rules (see int_atlassian_admin__seat_holders).
SELECT st.type_key AS product, st.host_url AS site_url, h.account_id, h.name, h.email,
       h.user_status, h.roles, h.category, h.last_active AS last_active_on_site, h.api_last_active, h.added_to_org,
       h.seat_first_observed, h.granted_at, h.seat_since, h.access_billable, h.billed, h.service_account, h.external,
       h.unseen_product, h.active_recent, h.active_within_inactive_days, h.active_via_api, h.is_new, h.new_not_active,
       h.reclaimable, g.remove_from, st.paid_site, h.workspace_id
FROM __dbt__cte__int_atlassian_admin__seat_holders h
JOIN __dbt__cte__int_atlassian_admin__sites st ON st.workspace_id = h.workspace_id
LEFT JOIN __dbt__cte__int_atlassian_admin__seat_groups g ON g.workspace_id = h.workspace_id AND g.account_id = h.account_id
) SELECT *
FROM __dbt__cte__int_atlassian_admin__seat_holder_rows
ORDER BY product, site_url, account_id;
