-- One row per user holding a billable seat on a report site (atlassian/user and atlassian/admin
-- on the same site count once), with their last activity on THAT site and what decides whether
-- the seat could be reclaimed:
--   billed      the holder can use the product: access_billable where the API gives it, else
--               a status other than suspended, deactivated or for_deletion (Atlassian bills
--               neither; removing such a seat saves nothing);
--   seat_since  the youngest evidence of when the holder got the seat or joined the org:
--               users.added_to_org, the seat's first observation, the audit log's grant;
--   is_new      seat_since within inactive_days: a new holder who may not have started yet;
--   reclaimable billed, not active on the site within inactive_days (or never), and not new.
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
           d.seat_first_observed, d.granted_at,
           CASE WHEN u.access_billable IS NOT NULL THEN u.access_billable
                WHEN LOWER(COALESCE(u.status, 'active')) IN ('suspended', 'deactivated', 'for_deletion') THEN FALSE
                ELSE TRUE END AS billed,
           GREATEST(COALESCE(u.added_to_org, d.seat_first_observed, d.granted_at),
                    COALESCE(d.seat_first_observed, d.granted_at, u.added_to_org),
                    COALESCE(d.granted_at, u.added_to_org, d.seat_first_observed)) AS seat_since
    FROM holders h
    LEFT JOIN {{ ref('int_atlassian_admin__users') }} u ON u.account_id = h.account_id
    LEFT JOIN {{ ref('int_atlassian_admin__seat_dates') }} d ON d.workspace_id = h.workspace_id AND d.account_id = h.account_id
),
flagged AS (
    SELECT d.*,
           CASE WHEN d.last_active >= b.active_since THEN TRUE ELSE FALSE END AS active_recent,
           CASE WHEN d.last_active >= b.inactive_before THEN TRUE ELSE FALSE END AS active_within_inactive_days,
           CASE WHEN d.seat_since >= b.inactive_before THEN TRUE ELSE FALSE END AS is_new
    FROM dated d
    CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
)
SELECT workspace_id, account_id, roles, last_active, name, email, user_status, access_billable, added_to_org,
       seat_first_observed, granted_at, seat_since, billed, active_recent, active_within_inactive_days, is_new,
       CASE WHEN billed AND NOT active_within_inactive_days AND NOT is_new THEN TRUE ELSE FALSE END AS reclaimable,
       CASE WHEN billed AND NOT active_within_inactive_days AND is_new THEN TRUE ELSE FALSE END AS new_not_active
FROM flagged
