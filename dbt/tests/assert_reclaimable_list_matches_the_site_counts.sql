-- The reclaimable list and the utilization counts are one set: per site, as many rows as reclaimable.
SELECT u.workspace_id, u.reclaimable, COUNT(r.account_id) AS listed
FROM {{ ref('atlassian_admin__license_utilization') }} u
LEFT JOIN {{ ref('atlassian_admin__reclaimable_seats') }} r ON r.workspace_id = u.workspace_id
WHERE u.row_type = 'site'
GROUP BY u.workspace_id, u.reclaimable
HAVING COUNT(r.account_id) <> u.reclaimable
