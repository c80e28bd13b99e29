{{ config(severity='warn') }}
-- Atlassian's own count of the seats (seat_counts: users/count per site and billable role) equals
-- the holders the report has, role by role. A warning, not an error: a missed page, a key that
-- sees some directories only, a site mis-joined or a change between the two reads makes them
-- differ (docs/license-report.md, "Reconciled with Atlassian's counts").
SELECT workspace_id, site_url, atlassian_seat_count, report_seat_count
FROM {{ ref('atlassian_admin__license_utilization') }}
WHERE row_type = 'site' AND counts_agree = FALSE
