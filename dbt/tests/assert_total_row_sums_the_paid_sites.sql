-- The total row is the sum of the paid sites' rows.
WITH sums AS (
    SELECT SUM(seats_assigned) AS seats_assigned, SUM(seats_billed) AS seats_billed, SUM(reclaimable) AS reclaimable,
           SUM(new_not_active) AS new_not_active, SUM(not_billed) AS not_billed
    FROM {{ ref('atlassian_admin__license_utilization') }}
    WHERE row_type = 'site' AND paid_site
)
SELECT t.*
FROM {{ ref('atlassian_admin__license_utilization') }} t
CROSS JOIN sums s
WHERE t.row_type = 'total'
  AND (COALESCE(t.seats_assigned, 0) <> COALESCE(s.seats_assigned, 0) OR COALESCE(t.seats_billed, 0) <> COALESCE(s.seats_billed, 0)
       OR COALESCE(t.reclaimable, 0) <> COALESCE(s.reclaimable, 0) OR COALESCE(t.new_not_active, 0) <> COALESCE(s.new_not_active, 0)
       OR COALESCE(t.not_billed, 0) <> COALESCE(s.not_billed, 0))
