{#- The staging layer: each stream's columns, passed through, typed.

    stream_columns(stream): the stream's fields (schemas/<stream>.json, in its order; a test
    checks they match) plus Airbyte's _airbyte_extracted_at, each with
      kind   how it is typed: text (ids too: DuckDB's read_json_auto types UUID-looking ids as
             UUID), timestamp, boolean, integer, or json (lists and objects: JSON, text or a
             typed list, as the loader left it — see as_json);
      alias  its name in staging, when renamed (a table's own id becomes <entity>_id);
      used   read by the package's models: the plain SQL of reports/ selects only these, so a
             hand-made table needs only them (docs/license-report.md, "Tables it expects").
-#}
{% macro stream_columns(stream) -%}
{%- set columns = {
  'users': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'account_id', 'kind': 'text', 'used': true},
    {'name': 'account_type', 'kind': 'text'},
    {'name': 'status', 'kind': 'text', 'used': true},
    {'name': 'account_status', 'kind': 'text'},
    {'name': 'membership_status', 'kind': 'text'},
    {'name': 'added_to_org', 'kind': 'timestamp', 'used': true},
    {'name': 'name', 'kind': 'text', 'used': true},
    {'name': 'nickname', 'kind': 'text'},
    {'name': 'email', 'kind': 'text', 'used': true},
    {'name': 'email_verified', 'kind': 'boolean'},
    {'name': 'claim_status', 'kind': 'text'},
    {'name': 'platform_roles', 'kind': 'json'},
    {'name': 'picture', 'kind': 'text'},
    {'name': 'avatar', 'kind': 'text'},
    {'name': 'management_source', 'kind': 'text'},
    {'name': 'mfa_enabled', 'kind': 'boolean'},
    {'name': 'job_title', 'kind': 'text'},
    {'name': 'department', 'kind': 'text'},
    {'name': 'organization', 'kind': 'text'},
    {'name': 'location', 'kind': 'text'},
    {'name': 'time_zone', 'kind': 'text'},
    {'name': 'resource_count', 'kind': 'integer'},
    {'name': 'deactivated_on', 'kind': 'timestamp'},
    {'name': 'for_deletion', 'kind': 'boolean'},
    {'name': 'groups', 'kind': 'json', 'used': true},
    {'name': 'access_billable', 'kind': 'boolean', 'used': true},
    {'name': 'last_active', 'kind': 'timestamp'},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'user_activity': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'account_id', 'kind': 'text', 'used': true},
    {'name': 'product_key', 'kind': 'text'},
    {'name': 'product_id', 'kind': 'text', 'used': true},
    {'name': 'workspace_id', 'kind': 'text', 'used': true},
    {'name': 'last_active', 'kind': 'timestamp', 'used': true},
    {'name': 'site_url', 'kind': 'text'},
    {'name': 'workspace_name', 'kind': 'text'},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'workspaces': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'workspace_id', 'used': true},
    {'name': 'name', 'kind': 'text', 'used': true},
    {'name': 'type_key', 'kind': 'text', 'used': true},
    {'name': 'type', 'kind': 'text'},
    {'name': 'status', 'kind': 'text', 'used': true},
    {'name': 'host_url', 'kind': 'text', 'used': true},
    {'name': 'capacity', 'kind': 'integer', 'used': true},
    {'name': 'usage', 'kind': 'integer'},
    {'name': 'plan', 'kind': 'text', 'used': true},
    {'name': 'plan_key', 'kind': 'text'},
    {'name': 'entitlement_key', 'kind': 'text'},
    {'name': 'sandbox_type', 'kind': 'text', 'used': true},
    {'name': 'created_at', 'kind': 'timestamp'},
    {'name': 'realm', 'kind': 'text'},
    {'name': 'regions', 'kind': 'json'},
    {'name': 'labels', 'kind': 'json'},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp', 'used': true},
  ],
  'license_assignments': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'workspace_id', 'kind': 'text', 'used': true},
    {'name': 'account_id', 'kind': 'text', 'used': true},
    {'name': 'role', 'kind': 'text', 'used': true},
    {'name': 'billable', 'kind': 'boolean'},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'groups': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'group_id', 'used': true},
    {'name': 'name', 'kind': 'text', 'used': true},
    {'name': 'description', 'kind': 'text'},
    {'name': 'directory_id', 'kind': 'text'},
    {'name': 'managed_by', 'kind': 'text'},
    {'name': 'external_synced', 'kind': 'boolean'},
    {'name': 'user_count', 'kind': 'integer'},
    {'name': 'resource_count', 'kind': 'integer'},
    {'name': 'role_assignments', 'kind': 'json'},
    {'name': 'billable_workspace_ids', 'kind': 'json', 'used': true},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'audit_events': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'event_id', 'used': true},
    {'name': 'time', 'kind': 'timestamp', 'alias': 'event_time', 'used': true},
    {'name': 'processed_at', 'kind': 'timestamp', 'used': true},
    {'name': 'action', 'kind': 'text', 'used': true},
    {'name': 'action_name', 'kind': 'text'},
    {'name': 'actor_id', 'kind': 'text'},
    {'name': 'actor_name', 'kind': 'text'},
    {'name': 'actor_email', 'kind': 'text'},
    {'name': 'actor_auth_type', 'kind': 'text'},
    {'name': 'actor_token_id', 'kind': 'text'},
    {'name': 'actor_token_label', 'kind': 'text'},
    {'name': 'on_behalf_of_id', 'kind': 'text'},
    {'name': 'app_id', 'kind': 'text'},
    {'name': 'actor', 'kind': 'json'},
    {'name': 'context', 'kind': 'json', 'used': true},
    {'name': 'container', 'kind': 'json'},
    {'name': 'ip', 'kind': 'text'},
    {'name': 'country', 'kind': 'text'},
    {'name': 'region', 'kind': 'text'},
    {'name': 'city', 'kind': 'text'},
    {'name': 'message', 'kind': 'text'},
    {'name': 'message_format', 'kind': 'text'},
    {'name': 'extra', 'kind': 'json'},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'domains': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'domain_id', 'used': true},
    {'name': 'name', 'kind': 'text', 'used': true},
    {'name': 'claim_type', 'kind': 'text'},
    {'name': 'claim_status', 'kind': 'text', 'used': true},
    {'name': 'verified', 'kind': 'boolean', 'used': true},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'api_tokens': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'token_id', 'used': true},
    {'name': 'label', 'kind': 'text', 'used': true},
    {'name': 'status', 'kind': 'text', 'used': true},
    {'name': 'created_at', 'kind': 'timestamp', 'used': true},
    {'name': 'expires_at', 'kind': 'timestamp', 'used': true},
    {'name': 'last_active_at', 'kind': 'timestamp', 'used': true},
    {'name': 'account_id', 'kind': 'text', 'used': true},
    {'name': 'owner_name', 'kind': 'text', 'used': true},
    {'name': 'owner_email', 'kind': 'text', 'used': true},
    {'name': 'scopes', 'kind': 'json', 'used': true},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'service_accounts': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'service_account_id', 'used': true},
    {'name': 'atlassian_id', 'kind': 'text', 'used': true},
    {'name': 'email', 'kind': 'text', 'used': true},
    {'name': 'display_name', 'kind': 'text'},
    {'name': 'status', 'kind': 'text'},
    {'name': 'created_by', 'kind': 'text'},
    {'name': 'description', 'kind': 'text'},
    {'name': 'updated_at', 'kind': 'timestamp'},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'seat_counts': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'workspace_id', 'kind': 'text', 'used': true},
    {'name': 'role', 'kind': 'text', 'used': true},
    {'name': 'count', 'kind': 'integer', 'alias': 'seat_count', 'used': true},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'api_keys': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'key_id', 'used': true},
    {'name': 'label', 'kind': 'text', 'used': true},
    {'name': 'created_at', 'kind': 'timestamp', 'used': true},
    {'name': 'expires_at', 'kind': 'timestamp', 'used': true},
    {'name': 'last_active_at', 'kind': 'timestamp', 'used': true},
    {'name': 'created_by_id', 'kind': 'text', 'used': true},
    {'name': 'created_by_name', 'kind': 'text', 'used': true},
    {'name': 'created_by_email', 'kind': 'text', 'used': true},
    {'name': 'scopes', 'kind': 'json', 'used': true},
    {'name': 'target_resources', 'kind': 'json'},
    {'name': 'system_account_id', 'kind': 'text'},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
  'policies': [
    {'name': 'org_id', 'kind': 'text'},
    {'name': 'id', 'kind': 'text', 'alias': 'policy_id', 'used': true},
    {'name': 'type', 'kind': 'text', 'alias': 'policy_type', 'used': true},
    {'name': 'name', 'kind': 'text', 'used': true},
    {'name': 'status', 'kind': 'text', 'used': true},
    {'name': 'created_at', 'kind': 'timestamp'},
    {'name': 'updated_at', 'kind': 'timestamp'},
    {'name': 'resources', 'kind': 'json', 'used': true},
    {'name': 'rule', 'kind': 'json'},
    {'name': 'observed_at', 'kind': 'timestamp', 'used': true},
    {'name': '_ab_cdc_deleted_at', 'kind': 'timestamp', 'used': true},
    {'name': '_airbyte_extracted_at', 'kind': 'timestamp'},
  ],
} -%}
{{ return(columns[stream]) }}
{%- endmacro %}

