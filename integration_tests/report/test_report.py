"""The licence report (reports/license_utilization.sql, reclaimable_seats.sql) against the
sandbox org's own ground truth.

Starts target/release/atlassian-sandbox, reads users, user_activity, workspaces and
license_assignments through the connector binary (full refresh), loads the records into one
table per stream (columns = the schema's top-level fields, arrays/objects as JSON text) plus the
price and tier tables from the dbt package's seeds, runs the report SQL unchanged, and checks every
figure of every site, the total row, and the reclaimable-seat list, against figures computed
here from GET /__sandbox/truth and the CSVs — independently of the SQL.

DuckDB always; PostgreSQL too when its server binaries are installed (Debian's `postgresql`
package): a throwaway cluster on a Unix socket in a temp directory, no TCP. Without them the
PostgreSQL cases are skipped with a message saying so.

Run: python -m pytest -q integration_tests/report   (after cargo build --release --workspace)
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from conftest import BILLABLE, NOT_BILLED, PRICES_CSV, TIERS_CSV, csv_rows, load_reference, load_streams, ts


# ---------------------------------------------------------------------------------------------
# ground truth, computed from /__sandbox/truth and the CSVs alone

def is_paid(plan) -> bool:
    return plan is not None and plan.lower() != "free"


def price_of(prices: list[dict], product, plan, cycle):
    hits = [p for p in prices if p["product_type_key"] == product and (p["plan"] or "").lower() == (plan or "").lower()
            and (p["billing_cycle"] or "").lower() == cycle.lower() and p["price_per_seat_month"] not in (None, "")]
    if not hits:
        return None, None
    best = max(hits, key=lambda p: float(p["price_per_seat_month"]))
    return float(best["price_per_seat_month"]), best["currency"]


def billed(u: dict) -> bool:
    """Whether Atlassian bills the holder: not suspended, deactivated or for deletion."""
    return (u.get("status") or "active") not in NOT_BILLED


def expected(truth: dict, prices: list[dict], tiers: list[dict], active_days=30, inactive_days=90, headroom_pct=10,
             billing_cycle="monthly", seat_first_seen: dict | None = None, granted: dict | None = None):
    """The report's figures from the truth. seat_first_seen / granted: {(site, account): time}
    of seats seen after their site's first sync, and of access grants in the audit log."""
    as_of = max(ts(p["lastActiveTimestamp"]) for u in truth["users"] for p in u.get("productAccess") or [] if p.get("lastActiveTimestamp"))
    recent, cutoff = as_of - timedelta(days=active_days), as_of - timedelta(days=inactive_days)
    seat_first_seen, granted = seat_first_seen or {}, granted or {}
    sites, reclaim = {}, {}
    # Where a seat is removed: the holder's groups that grant a billable role on the site.
    grants = {g["id"]: {a["workspace_id"] for a in g["role_assignments"] if a["role"] in BILLABLE} for g in truth["groups"]}
    names = {g["id"]: g["name"] for g in truth["groups"]}

    def remove_from(u, site):
        via = sorted(names[g["id"]] for g in u.get("groups") or [] if site in grants.get(g["id"], ()))
        return ", ".join(via) if via else "direct"

    for w in truth["workspaces"]:
        a = w["attributes"]
        if (a.get("sandbox") or {}).get("type") == "CHILD" or a.get("status") == "offline":
            continue
        holders = {}
        for u in truth["users"]:
            roles = sorted({r["roleId"] for r in u.get("siteRoles") or [] if r["resourceId"] == w["id"] and r["roleId"] in BILLABLE})
            if not roles:
                continue
            seen = [ts(p["lastActiveTimestamp"]) for p in u.get("productAccess") or [] if p.get("id") == w["id"] and p.get("lastActiveTimestamp")]
            dates = [d for d in (ts(u.get("addedToOrg")), seat_first_seen.get((w["id"], u["accountId"])),
                                 granted.get((w["id"], u["accountId"]))) if d is not None]
            since = max(dates) if dates else None
            holders[u["accountId"]] = (max(seen) if seen else None, roles, u, since)
        capacity = a.get("capacity")
        plan = w["relationships"]["entitlement"][0]["attributes"].get("plan")
        paid = is_paid(plan)
        assigned = len(holders)
        billed_h = {k: v for k, v in holders.items() if billed(v[2])}
        n_billed = len(billed_h)
        n_recent = sum(1 for la, _, _, _ in billed_h.values() if la is not None and la >= recent)
        n_active = sum(1 for la, _, _, _ in billed_h.values() if la is not None and la >= cutoff)
        new = {k for k, (la, _, _, since) in billed_h.items() if not (la is not None and la >= cutoff) and since is not None and since >= cutoff}
        idle = {k for k, (la, _, _, _) in billed_h.items() if not (la is not None and la >= cutoff) and k not in new}
        needed = -(-(n_active + len(new)) * (100 + headroom_pct) // 100) if paid else None
        fitting = [int(t["tier_users"]) for t in tiers if t["product_type_key"] == a.get("typeKey")
                   and needed is not None and int(t["tier_users"]) >= needed]
        right = min(fitting) if fitting else None
        price, currency = price_of(prices, a.get("typeKey"), plan, billing_cycle) if paid else (None, None)
        times = lambda n: None if price is None or n is None else n * price  # noqa: E731
        saving = None if capacity is None or right is None else capacity - right
        sites[w["id"]] = {
            "product": a.get("typeKey"), "site_name": a.get("name"), "site_url": a.get("hostUrl"), "plan": plan,
            "paid_site": paid, "capacity": capacity, "seats_paid": capacity if paid else None, "seats_assigned": assigned,
            "seats_billed": n_billed, "not_billed": assigned - n_billed, "active_30d": n_recent,
            "active_90d": n_active, "new_not_active": len(new), "reclaimable": len(idle),
            "never_active": sum(1 for k in idle if holders[k][0] is None),
            "utilization": None if not capacity else round(n_billed / capacity, 3),
            "seats_unassigned": None if capacity is None else capacity - n_billed,
            "seats_needed": needed, "right_tier": right, "tier_saving_seats": saving,
            "price_per_seat_month": price, "currency": currency,
            "cost_paid_month": times(capacity), "cost_billed_month": times(n_billed),
            "cost_reclaimable_month": times(len(idle)), "tier_saving_month": times(saving),
            "pricing": "not paid" if not paid else "no price" if price is None else "priced",
            "row_type": "site", "as_of": as_of,
        }
        for account in idle:
            la, roles, u, since = holders[account]
            reclaim[(w["id"], account)] = {
                "product": a.get("typeKey"), "site_url": a.get("hostUrl"), "name": u.get("name"), "email": u.get("email"),
                "user_status": u.get("status"), "roles": ",".join(roles), "last_active_on_site": la,
                "days_since_active": None if la is None else (as_of.date() - la.date()).days,
                "seat_since": since, "paid_site": paid, "cost_month": price, "currency": currency,
                "remove_from": remove_from(u, w["id"]),
            }
    paid_sites = [s for s in sites.values() if s["paid_site"]]
    priced = [s for s in paid_sites if s["price_per_seat_month"] is not None]
    currencies = {s["currency"] for s in priced}

    def total(key, rows=paid_sites):
        values = [s[key] for s in rows if s[key] is not None]
        return sum(values) if values else None

    one_currency = len(currencies) == 1
    total_row = {
        "site_name": "Total (paid sites)", "paid_site": True, "row_type": "total", "workspace_id": None,
        **{k: total(k) for k in ("capacity", "seats_paid", "seats_assigned", "seats_billed", "not_billed", "active_30d", "active_90d",
                                 "new_not_active", "reclaimable", "never_active", "seats_unassigned", "seats_needed", "right_tier",
                                 "tier_saving_seats")},
        "utilization": round(total("seats_billed", [s for s in paid_sites if s["seats_paid"] is not None]) / total("seats_paid"), 3),
        "currency": next(iter(currencies)) if one_currency else None,
        **{k: (total(k, priced) if one_currency else None)
           for k in ("cost_paid_month", "cost_billed_month", "cost_reclaimable_month", "tier_saving_month")},
        "pricing": "mixed currencies" if len(currencies) > 1 else "no price" if not priced
                   else "partly priced" if len(priced) < len(paid_sites) else "priced",
        "as_of": as_of,
    }
    return sites, total_row, reclaim


# ---------------------------------------------------------------------------------------------
# the checks

def same(got, want, where):
    if isinstance(want, float) and got is not None:
        assert got == pytest.approx(want, abs=0.0051), f"{where}: report {got!r}, truth {want!r}"
    else:
        assert got == want, f"{where}: report {got!r}, truth {want!r}"


def check_report(db, truth, prices=None, tiers=None, seat_first_seen=None, granted=None, **params) -> tuple[list[dict], dict]:
    """Every figure of every site, the total row, every reclaimable seat."""
    prices = csv_rows(PRICES_CSV) if prices is None else prices
    tiers = csv_rows(TIERS_CSV) if tiers is None else tiers
    want_sites, want_total, want_reclaim = expected(truth, prices, tiers, seat_first_seen=seat_first_seen, granted=granted, **params)
    rows = db.report("license_utilization.sql", **params)
    got = {r["workspace_id"]: r for r in rows if r["row_type"] == "site"}
    assert set(got) == set(want_sites), "the report's sites are the sites license_assignments reads"
    assert [r["row_type"] for r in rows].count("total") == 1 and rows[-1]["row_type"] == "total", "one total row, last"
    for ws, want in want_sites.items():
        row = got[ws]
        for key, value in want.items():
            same(row[key], value, f"{ws} {key}")
        assert row["active_30d"] <= row["active_90d"]
        assert row["active_90d"] + row["new_not_active"] + row["reclaimable"] + row["not_billed"] == row["seats_assigned"]
    for key, value in want_total.items():
        same(rows[-1][key], value, f"total {key}")

    rows = db.report("reclaimable_seats.sql", **params)
    got = {(r["workspace_id"], r["account_id"]): r for r in rows}
    assert len(got) == len(rows), "one row per user and site"
    assert set(got) == set(want_reclaim)
    for key, want in want_reclaim.items():
        for k, v in want.items():
            same(got[key][k], v, f"{key} {k}")
    return list(want_sites.values()), want_total


def test_report_equals_the_sandbox_truth(db, synced):
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    load_reference(db)
    sites, total = check_report(db, truth)
    # The sandbox has what the report must tell apart: free, offline and sandbox sites, and a
    # paid site per product; every paid site priced (the shipped example prices), in USD.
    assert sum(s["seats_assigned"] for s in sites) > 100
    assert any(s["reclaimable"] for s in sites) and any(s["never_active"] for s in sites)
    # ... and the holders the report must not flag: new ones not active yet, and unbilled ones.
    assert any(s["new_not_active"] for s in sites) and any(s["not_billed"] for s in sites)
    assert {s["paid_site"] for s in sites} == {True, False}
    assert total["pricing"] == "priced" and total["cost_reclaimable_month"] > 0 and total["tier_saving_seats"] > 0
    assert any(s["right_tier"] is None for s in sites if s["paid_site"]), "a paid product with no tier list"
    check_report(db, truth, active_days=7, inactive_days=60, headroom_pct=25)  # the thresholds are parameters
    via = {r["remove_from"] for r in db.report("reclaimable_seats.sql")}
    assert "direct" in via and any(v != "direct" for v in via), f"seats held directly and through groups: {via}"


def test_without_groups_synced_where_to_remove_a_seat_is_unknown(db, synced):
    """An empty groups table (the key may not read groups): not 'direct' — unknown."""
    schemas, records, truth = synced
    load_streams(db, schemas, {**records, "groups": []})
    load_reference(db)
    rows = db.report("reclaimable_seats.sql")
    assert rows and all(r["remove_from"] is None for r in rows)


def test_a_json_null_list_is_no_list(db, synced):
    """users.groups stored as JSON null (not SQL NULL) reads as no groups, on both databases
    (PostgreSQL's json_array_length refuses a scalar): the same rows as with SQL NULL."""
    schemas, records, truth = synced
    some = {u["account_id"] for u in records["users"][::3]}
    load_streams(db, schemas, {**records, "users": [dict(u, groups=None) if u["account_id"] in some else u for u in records["users"]]})
    load_reference(db)
    want = {name: db.report(name) for name in ("reclaimable_seats.sql", "seat_holders.sql")}
    db.execute("UPDATE users SET groups = 'null' WHERE groups IS NULL")
    assert db.query("SELECT COUNT(*) AS n FROM users WHERE groups = 'null'")[0]["n"] == len(some)
    for name, rows in want.items():
        assert db.report(name) == rows, name


def test_without_prices_the_report_runs_and_says_so(db, synced):
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    load_reference(db, prices=[])
    _, total = check_report(db, truth, prices=[])
    assert total["pricing"] == "no price" and total["cost_paid_month"] is None
    rows = db.report("license_utilization.sql")
    assert {r["pricing"] for r in rows if r["row_type"] == "site"} == {"no price", "not paid"}


def test_partial_and_mixed_currency_prices(db, synced):
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    shipped = csv_rows(PRICES_CSV)
    partial = [p for p in shipped if p["product_type_key"] in ("jira-software", "confluence")]
    load_reference(db, prices=partial)
    _, total = check_report(db, truth, prices=partial)
    assert total["pricing"] == "partly priced" and total["cost_paid_month"] > 0
    mixed = [dict(p, currency="EUR") if p["product_type_key"] == "confluence" else p for p in partial]
    load_reference(db, prices=mixed)
    _, total = check_report(db, truth, prices=mixed)
    assert total["pricing"] == "mixed currencies" and total["cost_paid_month"] is None
    annual = [dict(p, billing_cycle="annual", price_per_seat_month="1.25") for p in shipped]
    load_reference(db, prices=shipped + annual)
    _, total = check_report(db, truth, prices=shipped + annual, billing_cycle="annual")
    assert total["pricing"] == "priced" and total["cost_paid_month"] == pytest.approx(1.25 * total["seats_paid"])


def test_the_stream_table_equals_the_truth_seats(synced):
    """The table the report starts from: one row per billable seat on online, non-sandbox sites."""
    _, records, truth = synced
    got = {(r["workspace_id"], r["account_id"], r["role"]) for r in records["license_assignments"]}
    skip = {w["id"] for w in truth["workspaces"]
            if (w["attributes"].get("sandbox") or {}).get("type") == "CHILD" or w["attributes"].get("status") == "offline"}
    want = {(r["resourceId"], u["accountId"], r["roleId"]) for u in truth["users"] for r in u.get("siteRoles") or []
            if r["roleId"] in BILLABLE and r["resourceId"] not in skip}
    assert got == want and len(records["license_assignments"]) == len(want)


def test_the_tier_and_price_templates_are_well_formed():
    tiers = csv_rows(TIERS_CSV)
    assert tiers and all(t["source"] and "verify" in t["source"] for t in tiers), "every tier row says where it comes from"
    by_product: dict[str, list[int]] = {}
    for t in tiers:
        by_product.setdefault(t["product_type_key"], []).append(int(t["tier_users"]))
    for product, sizes in by_product.items():
        assert sizes == sorted(set(sizes)) and sizes[-1] >= 10000, product
    prices = csv_rows(PRICES_CSV)
    assert prices and all("EXAMPLE" in p["note"] for p in prices), "the shipped prices are marked as examples"
    assert all(math.isfinite(float(p["price_per_seat_month"])) and p["currency"] and p["billing_cycle"] in ("monthly", "annual")
               for p in prices)
