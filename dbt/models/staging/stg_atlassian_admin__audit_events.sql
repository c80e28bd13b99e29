{{ config(enabled=var('atlassian_admin_using_audit_events', true)) }}
-- The audit log, one row per event (an event never changes: a repeated id is the same event).
SELECT event_id, action, actor_id, context, container,
       {{ atlassian_admin.to_timestamp('event_time') }} AS event_time,
       {{ atlassian_admin.to_timestamp('processed_at') }} AS processed_at
FROM (
    SELECT e.id AS event_id, e.action, e.actor_id, e.context, e.container, e.time AS event_time, e.processed_at,
           ROW_NUMBER() OVER (PARTITION BY e.id ORDER BY e.processed_at NULLS FIRST) AS row_no
    FROM {{ atlassian_admin.stream('audit_events') }} e
) events
WHERE row_no = 1
