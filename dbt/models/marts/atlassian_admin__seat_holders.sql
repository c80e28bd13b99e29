-- One row per user holding a billable seat on a product site: who, their last activity on that
-- site, whether the seat is billed, new, active lately or reclaimable, and where to remove it.
SELECT *
FROM {{ ref('int_atlassian_admin__seat_holder_rows') }}
ORDER BY product, site_url, account_id
