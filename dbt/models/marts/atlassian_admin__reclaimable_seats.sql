-- Reclaimable seats: every billed holder of a seat on a product site who has not used THAT site
-- for inactive_days days (default 90), or never, and whose seat and account are older than
-- that: candidates to remove, with what each seat costs a month when seat_prices has the site's
-- price, and where to remove them from: the group(s) through which they hold the seat, or
-- 'direct' (null when the groups stream is not synced). Suspended and deactivated holders are
-- not here (they are not billed: atlassian_admin__license_utilization counts them apart), nor
-- are new holders who have not started yet (its new_not_active).
SELECT h.product, h.site_url, h.account_id, h.name, h.email, h.user_status, h.roles, h.remove_from,
       h.last_active_on_site,
       {{ atlassian_admin.days_between('CAST(h.last_active_on_site AS DATE)', 'CAST(b.as_of AS DATE)') }} AS days_since_active,
       h.seat_since, h.paid_site, pr.price_per_seat_month AS cost_month, pr.currency, h.workspace_id
FROM {{ ref('int_atlassian_admin__seat_holder_rows') }} h
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
LEFT JOIN {{ ref('int_atlassian_admin__site_prices') }} pr ON pr.workspace_id = h.workspace_id
WHERE h.reclaimable
ORDER BY h.product, h.site_url, h.last_active_on_site NULLS FIRST, h.account_id
