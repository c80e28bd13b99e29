-- Through which group(s) each holder has the site's billable role: the holder's groups
-- (users.groups) that grant one there (groups.billable_workspace_ids). Null for every holder
-- when the groups stream is not synced (remove_from cannot be told then).
{%- if var('atlassian_admin_using_groups', true) %}
SELECT h.workspace_id, h.account_id,
       CASE WHEN EXISTS (SELECT 1 FROM {{ ref('stg_atlassian_admin__groups') }})
            THEN COALESCE(MAX(via.groups_list), 'direct') END AS remove_from
FROM {{ ref('int_atlassian_admin__seat_holders') }} h
LEFT JOIN (
    SELECT h2.workspace_id, h2.account_id, {{ atlassian_admin.sorted_list('COALESCE(g.name, g.group_id)', "', '") }} AS groups_list
    FROM {{ ref('int_atlassian_admin__seat_holders') }} h2
    JOIN {{ ref('stg_atlassian_admin__users') }} u ON u.account_id = h2.account_id
    JOIN {{ ref('stg_atlassian_admin__groups') }} g ON {{ atlassian_admin.json_has_id('u.groups', 'g.group_id') }}
                                                AND {{ atlassian_admin.json_has_id('g.billable_workspace_ids', 'h2.workspace_id') }}
    GROUP BY h2.workspace_id, h2.account_id
) via ON via.workspace_id = h.workspace_id AND via.account_id = h.account_id
GROUP BY h.workspace_id, h.account_id
{%- else %}
SELECT workspace_id, account_id, CAST(NULL AS {{ atlassian_admin.type_text() }}) AS remove_from
FROM {{ ref('int_atlassian_admin__seat_holders') }}
{%- endif %}
