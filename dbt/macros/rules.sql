{#- The report's rules that more than one model applies (docs/license-report.md). The singular
    tests (tests/) state them again in their own words, not through these macros. -#}

{#- Whether Atlassian bills a user: access_billable where the API gives it (the managed-accounts
    list), else a status other than suspended, deactivated or for_deletion. -#}
{% macro billed_user(access_billable, status) -%}
CASE WHEN {{ access_billable }} IS NOT NULL THEN {{ access_billable }}
     WHEN LOWER(COALESCE({{ status }}, 'active')) IN ('suspended', 'deactivated', 'for_deletion') THEN FALSE
     ELSE TRUE END
{%- endmacro %}

{#- Whether an email is a service account's (Atlassian gives them @serviceaccount.atlassian.com). -#}
{% macro service_account_email(email) -%}
LOWER(COALESCE({{ email }}, '')) LIKE '%@serviceaccount.atlassian.com'
{%- endmacro %}
