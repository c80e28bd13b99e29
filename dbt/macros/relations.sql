{#- Where the package reads from. Both take the graph edge (source / ref) so that lineage and
    `dbt docs` hold in every mode. -#}

{#- A stream's table: the source table, or, when compiling the plain reports/*.sql, the bare
    stream name. -#}
{% macro stream(name) -%}
  {%- set relation = source('atlassian_admin', name) -%}
  {%- if var('atlassian_admin_plain_sql', false) -%}{{ name }}{%- else -%}{{ relation }}{%- endif -%}
{%- endmacro %}

{#- A reference table (seat_prices, user_tiers): the relation the var atlassian_admin_<name>
    names (your own table), else the package's seed; in the plain reports, the bare name. -#}
{% macro reference(name) -%}
  {%- set own = var('atlassian_admin_' ~ name, none) -%}
  {%- if var('atlassian_admin_plain_sql', false) -%}{{ name }}
  {%- elif own -%}{{ own }}
  {%- else -%}{{ ref('atlassian_admin__' ~ name) }}
  {%- endif -%}
{%- endmacro %}
