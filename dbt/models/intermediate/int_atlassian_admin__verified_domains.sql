-- The organization's verified email domains now (lower case): the current domains (latest row of
-- each, removed ones dropped) whose claim is verified. A user whose email domain is not one of
-- them is external (Atlassian: "Domains with access to your apps"). Empty when the domains
-- stream is not synced, or the org has verified none: int_atlassian_admin__seat_holders then
-- says external is unknown (null) when the domains table has no row at all.
SELECT DISTINCT LOWER(name) AS domain
FROM ({{ atlassian_admin.current_rows(ref('stg_atlassian_admin__domains'), ['domain_id'],
        ['domain_id', 'name', 'claim_status', 'verified']) }}) current_domains
WHERE name IS NOT NULL AND (verified OR LOWER(COALESCE(claim_status, '')) = 'verified')
