{{ config(enabled=var('atlassian_admin_using_audit_events', true)) }}
-- The audit_events stream as loaded, every column typed; id as event_id, time as event_time. An
-- event re-read in a later sync is here once per read: int_atlassian_admin__audit_events keeps one.
{{ atlassian_admin.staged('audit_events') }}