{#- A staging model: every row of the stream's table, every column of stream_columns typed as
    its kind (the plain SQL: the used ones). In a dbt run the table's columns are read from the
    warehouse (adapter.get_columns_in_relation): a column of the stream the table lacks is null
    (a model reading one fails with a message naming it), and _airbyte_extracted_at is Airbyte's
    when the table has it — Airbyte's final tables — and null on plain tables. The var
    atlassian_admin_airbyte_tables (true / false) overrides what the columns say. -#}
{% macro staged(stream) -%}
{%- set plain = atlassian_admin.plain_dialect() -%}
{%- set detect = execute and not plain -%}
{%- set found = {} -%}
{%- set optional = stream in atlassian_admin.optional_streams() -%}
{%- set absent = optional and var('atlassian_admin_using_' ~ stream, none) == false -%}
{%- if detect and not absent -%}
  {%- set relation = source('atlassian_admin', stream) -%}
  {%- for c in adapter.get_columns_in_relation(relation) -%}{%- do found.update({c.name | lower: c}) -%}{%- endfor -%}
  {%- if not found and optional -%}
    {%- set absent = true -%}
  {%- elif not found -%}
    {{ exceptions.raise_compiler_error("atlassian_admin: the table " ~ relation ~ " of the " ~ stream ~ " stream is missing or has no column (vars atlassian_admin_database, atlassian_admin_schema, atlassian_admin_" ~ stream ~ "_identifier)") }}
  {%- endif -%}
{%- endif -%}
{%- if absent -%}
{#- A stream not synced (no table, or its var false): no row, every column typed. -#}
SELECT
{%- for col in atlassian_admin.stream_columns(stream) if col.used or not plain %}
    {{ atlassian_admin.typed('NULL', col.kind) }} AS {{ col.alias or col.name }}{{ ',' if not loop.last }}
{%- endfor %}
FROM (SELECT 1 AS one) s
WHERE 1 = 0
{%- else -%}
{%- set airbyte = var('atlassian_admin_airbyte_tables', none) -%}
SELECT
{%- for col in atlassian_admin.stream_columns(stream) if col.used or not plain %}
  {%- if col.name == '_airbyte_extracted_at' -%}
    {%- set present = not plain and (airbyte if airbyte is not none else (not detect or col.name in found)) -%}
  {%- else -%}
    {%- set present = not detect or col.name in found -%}
    {%- if col.used and not present -%}
      {{ exceptions.raise_compiler_error("atlassian_admin: the table of the " ~ stream ~ " stream has no column " ~ col.name ~ " (columns: " ~ (found.keys() | sort | join(', ')) ~ ")") }}
    {%- endif -%}
  {%- endif -%}
  {%- set expr = ('s.' ~ col.name) if present else 'NULL' -%}
  {%- set data_type = found[col.name].data_type if col.name in found else none %}
    {{ atlassian_admin.typed(expr, col.kind, data_type) }} AS {{ col.alias or col.name }}{{ ',' if not loop.last }}
{%- endfor %}
FROM {{ atlassian_admin.stream(stream) }} s
{%- endif -%}
{%- endmacro %}

{#- The streams the report reads when synced and does without when not: in a dbt run a missing
    table (or the var atlassian_admin_using_<stream> false) is a stream not synced, staged as no
    row; in reports/*.sql an empty table says so (docs/license-report.md, "Tables it expects"). -#}
{% macro optional_streams() -%}
  {{ return(['domains', 'api_tokens', 'service_accounts', 'seat_counts', 'api_keys', 'policies']) }}
{%- endmacro %}

{#- `expr` as the type of its kind. -#}
{% macro typed(expr, kind, data_type=none) -%}
  {%- if kind == 'json' -%}{{ return(atlassian_admin.as_json(expr, data_type)) }}{%- endif -%}
  {%- set types = {'text': atlassian_admin.type_text, 'timestamp': atlassian_admin.type_timestamp,
                   'boolean': atlassian_admin.type_boolean, 'integer': atlassian_admin.type_integer} -%}
  {{ return('CAST(' ~ expr ~ ' AS ' ~ types[kind]() ~ ')') }}
{%- endmacro %}
