-- One row per user holding a billable seat on a report site: who, their category (the one rule
-- that decides what to do with the seat), their last activity on that site and API use, and
-- every input of the rules (see int_atlassian_admin__seat_holders).
SELECT st.type_key AS product, st.host_url AS site_url, h.account_id, h.name, h.email,
       h.user_status, h.roles, h.category, h.last_active AS last_active_on_site, h.api_last_active, h.added_to_org,
       h.seat_first_observed, h.granted_at, h.seat_since, h.access_billable, h.billed, h.service_account, h.external,
       h.unseen_product, h.active_recent, h.active_within_inactive_days, h.active_via_api, h.is_new, h.new_not_active,
       h.reclaimable, g.remove_from, st.paid_site, h.workspace_id
FROM {{ ref('int_atlassian_admin__seat_holders') }} h
JOIN {{ ref('int_atlassian_admin__sites') }} st ON st.workspace_id = h.workspace_id
LEFT JOIN {{ ref('int_atlassian_admin__seat_groups') }} g ON g.workspace_id = h.workspace_id AND g.account_id = h.account_id
