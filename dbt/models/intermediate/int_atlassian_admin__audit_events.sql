{{ config(enabled=var('atlassian_admin_using_audit_events', true)) }}
-- The audit log, one row per event (an event never changes: a repeated id is the same event).
SELECT event_id, action, context, event_time
FROM (
    SELECT event_id, action, context, event_time,
           ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY processed_at NULLS FIRST) AS row_no
    FROM {{ ref('stg_atlassian_admin__audit_events') }}
) events
WHERE row_no <= 1  -- not `= 1`: PostgreSQL guesses a third of the rows, not 0.5 % (see current_rows)
