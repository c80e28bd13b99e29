-- Reclaimable seats: every holder of a seat on a product site in the category reclaimable —
-- billed, not a service account, no activity on THAT site for inactive_days days (or never),
-- no API token of theirs used in that time, a seat and an account older than that, on a product
-- whose activity the API sees — candidates to remove, with what each seat costs a month when
-- seat_prices has the site's price, when removing it starts saving (saves_from: the next cycle
-- of a monthly plan, the renewal of an annual one; null without a contract row), and where to
-- remove them from: the group(s) through which they hold the seat, or 'direct' (null when the
-- groups stream is not synced). With unseen_in_savings set, the unseen seats (category unseen:
-- Bitbucket) are listed too. No other category is ever here (atlassian_admin__seat_holders
-- has every holder).
SELECT h.product, h.site_url, h.account_id, h.name, h.email, h.user_status, h.roles, h.category, h.remove_from,
       h.last_active_on_site,
       {{ atlassian_admin.days_between('CAST(h.last_active_on_site AS DATE)', 'CAST(b.as_of AS DATE)') }} AS days_since_active,
       h.seat_since, h.external, h.paid_site, pr.price_per_seat_month AS cost_month, pr.currency,
       CASE WHEN h.paid_site THEN bt.saves_from END AS saves_from, h.workspace_id
FROM {{ ref('int_atlassian_admin__seat_holder_rows') }} h
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
LEFT JOIN {{ ref('int_atlassian_admin__site_prices') }} pr ON pr.workspace_id = h.workspace_id
LEFT JOIN {{ ref('int_atlassian_admin__billing_terms') }} bt ON bt.workspace_id = h.workspace_id
WHERE h.category = 'reclaimable' OR (h.category = 'unseen' AND p.unseen_in_savings)
ORDER BY h.product, h.site_url, h.last_active_on_site NULLS FIRST, h.account_id
