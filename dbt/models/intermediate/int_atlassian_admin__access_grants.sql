{{ config(enabled=var('atlassian_admin_using_audit_events', true)) }}
-- When the audit log last granted each user access to each site: per (workspace_id,
-- account_id), the latest event of a grant action (the var atlassian_admin_grant_actions) whose
-- context names both. The context, a JSON list of {id, type, ...}, is read with the warehouse's
-- JSON functions; a user and a site are matched by id, whatever the items' type.
WITH grant_events AS (
    SELECT event_id, context, event_time
    FROM {{ ref('int_atlassian_admin__audit_events') }}
    WHERE action IN ({% for a in var('atlassian_admin_grant_actions', ['product_access_granted', 'user_granted_product_access']) %}'{{ a }}'{{ ', ' if not loop.last }}{% endfor %})
),
items AS (
    {{ atlassian_admin.json_list_items('grant_events', ['event_id', 'event_time'], 'context', 'id') }}
)
SELECT s.item AS workspace_id, u.item AS account_id, MAX(u.event_time) AS granted_at
FROM items u
JOIN items s ON s.event_id = u.event_id AND s.item <> u.item
GROUP BY s.item, u.item
