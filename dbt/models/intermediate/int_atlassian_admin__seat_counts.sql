-- Atlassian's own seat counts now: per site and billable role, the latest count (users/count
-- with the site's resourceIds and the role's roleIds, as license_assignments searches), counts
-- no longer read dropped. Empty when the seat_counts stream is not synced.
SELECT workspace_id, role, seat_count
FROM ({{ atlassian_admin.current_rows(ref('stg_atlassian_admin__seat_counts'), ['workspace_id', 'role'],
        ['workspace_id', 'role', 'seat_count']) }}) current_counts
WHERE role IN ('atlassian/user', 'atlassian/admin')
