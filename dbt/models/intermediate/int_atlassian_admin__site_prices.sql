-- The price of a seat on each paid site: the seat_prices row of its product, plan and billing
-- cycle — the contract's (int_atlassian_admin__billing_terms), else the billing_cycle var's —
-- matched case-insensitively; the highest if several match.
SELECT s.workspace_id,
       MAX(CAST(pr.price_per_seat_month AS DECIMAL(12, 4))) AS price_per_seat_month,
       MAX(pr.currency) AS currency
FROM {{ ref('int_atlassian_admin__sites') }} s
JOIN {{ ref('int_atlassian_admin__billing_terms') }} bt ON bt.workspace_id = s.workspace_id
JOIN {{ atlassian_admin.reference('seat_prices') }} pr
  ON pr.product_type_key = s.type_key AND LOWER(pr.plan) = LOWER(s.plan) AND LOWER(pr.billing_cycle) = bt.billing_cycle
WHERE s.paid_site AND pr.price_per_seat_month IS NOT NULL
GROUP BY s.workspace_id
