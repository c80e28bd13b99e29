-- One row per user holding a billable seat on a product site: who, their category (service
-- account, not billed, active, active through the API, new, unseen, reclaimable: the first that
-- applies), their last activity on that site and through an API token, whether they are
-- external, every input of the rules, and where to remove the seat.
SELECT *
FROM {{ ref('int_atlassian_admin__seat_holder_rows') }}
ORDER BY product, site_url, account_id
