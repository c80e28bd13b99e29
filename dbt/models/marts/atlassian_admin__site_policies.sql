-- Policies per paid site: for each paid site (online or deprecated, not a sandbox copy, on a plan
-- that is not Free: int_atlassian_admin__sites), the enabled policies that apply to it — their
-- types, kept as Atlassian names them (data-security, ip-allowlist, … and types not known yet),
-- and names — and whether none does (uncovered). "Applies": the policy is enabled and names the
-- site in its resources as applied, enabled or applying (int_atlassian_admin__site_policies).
-- policies and uncovered are null when the policies stream is not synced.
-- Tables read: workspaces, policies (which may be empty; docs/credential-report.md).
WITH applying AS (
    SELECT * FROM {{ ref('int_atlassian_admin__site_policies') }}
),
site_types AS (
    SELECT DISTINCT workspace_id, policy_type FROM applying WHERE policy_type IS NOT NULL
),
type_lists AS (
    SELECT workspace_id, {{ atlassian_admin.sorted_list('policy_type', "','") }} AS policy_types
    FROM site_types
    GROUP BY workspace_id
),
site_policies AS (
    SELECT DISTINCT workspace_id, policy_id, policy_name FROM applying
),
policy_lists AS (
    SELECT workspace_id, {{ atlassian_admin.sorted_list('policy_name', "', '") }} AS policy_names,
           COUNT(DISTINCT policy_id) AS policies
    FROM site_policies
    GROUP BY workspace_id
),
synced AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__policies') }}) THEN TRUE ELSE FALSE END AS policies_synced
)
SELECT s.type_key AS product, s.name AS site_name, s.host_url AS site_url, s.plan,
       t.policy_types, l.policy_names,
       CASE WHEN y.policies_synced THEN COALESCE(l.policies, 0) END AS policies,
       CASE WHEN NOT y.policies_synced THEN NULL
            WHEN COALESCE(l.policies, 0) = 0 THEN TRUE
            ELSE FALSE END AS uncovered,
       s.workspace_id
FROM {{ ref('int_atlassian_admin__sites') }} s
CROSS JOIN synced y
LEFT JOIN type_lists t ON t.workspace_id = s.workspace_id
LEFT JOIN policy_lists l ON l.workspace_id = s.workspace_id
WHERE s.paid_site
ORDER BY s.type_key, s.host_url, s.workspace_id
