-- The user_activity stream as loaded: every row (each version of a user's last activity on a
-- product site, deletion records too), every column typed. int_atlassian_admin__activity keeps
-- the current pairs.
{{ atlassian_admin.staged('user_activity') }}
