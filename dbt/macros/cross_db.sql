{#- The dialect differences of the package, one dispatch macro each: default__ runs on DuckDB and
    PostgreSQL (and is what reports/*.sql holds); snowflake__ and bigquery__ are what those
    warehouses need. scripts/generate-reports.py compiles reports/<dialect>/*.sql with the var
    atlassian_admin_sql_dialect, which picks an implementation whatever the adapter. -#}

{% macro for_dialect(name, dispatched) -%}
  {%- set dialect = var('atlassian_admin_sql_dialect', none) -%}
  {%- if not dialect -%}{{ return(dispatched) }}{%- endif -%}
  {%- set specific = dialect ~ '__' ~ name -%}
  {{ return(atlassian_admin[specific] if specific in atlassian_admin else atlassian_admin['default__' ~ name]) }}
{%- endmacro %}

{#- A text or timestamp column as a timestamp (UTC times; a destination may store either). -#}
{% macro to_timestamp(expr) -%}{{ return(atlassian_admin.for_dialect('to_timestamp', adapter.dispatch('to_timestamp', 'atlassian_admin'))(expr)) }}{%- endmacro %}
{% macro default__to_timestamp(expr) -%}CAST({{ expr }} AS TIMESTAMP){%- endmacro %}

{#- A timestamp `days` days before `ts` (days: an integer expression). -#}
{% macro days_before(ts, days) -%}{{ return(atlassian_admin.for_dialect('days_before', adapter.dispatch('days_before', 'atlassian_admin'))(ts, days)) }}{%- endmacro %}
{% macro default__days_before(ts, days) -%}{{ ts }} - {{ days }} * INTERVAL '1 day'{%- endmacro %}
{% macro snowflake__days_before(ts, days) -%}DATEADD(day, -({{ days }}), {{ ts }}){%- endmacro %}
{% macro bigquery__days_before(ts, days) -%}TIMESTAMP_SUB({{ ts }}, INTERVAL {{ days }} DAY){%- endmacro %}

{#- A date `days` days after date `d`. -#}
{% macro add_days(d, days) -%}{{ return(atlassian_admin.for_dialect('add_days', adapter.dispatch('add_days', 'atlassian_admin'))(d, days)) }}{%- endmacro %}
{% macro default__add_days(d, days) -%}{{ d }} + {{ days }}{%- endmacro %}
{% macro snowflake__add_days(d, days) -%}DATEADD(day, {{ days }}, {{ d }}){%- endmacro %}
{% macro bigquery__add_days(d, days) -%}DATE_ADD({{ d }}, INTERVAL {{ days }} DAY){%- endmacro %}

{#- Whole days from date `start` to date `end`. -#}
{% macro days_between(start, end) -%}{{ return(atlassian_admin.for_dialect('days_between', adapter.dispatch('days_between', 'atlassian_admin'))(start, end)) }}{%- endmacro %}
{% macro default__days_between(start, end) -%}({{ end }} - {{ start }}){%- endmacro %}
{% macro snowflake__days_between(start, end) -%}DATEDIFF(day, {{ start }}, {{ end }}){%- endmacro %}
{% macro bigquery__days_between(start, end) -%}DATE_DIFF({{ end }}, {{ start }}, DAY){%- endmacro %}

{#- The values of `expr` over a group, sorted, joined by `sep` (a SQL string literal). -#}
{% macro sorted_list(expr, sep) -%}{{ return(atlassian_admin.for_dialect('sorted_list', adapter.dispatch('sorted_list', 'atlassian_admin'))(expr, sep)) }}{%- endmacro %}
{% macro default__sorted_list(expr, sep) -%}STRING_AGG({{ expr }}, {{ sep }} ORDER BY {{ expr }} NULLS FIRST){%- endmacro %}
{% macro snowflake__sorted_list(expr, sep) -%}LISTAGG({{ expr }}, {{ sep }}) WITHIN GROUP (ORDER BY {{ expr }}){%- endmacro %}
{% macro bigquery__sorted_list(expr, sep) -%}STRING_AGG({{ expr }}, {{ sep }} ORDER BY {{ expr }}){%- endmacro %}

{#- Whether the JSON list or object in `json_expr` (stored as JSON or as text, depending on the
    destination) holds the string value of `id_expr`: its quoted text. Ids hold no quotes or
    escapes, so this is exact, and it carries to every warehouse. -#}
{% macro json_has_id(json_expr, id_expr) -%}{{ return(atlassian_admin.for_dialect('json_has_id', adapter.dispatch('json_has_id', 'atlassian_admin'))(json_expr, id_expr)) }}{%- endmacro %}
{% macro default__json_has_id(json_expr, id_expr) -%}POSITION('"' || {{ id_expr }} || '"' IN CAST({{ json_expr }} AS TEXT)) > 0{%- endmacro %}
{% macro snowflake__json_has_id(json_expr, id_expr) -%}POSITION('"' || {{ id_expr }} || '"' IN TO_JSON({{ json_expr }})) > 0{%- endmacro %}
{% macro bigquery__json_has_id(json_expr, id_expr) -%}STRPOS(TO_JSON_STRING({{ json_expr }}), '"' || {{ id_expr }} || '"') > 0{%- endmacro %}

{#- The text type, for a typed NULL. -#}
{% macro type_text() -%}{{ return(atlassian_admin.for_dialect('type_text', adapter.dispatch('type_text', 'atlassian_admin'))()) }}{%- endmacro %}
{% macro default__type_text() -%}TEXT{%- endmacro %}
{% macro snowflake__type_text() -%}VARCHAR{%- endmacro %}
{% macro bigquery__type_text() -%}STRING{%- endmacro %}
