-- The domains stream as loaded (the organization's claimed email domains, verified or not):
-- every row, every column typed; id as domain_id. No row when the stream is not synced (a
-- missing table in a dbt run): holders are then neither external nor not, but unknown.
{{ atlassian_admin.staged('domains') }}
