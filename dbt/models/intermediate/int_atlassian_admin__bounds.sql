-- The time windows, which end at as_of: the as_of var, else the newest activity in the data
-- (the data's own "now", so a report over a given sync is reproducible).
SELECT as_of,
       {{ atlassian_admin.days_before('as_of', 'active_days') }} AS active_since,
       {{ atlassian_admin.days_before('as_of', 'inactive_days') }} AS inactive_before
FROM (SELECT p.active_days, p.inactive_days,
             COALESCE(p.as_of, (SELECT MAX(last_active) FROM {{ ref('int_atlassian_admin__activity') }})) AS as_of
      FROM {{ ref('int_atlassian_admin__params') }} p) resolved
