-- Through which group(s) each holder has the site's billable role: the holder's groups
-- (users.groups) that grant one there (groups.billable_workspace_ids). Null for every holder
-- when the groups stream is not synced (remove_from cannot be told then).
{%- if var('atlassian_admin_using_groups', true) %}
WITH via AS (
    SELECT DISTINCT h.workspace_id, h.account_id, g.group_id, COALESCE(g.name, g.group_id) AS group_name
    FROM {{ ref('int_atlassian_admin__seat_holders') }} h
    JOIN {{ ref('int_atlassian_admin__user_groups') }} ug ON ug.account_id = h.account_id
    JOIN {{ ref('int_atlassian_admin__group_sites') }} gs ON gs.group_id = ug.group_id AND gs.workspace_id = h.workspace_id
    JOIN {{ ref('int_atlassian_admin__groups') }} g ON g.group_id = ug.group_id
),
lists AS (
    SELECT workspace_id, account_id, {{ atlassian_admin.sorted_list('group_name', "', '") }} AS groups_list
    FROM via
    GROUP BY workspace_id, account_id
)
SELECT h.workspace_id, h.account_id,
       CASE WHEN EXISTS (SELECT 1 FROM {{ ref('int_atlassian_admin__groups') }})
            THEN COALESCE(l.groups_list, 'direct') END AS remove_from
FROM {{ ref('int_atlassian_admin__seat_holders') }} h
LEFT JOIN lists l ON l.workspace_id = h.workspace_id AND l.account_id = h.account_id
{%- else %}
SELECT workspace_id, account_id, CAST(NULL AS {{ atlassian_admin.type_text() }}) AS remove_from
FROM {{ ref('int_atlassian_admin__seat_holders') }}
{%- endif %}
