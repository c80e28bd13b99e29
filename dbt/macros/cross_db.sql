{#- The package's SQL that differs between warehouses.

    In a dbt run, each macro below is dbt's own cross-database macro (dbt.dateadd, dbt.datediff,
    dbt.listagg, dbt.type_string, ...), which dbt dispatches on the adapter that runs it.

    The package has implementations of its own for two reasons only, each said where it applies:
    - the plain SQL of reports/ (scripts/generate-reports.py sets the var atlassian_admin_plain_sql).
      It is compiled on one adapter, an in-memory DuckDB, for other databases: reports/*.sql must
      run unchanged on DuckDB AND PostgreSQL (dbt's duckdb__dateadd, `x + cast(n as bigint) *
      interval 1 day`, is not PostgreSQL), and reports/snowflake/ and reports/bigquery/ are
      compiled without those adapters installed (the var atlassian_admin_sql_dialect). dbt's
      dispatch follows the compiling adapter, so it cannot pick these: plain__<name> macros do,
      per dialect (default = DuckDB and PostgreSQL);
    - reading JSON (as_json, json_list_items): dbt has no cross-database macro for JSON.
-#}

{#- The dialect the plain SQL is compiled for ('default', 'snowflake', 'bigquery'), or none in a
    dbt run. -#}
{% macro plain_dialect() -%}
  {%- if var('atlassian_admin_plain_sql', false) -%}{{ return(var('atlassian_admin_sql_dialect', none) or 'default') }}{%- endif -%}
  {{ return(none) }}
{%- endmacro %}

{#- The package's own implementation `name` for the plain SQL's dialect (the default one when
    that dialect has none). -#}
{% macro plain(name) -%}
  {%- set specific = atlassian_admin.plain_dialect() ~ '__' ~ name -%}
  {{ return(atlassian_admin[specific] if specific in atlassian_admin else atlassian_admin['default__' ~ name]) }}
{%- endmacro %}

{#- Types. dbt: dbt.type_string() etc.; plain SQL: the package's, per dialect (see above). -#}
{% macro type_text() -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('type_text')()) }}{%- endif -%}
  {{ return(dbt.type_string()) }}
{%- endmacro %}
{% macro default__type_text() -%}{{ return('TEXT') }}{%- endmacro %}
{% macro snowflake__type_text() -%}{{ return('VARCHAR') }}{%- endmacro %}
{% macro bigquery__type_text() -%}{{ return('STRING') }}{%- endmacro %}

{% macro type_timestamp() -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return('TIMESTAMP') }}{%- endif -%}
  {{ return(dbt.type_timestamp()) }}
{%- endmacro %}

{% macro type_boolean() -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('type_boolean')()) }}{%- endif -%}
  {{ return(dbt.type_boolean()) }}
{%- endmacro %}
{% macro default__type_boolean() -%}{{ return('BOOLEAN') }}{%- endmacro %}
{% macro bigquery__type_boolean() -%}{{ return('BOOL') }}{%- endmacro %}

{% macro type_integer() -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('type_integer')()) }}{%- endif -%}
  {{ return(dbt.type_bigint()) }}
{%- endmacro %}
{% macro default__type_integer() -%}{{ return('BIGINT') }}{%- endmacro %}
{% macro snowflake__type_integer() -%}{{ return('INTEGER') }}{%- endmacro %}
{% macro bigquery__type_integer() -%}{{ return('INT64') }}{%- endmacro %}

{#- A text or timestamp column as a timestamp (UTC times; a destination may store either). -#}
{% macro to_timestamp(expr) -%}CAST({{ expr }} AS {{ atlassian_admin.type_timestamp() }}){%- endmacro %}

{#- A timestamp `days` days before `ts` (days: an integer expression). -#}
{% macro days_before(ts, days) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('days_before')(ts, days)) }}{%- endif -%}
  {{ return(dbt.dateadd('day', '-(' ~ days ~ ')', ts)) }}
{%- endmacro %}
{% macro default__days_before(ts, days) -%}{{ return(ts ~ ' - ' ~ days ~ " * INTERVAL '1 day'") }}{%- endmacro %}
{% macro snowflake__days_before(ts, days) -%}{{ return('DATEADD(day, -(' ~ days ~ '), ' ~ ts ~ ')') }}{%- endmacro %}
{% macro bigquery__days_before(ts, days) -%}{{ return('TIMESTAMP_SUB(' ~ ts ~ ', INTERVAL ' ~ days ~ ' DAY)') }}{%- endmacro %}

{#- A date `days` days after date `d`, as a date. -#}
{% macro add_days(d, days) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('add_days')(d, days)) }}{%- endif -%}
  {{ return('CAST(' ~ dbt.dateadd('day', days, d) ~ ' AS DATE)') }}
{%- endmacro %}
{% macro default__add_days(d, days) -%}{{ return(d ~ ' + ' ~ days) }}{%- endmacro %}
{% macro snowflake__add_days(d, days) -%}{{ return('DATEADD(day, ' ~ days ~ ', ' ~ d ~ ')') }}{%- endmacro %}
{% macro bigquery__add_days(d, days) -%}{{ return('DATE_ADD(' ~ d ~ ', INTERVAL ' ~ days ~ ' DAY)') }}{%- endmacro %}

{#- Whole days from date `start` to date `end`. -#}
{% macro days_between(start, end) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('days_between')(start, end)) }}{%- endif -%}
  {{ return(dbt.datediff(start, end, 'day')) }}
{%- endmacro %}
{% macro default__days_between(start, end) -%}{{ return('(' ~ end ~ ' - ' ~ start ~ ')') }}{%- endmacro %}
{% macro snowflake__days_between(start, end) -%}{{ return('DATEDIFF(day, ' ~ start ~ ', ' ~ end ~ ')') }}{%- endmacro %}
{% macro bigquery__days_between(start, end) -%}{{ return('DATE_DIFF(' ~ end ~ ', ' ~ start ~ ', DAY)') }}{%- endmacro %}

{#- The first day of date `d`'s month, as a date. -#}
{% macro month_start(d) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('month_start')(d)) }}{%- endif -%}
  {{ return('CAST(' ~ dbt.date_trunc('month', d) ~ ' AS DATE)') }}
{%- endmacro %}
{% macro default__month_start(d) -%}{{ return("CAST(DATE_TRUNC('month', " ~ d ~ ') AS DATE)') }}{%- endmacro %}
{% macro snowflake__month_start(d) -%}{{ return("CAST(DATE_TRUNC('month', " ~ d ~ ') AS DATE)') }}{%- endmacro %}
{% macro bigquery__month_start(d) -%}{{ return('DATE_TRUNC(' ~ d ~ ', MONTH)') }}{%- endmacro %}

{#- A date `months` months after date `d` (months: an integer expression), as a date; a day the
    month lacks is its last (Jan 31 + 1 month = Feb 28). -#}
{% macro add_months(d, months) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('add_months')(d, months)) }}{%- endif -%}
  {{ return('CAST(' ~ dbt.dateadd('month', months, d) ~ ' AS DATE)') }}
{%- endmacro %}
{% macro default__add_months(d, months) -%}{{ return('CAST(' ~ d ~ ' + (' ~ months ~ ") * INTERVAL '1 month' AS DATE)") }}{%- endmacro %}
{% macro snowflake__add_months(d, months) -%}{{ return('DATEADD(month, ' ~ months ~ ', ' ~ d ~ ')') }}{%- endmacro %}
{% macro bigquery__add_months(d, months) -%}{{ return('DATE_ADD(' ~ d ~ ', INTERVAL ' ~ months ~ ' MONTH)') }}{%- endmacro %}

{#- The domain of the email `expr`: the text after its '@'. -#}
{% macro email_domain(expr) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('email_domain')(expr)) }}{%- endif -%}
  {{ return(dbt.split_part(expr, "'@'", 2)) }}
{%- endmacro %}
{% macro default__email_domain(expr) -%}{{ return('SPLIT_PART(' ~ expr ~ ", '@', 2)") }}{%- endmacro %}
{% macro bigquery__email_domain(expr) -%}{{ return('SPLIT(' ~ expr ~ ", '@')[SAFE_OFFSET(1)]") }}{%- endmacro %}

{#- The values of `expr` over a group, sorted, joined by `sep` (a SQL string literal). -#}
{% macro sorted_list(expr, sep) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('sorted_list')(expr, sep)) }}{%- endif -%}
  {{ return(dbt.listagg(expr, sep, 'ORDER BY ' ~ expr)) }}
{%- endmacro %}
{% macro default__sorted_list(expr, sep) -%}{{ return('STRING_AGG(' ~ expr ~ ', ' ~ sep ~ ' ORDER BY ' ~ expr ~ ' NULLS FIRST)') }}{%- endmacro %}
{% macro snowflake__sorted_list(expr, sep) -%}{{ return('LISTAGG(' ~ expr ~ ', ' ~ sep ~ ') WITHIN GROUP (ORDER BY ' ~ expr ~ ')') }}{%- endmacro %}

{#- JSON: no dbt macro covers it, so the package's own, per warehouse, in dbt runs too. -#}

{#- A column holding JSON as the warehouse's JSON value, whatever the loader stored: JSON
    (Airbyte's destinations, PyAirbyte), text holding JSON (a plain load), or a typed list or
    struct (DuckDB's read_json_auto makes STRUCT(...)[] and UUID[]; BigQuery's autodetect makes
    REPEATED RECORD). data_type: the column's type when known (a dbt run), else none. -#}
{% macro as_json(expr, data_type=none) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('as_json')(expr, data_type)) }}{%- endif -%}
  {{ return(adapter.dispatch('as_json', 'atlassian_admin')(expr, data_type)) }}
{%- endmacro %}
{#- DuckDB and PostgreSQL: a cast to JSON parses text, keeps JSON / JSONB, and turns DuckDB's
    typed lists and structs into JSON. -#}
{% macro default__as_json(expr, data_type) -%}{{ return('CAST(' ~ expr ~ ' AS JSON)') }}{%- endmacro %}
{#- Snowflake: TO_VARCHAR gives a VARIANT's or ARRAY's JSON text and a string's own text. -#}
{% macro snowflake__as_json(expr, data_type) -%}{{ return('PARSE_JSON(TO_VARCHAR(' ~ expr ~ '))') }}{%- endmacro %}
{#- BigQuery: JSON_QUERY_ARRAY reads JSON and STRING alike; a typed (REPEATED / STRUCT) column
    becomes JSON. -#}
{% macro bigquery__as_json(expr, data_type) -%}
  {%- if data_type and (data_type | upper).startswith(('ARRAY', 'STRUCT', 'RECORD')) -%}{{ return('TO_JSON(' ~ expr ~ ')') }}{%- endif -%}
  {{ return(expr) }}
{%- endmacro %}

{#- One row per item of the JSON list `column` (as staged: as_json) of `relation`: the columns
    `keys` and `item`, the item's `item_key` field as text (item_key none: the item itself, a
    string). Lists are read with the warehouse's JSON functions, never searched as text. -#}
{% macro json_list_items(relation, keys, column, item_key=none) -%}
  {%- if atlassian_admin.plain_dialect() -%}{{ return(atlassian_admin.plain('json_list_items')(relation, keys, column, item_key)) }}{%- endif -%}
  {{ return(adapter.dispatch('json_list_items', 'atlassian_admin')(relation, keys, column, item_key)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL share JSON's operators (-> an item by position, ->> a field or an item
    as text) and json_array_length, but not a function that expands a list into rows: the items
    are taken by position, 0 to the longest list's length - 1 (at most 1,000 items a list). A
    value that is not a non-empty list (JSON null, an object) has no first item and counts as no
    list: PostgreSQL's json_array_length would fail on it. -#}
{% macro default__json_list_items(relation, keys, column, item_key) -%}
{%- set item = ('(l.' ~ column ~ ' -> i.n) ->> ' ~ "'" ~ item_key ~ "'") if item_key else ('l.' ~ column ~ ' ->> i.n') -%}
SELECT {% for k in keys %}l.{{ k }}, {% endfor %}CAST({{ item }} AS {{ atlassian_admin.type_text() }}) AS item
{{ atlassian_admin.json_list_positions(relation, column) }}
{%- endmacro %}

{#- The rows of RELATION (as l) joined to the positions of the list in COLUMN (as i.n, 0 to its
    length - 1; at most 1,000), for DuckDB's and PostgreSQL's lists taken item by item
    (default__json_list_items, default__json_list_fields). -#}
{% macro json_list_positions(relation, column) -%}
{%- set length = 'json_array_length(CASE WHEN ({0} -> 0) IS NOT NULL THEN {0} END)' -%}
FROM {{ relation }} l
JOIN (
    SELECT h.n * 100 + t.n * 10 + u.n AS n
    FROM {{ atlassian_admin.digits() }} h
    CROSS JOIN {{ atlassian_admin.digits() }} t
    CROSS JOIN {{ atlassian_admin.digits() }} u
    WHERE h.n * 100 + t.n * 10 + u.n < (SELECT MAX({{ length.format(column) }}) FROM {{ relation }})
) i ON i.n < {{ length.format('l.' ~ column) }}
{%- endmacro %}

{% macro snowflake__json_list_items(relation, keys, column, item_key) -%}
SELECT {% for k in keys %}l.{{ k }}, {% endfor %}CAST({{ ('f.value:' ~ item_key) if item_key else 'f.value' }} AS {{ atlassian_admin.type_text() }}) AS item
FROM {{ relation }} l, LATERAL FLATTEN(input => l.{{ column }}) f
{%- endmacro %}

{% macro bigquery__json_list_items(relation, keys, column, item_key) -%}
SELECT {% for k in keys %}l.{{ k }}, {% endfor %}JSON_VALUE(e, '{{ ('$.' ~ item_key) if item_key else '$' }}') AS item
FROM {{ relation }} l
CROSS JOIN UNNEST(JSON_QUERY_ARRAY(l.{{ column }})) AS e
{%- endmacro %}

{#- 0..9, as a derived table (no generate_series or VALUES list: not every warehouse has them). -#}
{% macro digits() -%}
(SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
{%- endmacro %}
