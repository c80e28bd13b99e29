-- The trend: per site and day, the seats assigned at the end of the day and how many of their
-- holders had used the site within active_days days, for the last trend_days days of the
-- history. Built from the appended history of license_assignments and user_activity: sync them
-- incrementally in append mode (append + dedup keeps no history; see docs/license-report.md).
-- One row per site and day, from the first day observed (or trend_days before the last) to the
-- later of the newest observed_at and as_of. Days are UTC calendar days.
WITH seat_spans AS (
    SELECT workspace_id, account_id, is_deletion,
           CAST(observed_at AS DATE) AS from_day,
           CAST(superseded_at AS DATE) AS until_day
    FROM {{ ref('atlassian_admin__license_assignment_history') }}
),
span AS (
    SELECT GREATEST(MIN(ss.from_day), {{ atlassian_admin.add_days('GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE))', '-(p.trend_days - 1)') }}) AS first_day,
           GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)) AS last_day
    FROM seat_spans ss
    CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
    CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
    GROUP BY p.trend_days, b.as_of
),
-- 0..999 (no generate_series: not every warehouse has it).
digits AS (
    SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9
),
days AS (
    SELECT {{ atlassian_admin.add_days('sp.first_day', '(h.n * 100 + t.n * 10 + u.n)') }} AS day
    FROM span sp
    CROSS JOIN digits h CROSS JOIN digits t CROSS JOIN digits u
    WHERE h.n * 100 + t.n * 10 + u.n <= {{ atlassian_admin.days_between('sp.first_day', 'sp.last_day') }}
),
-- Who held a billable seat on each site at the end of each day (both roles count once).
held AS (
    SELECT DISTINCT d.day, ss.workspace_id, ss.account_id
    FROM days d
    JOIN seat_spans ss ON ss.from_day <= d.day AND (ss.until_day IS NULL OR ss.until_day > d.day)
    WHERE NOT ss.is_deletion
),
-- Of those, who had been active on the site on one of the active_days days up to that day.
active AS (
    SELECT DISTINCT h.day, h.workspace_id, h.account_id
    FROM held h
    CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
    JOIN {{ ref('atlassian_admin__activity_history') }} a ON a.workspace_id = h.workspace_id AND a.account_id = h.account_id
    WHERE CAST(a.last_active AS DATE) <= h.day AND CAST(a.last_active AS DATE) > {{ atlassian_admin.add_days('h.day', '-p.active_days') }}
),
per_day AS (
    SELECT h.day, h.workspace_id, COUNT(*) AS seats_assigned, COUNT(a.account_id) AS seats_active
    FROM held h
    LEFT JOIN active a ON a.day = h.day AND a.workspace_id = h.workspace_id AND a.account_id = h.account_id
    GROUP BY h.day, h.workspace_id
)
SELECT s.type_key                      AS product,
       s.name                          AS site_name,
       s.host_url                      AS site_url,
       s.paid_site                     AS paid_site,
       d.day                           AS day,
       COALESCE(pd.seats_assigned, 0)  AS seats_assigned,
       COALESCE(pd.seats_active, 0)    AS seats_active,
       CASE WHEN s.paid_site THEN s.capacity END AS seats_paid_now,
       s.workspace_id                  AS workspace_id
FROM {{ ref('int_atlassian_admin__sites') }} s
CROSS JOIN days d
LEFT JOIN per_day pd ON pd.workspace_id = s.workspace_id AND pd.day = d.day
ORDER BY product, site_url, workspace_id, day
