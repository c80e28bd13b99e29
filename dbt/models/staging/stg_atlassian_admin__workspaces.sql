-- The org's product sites. workspaces is read in full every sync: an Airbyte table synced in
-- append mode holds a copy per sync, of which the latest extracted one counts.
SELECT id AS workspace_id, name, type_key, status, host_url, capacity, plan, sandbox_type
FROM (
    SELECT id, name, type_key, status, host_url, capacity, plan, sandbox_type,
{%- if var('atlassian_admin_airbyte_tables', true) and not var('atlassian_admin_plain_sql', false) %}
           ROW_NUMBER() OVER (PARTITION BY id ORDER BY _airbyte_extracted_at DESC) AS row_no
{%- else %}
           1 AS row_no
{%- endif %}
    FROM {{ atlassian_admin.stream('workspaces') }}
) latest
WHERE row_no = 1
