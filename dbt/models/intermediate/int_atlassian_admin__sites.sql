-- The report's sites: the ones license_assignments reads (a sandbox copy, sandbox_type CHILD,
-- and an offline site hold no seats). A paid site is one whose plan is known and not Free:
-- only paid sites have money and tier figures and count in the totals. workspaces is read in
-- full every sync: a table synced in append mode holds a copy per sync, of which the latest
-- extracted one counts (_airbyte_extracted_at; a plain table, where it is null, has one copy;
-- `row_no <= 1`, not `= 1`: see current_rows).
SELECT workspace_id, type_key, name, host_url, plan, capacity,
       CASE WHEN plan IS NOT NULL AND LOWER(plan) <> 'free' THEN TRUE ELSE FALSE END AS paid_site
FROM (
    SELECT workspace_id, type_key, name, host_url, plan, capacity, sandbox_type, status,
           ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY _airbyte_extracted_at DESC NULLS LAST) AS row_no
    FROM {{ ref('stg_atlassian_admin__workspaces') }}
) latest
WHERE row_no <= 1 AND COALESCE(sandbox_type, 'NONE') <> 'CHILD' AND COALESCE(status, 'online') <> 'offline'
