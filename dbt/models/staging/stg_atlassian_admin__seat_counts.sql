-- The seat_counts stream as loaded: Atlassian's own count of users per site and billable role
-- (users/count); count as seat_count. No row when not synced.
{{ atlassian_admin.staged('seat_counts') }}
