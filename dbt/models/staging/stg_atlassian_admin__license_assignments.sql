-- The license_assignments stream as loaded: every row (each version of a billable role held on
-- a site, deletion records too), every column typed. int_atlassian_admin__license_assignments
-- keeps the seats held now; atlassian_admin__license_assignment_history reads every row.
{{ atlassian_admin.staged('license_assignments') }}
