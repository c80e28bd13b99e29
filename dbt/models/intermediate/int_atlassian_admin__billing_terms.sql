-- When each subscription bills, from the contract (the contracts table: neither the cycle nor the
-- renewal date is in the admin API). One row per report site, and one for Atlassian Guard
-- (product 'guard', no site): the contract row naming the site (product and site_url), else the
-- product's row (no site_url); its billing cycle, else the billing_cycle var's (dates unknown).
--   monthly  billed on the highest number of users in each cycle (maximum quantity billing): the
--            cycle runs from cycle_start_day (a day a month lacks is its last) to the next one; a
--            seat removed now saves from next_cycle_start;
--   annual   bought in user tiers: a saving needs the tier to drop at renewal_date (the
--            contract's date, rolled forward by whole years to the first on or after as_of).
-- The dates are taken relative to as_of's day.
WITH subscriptions AS (
    SELECT workspace_id, type_key, host_url FROM {{ ref('int_atlassian_admin__sites') }}
    UNION ALL
    SELECT CAST(NULL AS {{ atlassian_admin.type_text() }}), 'guard', CAST(NULL AS {{ atlassian_admin.type_text() }})
),
contracts AS (
    SELECT CAST(product_type_key AS {{ atlassian_admin.type_text() }}) AS product_type_key,
           LOWER(RTRIM(NULLIF(TRIM(CAST(site_url AS {{ atlassian_admin.type_text() }})), ''), '/')) AS site_url,
           LOWER(TRIM(CAST(billing_cycle AS {{ atlassian_admin.type_text() }}))) AS billing_cycle,
           CAST(cycle_start_day AS {{ atlassian_admin.type_integer() }}) AS cycle_start_day,
           CAST(renewal_date AS DATE) AS renewal_date
    FROM {{ atlassian_admin.reference('contracts') }}
),
matched AS (
    SELECT s.workspace_id, s.type_key, c.billing_cycle, c.cycle_start_day, c.renewal_date,
           CASE WHEN c.site_url IS NOT NULL THEN 'site' WHEN c.product_type_key IS NOT NULL THEN 'product' END AS contract_match,
           ROW_NUMBER() OVER (PARTITION BY s.workspace_id, s.type_key
                              ORDER BY CASE WHEN c.site_url IS NOT NULL THEN 0 ELSE 1 END, c.billing_cycle, c.cycle_start_day, c.renewal_date) AS row_no
    FROM subscriptions s
    LEFT JOIN contracts c
      ON c.product_type_key = s.type_key
     AND (c.site_url IS NULL OR c.site_url = LOWER(RTRIM(s.host_url, '/')))
),
chosen AS (
    SELECT m.workspace_id, m.type_key, m.contract_match,
           COALESCE(m.billing_cycle, LOWER(p.billing_cycle)) AS billing_cycle,
           CASE WHEN m.billing_cycle = 'monthly' AND m.cycle_start_day BETWEEN 1 AND 31 THEN m.cycle_start_day END AS cycle_start_day,
           CASE WHEN m.billing_cycle = 'annual' THEN m.renewal_date END AS contract_renewal_date,
           CAST(b.as_of AS DATE) AS bill_day,
           {{ atlassian_admin.month_start('CAST(b.as_of AS DATE)') }} AS m0
    FROM matched m
    CROSS JOIN {{ ref('int_atlassian_admin__params') }} p
    CROSS JOIN {{ ref('int_atlassian_admin__bounds') }} b
    WHERE m.row_no = 1
),
months AS (
    SELECT c.*,
           {{ atlassian_admin.add_months('m0', '-1') }} AS m_prev,
           {{ atlassian_admin.add_months('m0', '1') }} AS m_next,
           {{ atlassian_admin.add_months('m0', '2') }} AS m_after,
           CAST(EXTRACT(YEAR FROM bill_day) AS {{ atlassian_admin.type_integer() }})
             - CAST(EXTRACT(YEAR FROM contract_renewal_date) AS {{ atlassian_admin.type_integer() }}) AS years_since
    FROM chosen c
),
starts AS (
    SELECT m.*,
           {{ atlassian_admin.add_days('m_prev', 'CAST(LEAST(cycle_start_day, ' ~ atlassian_admin.days_between('m_prev', 'm0') ~ ') - 1 AS INTEGER)') }} AS start_prev,
           {{ atlassian_admin.add_days('m0', 'CAST(LEAST(cycle_start_day, ' ~ atlassian_admin.days_between('m0', 'm_next') ~ ') - 1 AS INTEGER)') }} AS start_this,
           {{ atlassian_admin.add_days('m_next', 'CAST(LEAST(cycle_start_day, ' ~ atlassian_admin.days_between('m_next', 'm_after') ~ ') - 1 AS INTEGER)') }} AS start_next,
           {{ atlassian_admin.add_months('contract_renewal_date', '12 * years_since') }} AS renewal_this_year,
           {{ atlassian_admin.add_months('contract_renewal_date', '12 * (years_since + 1)') }} AS renewal_next_year
    FROM months m
),
dated AS (
    SELECT workspace_id, type_key, contract_match, billing_cycle, cycle_start_day,
           CASE WHEN cycle_start_day IS NULL THEN NULL WHEN start_this <= bill_day THEN start_this ELSE start_prev END AS cycle_start,
           CASE WHEN cycle_start_day IS NULL THEN NULL WHEN start_this <= bill_day THEN start_next ELSE start_this END AS next_cycle_start,
           CASE WHEN contract_renewal_date IS NULL THEN NULL
                WHEN contract_renewal_date >= bill_day THEN contract_renewal_date
                WHEN renewal_this_year >= bill_day THEN renewal_this_year
                ELSE renewal_next_year END AS renewal_date
    FROM starts
)
SELECT workspace_id, type_key, contract_match, billing_cycle, cycle_start_day, cycle_start, next_cycle_start, renewal_date,
       CASE WHEN billing_cycle = 'monthly' THEN next_cycle_start
            WHEN billing_cycle = 'annual' THEN renewal_date END AS saves_from
FROM dated
