-- The users stream as loaded: every row (each version of an account, deletion records too),
-- every column typed. int_atlassian_admin__users keeps the current accounts.
{{ atlassian_admin.staged('users') }}
