{#- For the singular tests of the categories (tests/assert_category_*.sql): each seat holder of
    atlassian_admin__seat_holders with its category and, taken again from the sources each rule
    names (not from the flags the model computed), the facts the rules read:
      is_service_account  listed by service_accounts, or an email @serviceaccount.atlassian.com
      is_unbilled         access_billable false, or (unknown) a suspended/deactivated/for_deletion status
      used_the_site       user_activity on the site within inactive_days of as_of
      used_a_token        one of the holder's API tokens used within inactive_days
      is_young            the seat or the account younger than inactive_days
      on_unseen_product   the site's product in unseen_products
    Each test checks one category: a holder is in it exactly when its rule holds and no earlier
    category's does. -#}
{% macro seat_holder_facts() -%}
SELECT h.workspace_id, h.account_id, h.category,
       CASE WHEN sa.account_id IS NOT NULL OR LOWER(COALESCE(u.email, '')) LIKE '%@serviceaccount.atlassian.com' THEN TRUE ELSE FALSE END AS is_service_account,
       CASE WHEN u.access_billable = FALSE
              OR (u.access_billable IS NULL AND LOWER(COALESCE(u.status, 'active')) IN ('suspended', 'deactivated', 'for_deletion'))
            THEN TRUE ELSE FALSE END AS is_unbilled,
       CASE WHEN a.last_active >= b.inactive_before THEN TRUE ELSE FALSE END AS used_the_site,
       CASE WHEN t.last_used >= b.inactive_before THEN TRUE ELSE FALSE END AS used_a_token,
       CASE WHEN h.seat_since >= b.inactive_before OR u.added_to_org >= b.inactive_before THEN TRUE ELSE FALSE END AS is_young,
       CASE WHEN up.product_type_key IS NOT NULL THEN TRUE ELSE FALSE END AS on_unseen_product
FROM {{ ref('atlassian_admin__seat_holders') }} h
CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
LEFT JOIN {{ ref('int_atlassian_admin__users') }} u ON u.account_id = h.account_id
LEFT JOIN {{ ref('int_atlassian_admin__service_accounts') }} sa ON sa.account_id = h.account_id
LEFT JOIN (SELECT workspace_id, account_id, MAX(last_active) AS last_active
           FROM {{ ref('int_atlassian_admin__activity') }}
           GROUP BY workspace_id, account_id) a ON a.workspace_id = h.workspace_id AND a.account_id = h.account_id
LEFT JOIN (SELECT account_id, MAX(last_active_at) AS last_used
           FROM ({{ atlassian_admin.current_rows(ref('stg_atlassian_admin__api_tokens'), ['token_id'], ['token_id', 'account_id', 'last_active_at']) }}) current_tokens
           GROUP BY account_id) t ON t.account_id = h.account_id
LEFT JOIN (SELECT DISTINCT product_type_key FROM {{ atlassian_admin.reference('unseen_products') }}) up ON up.product_type_key = h.product
{%- endmacro %}
