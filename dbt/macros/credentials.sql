{#- Cross-database helpers of the credential report (docs/credential-report.md). Each takes the
    package's own implementation for the plain SQL of reports/ (see cross_db.sql: reports/*.sql
    runs unchanged on DuckDB and PostgreSQL, reports/snowflake/ and reports/bigquery/ are
    compiled without those adapters), and dbt's cross-database macro in a dbt run where one
    exists. -#}

{#- A timestamp `days` days after `ts` (days: an integer expression). -#}
{% macro days_after(ts, days) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('days_after')(ts, days)) }}{%- endif -%}
  {{ return(dbt.dateadd('day', days, ts)) }}
{%- endmacro %}
{% macro default__days_after(ts, days) -%}{{ return(ts ~ ' + ' ~ days ~ " * INTERVAL '1 day'") }}{%- endmacro %}
{% macro snowflake__days_after(ts, days) -%}{{ return('DATEADD(day, ' ~ days ~ ', ' ~ ts ~ ')') }}{%- endmacro %}
{% macro bigquery__days_after(ts, days) -%}{{ return('TIMESTAMP_ADD(' ~ ts ~ ', INTERVAL ' ~ days ~ ' DAY)') }}{%- endmacro %}

{#- The domain of the email address `expr`, lower case: the text after its '@' (null for a null
    address). -#}
{% macro address_domain(expr) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('address_domain')(expr)) }}{%- endif -%}
  {{ return('LOWER(' ~ dbt.split_part(expr, "'@'", 2) ~ ')') }}
{%- endmacro %}
{% macro default__address_domain(expr) -%}{{ return('LOWER(SPLIT_PART(' ~ expr ~ ", '@', 2))") }}{%- endmacro %}
{% macro bigquery__address_domain(expr) -%}{{ return('LOWER(SPLIT(' ~ expr ~ ", '@')[SAFE_OFFSET(1)])") }}{%- endmacro %}

{#- One row per item of the JSON list of objects `column` (as staged: as_json) of `relation`: the
    columns `keys` and, for each name of `fields`, that field of the item as text, in a column
    of its name. json_list_items (cross_db.sql) reads one field a list item; policies.resources
    needs two of the same item (the site and where applying stands). Lists are read with the
    warehouse's JSON functions, never searched as text; a value that is not a non-empty list is
    no list. -#}
{% macro json_list_fields(relation, keys, column, fields) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('json_list_fields')(relation, keys, column, fields)) }}{%- endif -%}
  {{ return(adapter.dispatch('json_list_fields', 'atlassian_admin')(relation, keys, column, fields)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL: the items by position, as default__json_list_items takes them. -#}
{% macro default__json_list_fields(relation, keys, column, fields) -%}
SELECT {% for k in keys %}l.{{ k }}, {% endfor %}{% for f in fields %}CAST((l.{{ column }} -> i.n) ->> '{{ f }}' AS {{ atlassian_admin.type_text() }}) AS {{ f }}{{ ', ' if not loop.last }}{% endfor %}
{{ atlassian_admin.json_list_positions(relation, column) }}
{%- endmacro %}

{% macro snowflake__json_list_fields(relation, keys, column, fields) -%}
SELECT {% for k in keys %}l.{{ k }}, {% endfor %}{% for f in fields %}CAST(f.value:{{ f }} AS {{ atlassian_admin.type_text() }}) AS {{ f }}{{ ', ' if not loop.last }}{% endfor %}
FROM {{ relation }} l, LATERAL FLATTEN(input => l.{{ column }}) f
{%- endmacro %}

{% macro bigquery__json_list_fields(relation, keys, column, fields) -%}
SELECT {% for k in keys %}l.{{ k }}, {% endfor %}{% for f in fields %}JSON_VALUE(e, '$.{{ f }}') AS {{ f }}{{ ', ' if not loop.last }}{% endfor %}
FROM {{ relation }} l
CROSS JOIN UNNEST(JSON_QUERY_ARRAY(l.{{ column }})) AS e
{%- endmacro %}
