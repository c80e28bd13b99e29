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
    SELECT workspace_id, account_id, {{ atlassian_admin.sorted_list('role', "','") }} AS roles
    FROM {{ ref('int_atlassian_admin__license_assignments') }}
    GROUP BY workspace_id, account_id
),
holders AS (
    SELECT s.workspace_id, s.account_id, s.roles, MAX(a.last_active) AS last_active
    FROM seats s
    LEFT JOIN {{ ref('int_atlassian_admin__activity') }} a ON a.workspace_id = s.workspace_id AND a.account_id = s.account_id
    GROUP BY s.workspace_id, s.account_id, s.roles
),
dated AS (
    SELECT h.workspace_id, h.account_id, h.roles, h.last_active,
           u.name, u.email, u.status AS user_status, u.access_billable, u.added_to_org,
           d.seat_first_observed, d.granted_at, t.api_last_active,
           CASE WHEN sa.account_id IS NOT NULL OR {{ atlassian_admin.service_account_email('u.email') }}
                THEN TRUE ELSE FALSE END AS service_account,
           {{ atlassian_admin.billed_user('u.access_billable', 'u.status') }} AS billable_user,
           CASE WHEN up.product_type_key IS NOT NULL THEN TRUE ELSE FALSE END AS unseen_product,
           -- The email's domain against the verified ones; unknown without a domains table or an
           -- email; a service account is the org's own.
           CASE WHEN NOT EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__domains') }}) THEN NULL
                WHEN sa.account_id IS NOT NULL OR {{ atlassian_admin.service_account_email('u.email') }} THEN FALSE
                WHEN u.email IS NULL OR u.email NOT LIKE '%@%' THEN NULL
                WHEN vd.domain IS NOT NULL THEN FALSE
                ELSE TRUE END AS external,
           GREATEST(COALESCE(u.added_to_org, d.seat_first_observed, d.granted_at),
                    COALESCE(d.seat_first_observed, d.granted_at, u.added_to_org),
                    COALESCE(d.granted_at, u.added_to_org, d.seat_first_observed)) AS seat_since
    FROM holders h
    JOIN {{ ref('int_atlassian_admin__sites') }} st ON st.workspace_id = h.workspace_id
    LEFT JOIN {{ ref('int_atlassian_admin__users') }} u ON u.account_id = h.account_id
    LEFT JOIN {{ ref('int_atlassian_admin__seat_dates') }} d ON d.workspace_id = h.workspace_id AND d.account_id = h.account_id
    LEFT JOIN {{ ref('int_atlassian_admin__token_use') }} t ON t.account_id = h.account_id
    LEFT JOIN {{ ref('int_atlassian_admin__service_accounts') }} sa ON sa.account_id = h.account_id
    LEFT JOIN (SELECT DISTINCT product_type_key FROM {{ atlassian_admin.reference('unseen_products') }}) up ON up.product_type_key = st.type_key
    LEFT JOIN {{ ref('int_atlassian_admin__verified_domains') }} vd
      ON vd.domain = LOWER({{ atlassian_admin.email_domain('u.email') }})
),
flagged AS (
    SELECT d.*,
           CASE WHEN d.last_active >= b.active_since THEN TRUE ELSE FALSE END AS active_recent,
           CASE WHEN d.last_active >= b.inactive_before THEN TRUE ELSE FALSE END AS active_within_inactive_days,
           CASE WHEN d.api_last_active >= b.inactive_before THEN TRUE ELSE FALSE END AS api_used,
           CASE WHEN d.seat_since >= b.inactive_before THEN TRUE ELSE FALSE END AS is_new
    FROM dated d
    CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
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
