-- Policies per paid site: for each paid site (online or deprecated, not a sandbox copy, on a plan
-- that is not Free: int_atlassian_admin__sites), the enabled policies that apply to it — their
-- types, kept as Atlassian names them (data-security, ip-allowlist, … and types not known yet),
-- and names — and whether none does (uncovered). "Applies": the policy is enabled and names the
-- site in its resources as applied, enabled or applying (int_atlassian_admin__site_policies).
-- policies and uncovered are null when the policies stream is not synced.
-- Tables read: workspaces, policies (which may be empty; docs/credential-report.md).
--
-- GENERATED from dbt/models/marts/atlassian_admin__site_policies.sql by scripts/generate-reports.py: edit the model
-- and run the script, not this file. The BigQuery form (the package's bigquery__ macros) over one table per stream, named
-- after it (users, user_activity, workspaces, license_assignments; groups, audit_events,
-- domains, api_tokens, service_accounts, seat_counts, empty when not synced), and the
-- reference tables seat_prices, user_tiers, contracts, unseen_products and free_plans
-- (dbt/seeds/*.csv, or your own).
-- Parameters: the SELECT line of __dbt__cte__int_atlassian_admin__params below
-- (docs/license-report.md says what each means).
WITH  __dbt__cte__stg_atlassian_admin__policies as (
-- The policies stream as loaded (the organization's policies: type, status, the sites each is
-- applied to, the rule kept whole): every row, every column typed; id as policy_id, type as
-- policy_type. No row when not synced.
SELECT
    CAST(s.id AS STRING) AS policy_id,
    CAST(s.type AS STRING) AS policy_type,
    CAST(s.name AS STRING) AS name,
    CAST(s.status AS STRING) AS status,
    s.resources AS resources,
    CAST(s.observed_at AS TIMESTAMP) AS observed_at,
    CAST(s._ab_cdc_deleted_at AS TIMESTAMP) AS _ab_cdc_deleted_at
FROM policies s
),  __dbt__cte__int_atlassian_admin__site_policies as (
-- Which policies apply to which site now: one row per (site, policy) of the current policies
-- (latest row of each, removed ones dropped) that are enabled and name the site in their
-- resources with an application status of applied, enabled or applying (docs/credential-report.md:
-- "applies"). A disabled policy, or one whose application failed, is scheduled or is being
-- removed, covers nothing. Policy types are kept as they come (an open set). Empty when the
-- policies stream is not synced.
WITH current_policies AS (
    SELECT policy_id, policy_type, name, status, resources
FROM (
    SELECT policy_id, policy_type, name, status, resources, _ab_cdc_deleted_at,
           ROW_NUMBER() OVER (PARTITION BY policy_id ORDER BY observed_at DESC NULLS LAST) AS row_no
    FROM __dbt__cte__stg_atlassian_admin__policies
) latest
-- One inequality, not `row_no = 1 AND _ab_cdc_deleted_at IS NULL`: PostgreSQL cannot know how
-- many rows such a filter keeps and guesses 0.5 % for each `=` or `IS NULL` (so a row or so for
-- both); from guesses that small it plans nested loops over what are in fact every seat and
-- every user (minutes at 20,000 users). For `<=` it guesses a third. row_no is never below 1.
WHERE (CASE WHEN _ab_cdc_deleted_at IS NULL THEN row_no END) <= 1
),
resources AS (
    SELECT l.policy_id, l.policy_type, l.name, l.status, JSON_VALUE(e, '$.id') AS id, JSON_VALUE(e, '$.application_status') AS application_status
FROM current_policies l
CROSS JOIN UNNEST(JSON_QUERY_ARRAY(l.resources)) AS e
)
SELECT DISTINCT id AS workspace_id, policy_id, policy_type, name AS policy_name, application_status
FROM resources
WHERE id IS NOT NULL
  AND LOWER(COALESCE(status, '')) = 'enabled'
  AND LOWER(COALESCE(application_status, '')) IN ('applied', 'enabled', 'applying')
),  __dbt__cte__stg_atlassian_admin__workspaces as (
-- The workspaces stream (product sites) as loaded, every column typed; id as workspace_id. A
-- table synced in append mode holds a copy per sync: int_atlassian_admin__sites keeps the latest.
SELECT
    CAST(s.id AS STRING) AS workspace_id,
    CAST(s.name AS STRING) AS name,
    CAST(s.type_key AS STRING) AS type_key,
    CAST(s.status AS STRING) AS status,
    CAST(s.host_url AS STRING) AS host_url,
    CAST(s.capacity AS INT64) AS capacity,
    CAST(s.plan AS STRING) AS plan,
    CAST(s.sandbox_type AS STRING) AS sandbox_type,
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
), applying AS (
    SELECT * FROM __dbt__cte__int_atlassian_admin__site_policies
),
site_types AS (
    SELECT DISTINCT workspace_id, policy_type FROM applying WHERE policy_type IS NOT NULL
),
type_lists AS (
    SELECT workspace_id, STRING_AGG(policy_type, ',' ORDER BY policy_type NULLS FIRST) AS policy_types
    FROM site_types
    GROUP BY workspace_id
),
site_policies AS (
    SELECT DISTINCT workspace_id, policy_id, policy_name FROM applying
),
policy_lists AS (
    SELECT workspace_id, STRING_AGG(policy_name, ', ' ORDER BY policy_name NULLS FIRST) AS policy_names,
           COUNT(DISTINCT policy_id) AS policies
    FROM site_policies
    GROUP BY workspace_id
),
synced AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM __dbt__cte__stg_atlassian_admin__policies) THEN TRUE ELSE FALSE END AS policies_synced
)
SELECT s.type_key AS product, s.name AS site_name, s.host_url AS site_url, s.plan,
       t.policy_types, l.policy_names,
       CASE WHEN y.policies_synced THEN COALESCE(l.policies, 0) END AS policies,
       CASE WHEN NOT y.policies_synced THEN NULL
            WHEN COALESCE(l.policies, 0) = 0 THEN TRUE
            ELSE FALSE END AS uncovered,
       s.workspace_id
FROM __dbt__cte__int_atlassian_admin__sites s
CROSS JOIN synced y
LEFT JOIN type_lists t ON t.workspace_id = s.workspace_id
LEFT JOIN policy_lists l ON l.workspace_id = s.workspace_id
WHERE s.paid_site
ORDER BY s.type_key, s.host_url, s.workspace_id;
