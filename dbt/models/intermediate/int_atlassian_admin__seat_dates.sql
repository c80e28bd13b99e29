-- When each holder's seat on a site began, as far as the data tells: when the current holding
-- of the seat was first seen (license_assignments), if a day or more after the site's first row
-- (before, the seat was there when the site was first synced, and its age is unknown; a sync's
-- rows are observed over its minutes, not at one instant); and, when the
-- audit log is synced, the latest event that granted the user access to the site.
-- A seat's latest row is the one nothing superseded; held_since is null when it is a deletion.
WITH firsts AS (
    SELECT workspace_id, account_id, MIN(held_since) AS first_observed
    FROM {{ ref('atlassian_admin__license_assignment_history') }}
    WHERE superseded_at IS NULL AND held_since IS NOT NULL
    GROUP BY workspace_id, account_id
),
site_firsts AS (
    SELECT workspace_id, MIN(observed_at) AS site_first_observed
    FROM {{ ref('atlassian_admin__license_assignment_history') }}
    GROUP BY workspace_id
)
SELECT f.workspace_id, f.account_id,
       CASE WHEN sf.site_first_observed <= {{ atlassian_admin.days_before('f.first_observed', 1) }} THEN f.first_observed END AS seat_first_observed,
{%- if var('atlassian_admin_using_audit_events', true) %}
       g.granted_at AS granted_at
{%- else %}
       CAST(NULL AS TIMESTAMP) AS granted_at
{%- endif %}
FROM firsts f
JOIN site_firsts sf ON sf.workspace_id = f.workspace_id
{%- if var('atlassian_admin_using_audit_events', true) %}
LEFT JOIN {{ ref('int_atlassian_admin__access_grants') }} g ON g.workspace_id = f.workspace_id AND g.account_id = f.account_id
{%- endif %}
