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

import calendar
import math
from datetime import date, datetime, timedelta

import pytest

from conftest import (BILLABLE, NOT_BILLED, OPTIONAL, PRICES_CSV, SOMETIMES, STREAMS, TIERS_CSV, csv_rows, load_reference,
                      load_streams, reference_rows, ts)


# ---------------------------------------------------------------------------------------------
# ground truth, computed from /__sandbox/truth and the CSVs alone

SERVICE_EMAIL = "@serviceaccount.atlassian.com"
CATEGORIES = ("service_account", "not_billed", "active", "active_via_api", "new", "unseen", "reclaimable")
# The streams the report does without, all synced unless a test says otherwise.
ALL_SYNCED = frozenset(SOMETIMES)


def is_paid(plan) -> bool:
    return plan is not None and plan.lower() != "free"


def price_of(prices: list[dict], product, plan, cycle):
    hits = [p for p in prices if p["product_type_key"] == product and (p["plan"] or "").lower() == (plan or "").lower()
            and (p["billing_cycle"] or "").lower() == (cycle or "").lower() and p["price_per_seat_month"] not in (None, "")]
    if not hits:
        return None, None
    best = max(hits, key=lambda p: float(p["price_per_seat_month"]))
    return float(best["price_per_seat_month"]), max(p["currency"] for p in hits)


def billed(u: dict) -> bool:
    """Whether Atlassian bills the holder: not suspended, deactivated or for deletion."""
    return (u.get("status") or "active") not in NOT_BILLED


def report_workspaces(truth: dict) -> list[dict]:
    """The sites license_assignments reads: not a sandbox copy, not offline."""
    return [w for w in truth["workspaces"]
            if (w["attributes"].get("sandbox") or {}).get("type") != "CHILD" and w["attributes"].get("status") != "offline"]


def service_account_ids(truth: dict, synced=ALL_SYNCED) -> set[str]:
    """Service accounts: listed by the service_accounts stream (when synced), else by their email."""
    listed = {a["account_id"] for a in truth.get("service_accounts") or []} if "service_accounts" in synced else set()
    return listed | {u["accountId"] for u in truth["users"] if (u.get("email") or "").lower().endswith(SERVICE_EMAIL)}


def token_use(truth: dict, synced=ALL_SYNCED) -> dict:
    """{account: the newest last use of one of their API tokens} (api_tokens synced)."""
    out: dict = {}
    if "api_tokens" not in synced:
        return out
    for t in truth.get("api_tokens") or []:
        at = ts(t.get("last_active_at"))
        owner = (t.get("owner") or {}).get("account_id")
        if at is not None and owner:
            out[owner] = max(out.get(owner, at), at)
    return out


def holders_of(truth: dict, w: dict) -> dict:
    """{account: (roles, user)} of the users holding a billable role on site `w`."""
    out = {}
    for u in truth["users"]:
        roles = sorted({r["roleId"] for r in u.get("siteRoles") or [] if r["resourceId"] == w["id"] and r["roleId"] in BILLABLE})
        if roles:
            out[u["accountId"]] = (roles, u)
    return out


def last_day(y: int, m: int) -> int:
    return calendar.monthrange(y, m)[1]


def month_plus(d: date, months: int, day: int | None = None) -> date:
    """The date `months` months after d's month, on `day` (default d's day), clamped to the month."""
    k = d.year * 12 + d.month - 1 + months
    y, m = divmod(k, 12)
    return date(y, m + 1, min(day or d.day, last_day(y, m + 1)))


def billing_terms(contracts: list[dict], product: str, host_url, default_cycle: str, bill_day: date) -> dict:
    """The contract's terms of a subscription, as int_atlassian_admin__billing_terms reads them."""
    rows = [c for c in contracts if c["product_type_key"] == product]
    site = [c for c in rows if (c.get("site_url") or "").strip()
            and (c["site_url"].strip().rstrip("/").lower() == (host_url or "").rstrip("/").lower())]
    chosen = (site or [c for c in rows if not (c.get("site_url") or "").strip()] or [None])[0]
    cycle = (chosen["billing_cycle"].strip().lower() if chosen else default_cycle.lower())
    out = {"billing_cycle": cycle, "contract_match": None if chosen is None else "site" if site else "product",
           "cycle_start": None, "next_cycle_start": None, "renewal_date": None}
    if chosen and cycle == "monthly" and chosen.get("cycle_start_day"):
        day = int(chosen["cycle_start_day"])
        this = month_plus(bill_day, 0, day)
        out["cycle_start"], out["next_cycle_start"] = (this, month_plus(bill_day, 1, day)) if this <= bill_day \
            else (month_plus(bill_day, -1, day), this)
    if chosen and cycle == "annual" and chosen.get("renewal_date"):
        r = date.fromisoformat(str(chosen["renewal_date"])[:10])
        if r < bill_day:
            r = month_plus(r, 12 * (bill_day.year - r.year))
            r = r if r >= bill_day else month_plus(r, 12)
        out["renewal_date"] = r
    out["saves_from"] = out["next_cycle_start"] if cycle == "monthly" else out["renewal_date"] if cycle == "annual" else None
    return out


def billed_holders(truth: dict, ws: str, services: set[str]) -> int:
    """Users Atlassian bills on site `ws` in this truth: a billable role, billed, not a service account."""
    return sum(1 for u in truth["users"] if billed(u) and u["accountId"] not in services
               and any(r["resourceId"] == ws and r["roleId"] in BILLABLE for r in u.get("siteRoles") or []))


def peak_of(observations: list, ws: str, start: date, end: date, services: set[str]):
    """The peak of the cycle [start, end) from the syncs [(instant, truth)]: the state when the
    cycle began (the last sync before it) and every sync within it; None without either."""
    start_t, end_t = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    before = [t for t in observations if t[0] < start_t]
    seen = ([before[-1]] if before else []) + [t for t in observations if start_t <= t[0] < end_t]
    return max(billed_holders(truth, ws, services) for _, truth in seen) if seen else None


def expected(truth: dict, prices: list[dict], tiers: list[dict], active_days=30, inactive_days=90, headroom_pct=10,
             billing_cycle="monthly", seat_first_seen: dict | None = None, granted: dict | None = None, synced=ALL_SYNCED,
             contracts: list[dict] | None = None, unseen: list[dict] | None = None, free_plans: list[dict] | None = None,
             unseen_in_savings=False, as_of=None, observations: list | None = None):
    """The report's figures from the truth. seat_first_seen / granted: {(site, account): time}
    of seats seen after their site's first sync, and of access grants in the audit log. synced:
    the optional streams loaded. observations: the syncs as [(instant, truth)], oldest first, for
    the peak of each monthly cycle (None: the peak is not checked). Returns the sites, the total
    row, the reclaimable list, every holder's category and the bill's rows."""
    contracts = reference_rows("contracts", contracts)
    unseen_products = {r["product_type_key"] for r in reference_rows("unseen_products", unseen)}
    free = {}
    for r in reference_rows("free_plans", free_plans):
        free[r["product_type_key"]] = min(int(r["free_users"]), free.get(r["product_type_key"], 1 << 30))
    newest = max(ts(p["lastActiveTimestamp"]) for u in truth["users"] for p in u.get("productAccess") or [] if p.get("lastActiveTimestamp"))
    as_of = newest if as_of is None else ts(as_of)
    recent, cutoff = as_of - timedelta(days=active_days), as_of - timedelta(days=inactive_days)
    seat_first_seen, granted = seat_first_seen or {}, granted or {}
    services = service_account_ids(truth, synced)
    tokens = token_use(truth, synced)
    verified = {d["name"].lower() for d in truth.get("domains") or [] if d.get("status") == "verified"} if "domains" in synced else None
    sites, reclaim, categories, bill = {}, {}, {}, {}
    # Where a seat is removed: the holder's groups that grant a billable role on the site.
    grants = {g["id"]: {a["workspace_id"] for a in g["role_assignments"] if a["role"] in BILLABLE} for g in truth["groups"]}
    names = {g["id"]: g["name"] for g in truth["groups"]}

    def remove_from(u, site):
        via = sorted(names[g["id"]] for g in u.get("groups") or [] if site in grants.get(g["id"], ()))
        return ", ".join(via) if via else "direct"

    def external(u):
        email = (u.get("email") or "").lower()
        if verified is None:
            return None
        if u["accountId"] in services or email.endswith(SERVICE_EMAIL):
            return False
        return None if "@" not in email else email.split("@", 1)[1] not in verified

    for w in report_workspaces(truth):
        a = w["attributes"]
        product = a.get("typeKey")
        holders = {}
        for account, (roles, u) in holders_of(truth, w).items():
            seen = [ts(p["lastActiveTimestamp"]) for p in u.get("productAccess") or [] if p.get("id") == w["id"] and p.get("lastActiveTimestamp")]
            last = max(seen) if seen else None
            dates = [d for d in (ts(u.get("addedToOrg")), seat_first_seen.get((w["id"], account)), granted.get((w["id"], account)))
                     if d is not None]
            since = max(dates) if dates else None
            api = tokens.get(account)
            if account in services:
                category = "service_account"
            elif not billed(u):
                category = "not_billed"
            elif last is not None and last >= cutoff:
                category = "active"
            elif api is not None and api >= cutoff:
                category = "active_via_api"
            elif since is not None and since >= cutoff:
                category = "new"
            elif product in unseen_products:
                category = "unseen"
            else:
                category = "reclaimable"
            holders[account] = (last, roles, u, since, category)
            categories[(w["id"], account)] = {"category": category, "external": external(u), "api_last_active": api,
                                              "billed": category not in ("service_account", "not_billed")}
        count = lambda c: sum(1 for h in holders.values() if h[4] == c)  # noqa: E731
        capacity = a.get("capacity")
        plan = w["relationships"]["entitlement"][0]["attributes"].get("plan")
        paid = is_paid(plan)
        terms = billing_terms(contracts, product, a.get("hostUrl"), billing_cycle, as_of.date())
        assigned = len(holders)
        n_billed = sum(1 for k in holders if categories[(w["id"], k)]["billed"])
        n_recent = sum(1 for la, _, _, _, c in holders.values() if c == "active" and la >= recent)
        to_reclaim = count("reclaimable") + (count("unseen") if unseen_in_savings else 0)
        kept = count("active") + count("active_via_api") + count("new") + (0 if unseen_in_savings else count("unseen"))
        needed = -(-kept * (100 + headroom_pct) // 100) if paid else None
        product_tiers = sorted(int(t["tier_users"]) for t in tiers if t["product_type_key"] == product)
        fitting = [t for t in product_tiers if needed is not None and t >= needed]
        right = min(fitting) if fitting else None
        lower = max([t for t in product_tiers if capacity is not None and t < capacity], default=None) if paid else None
        price, currency = price_of(prices, product, plan, terms["billing_cycle"]) if paid else (None, None)
        times = lambda n: None if price is None or n is None else n * price  # noqa: E731
        saving = None if capacity is None or right is None else capacity - right
        externals = None if verified is None else sum(1 for k in holders if categories[(w["id"], k)]["billed"]
                                                       and categories[(w["id"], k)]["external"])
        role_counts = {role: sum(1 for roles, _ in holders_of(truth, w).values() if role in roles) for role in sorted(BILLABLE)}
        counted = "seat_counts" in synced
        sites[w["id"]] = {
            "product": product, "site_name": a.get("name"), "site_url": a.get("hostUrl"), "plan": plan,
            "paid_site": paid, "capacity": capacity, "seats_paid": capacity if paid else None, "seats_assigned": assigned,
            "seats_billed": n_billed, "not_billed": count("not_billed"), "service_accounts": count("service_account"),
            "active_30d": n_recent, "active_90d": count("active"), "active_via_api": count("active_via_api"),
            "new_not_active": count("new"), "unseen": count("unseen"), "reclaimable": count("reclaimable"),
            "never_active": sum(1 for h in holders.values() if h[4] == "reclaimable" and h[0] is None),
            "external_holders": externals,
            "utilization": None if not capacity else round(n_billed / capacity, 3),
            "seats_unassigned": None if capacity is None else capacity - n_billed,
            "seats_needed": needed, "right_tier": right, "tier_saving_seats": saving,
            "price_per_seat_month": price, "currency": currency,
            "cost_paid_month": times(capacity), "cost_billed_month": times(n_billed),
            "cost_reclaimable_month": times(to_reclaim), "tier_saving_month": times(saving),
            "pricing": "not paid" if not paid else "no price" if price is None else "priced",
            "atlassian_seat_count": sum(role_counts.values()) if counted else None,
            "report_seat_count": sum(role_counts.values()) if counted else None,
            "counts_agree": True if counted else None,
            "row_type": "site", "as_of": as_of,
        }
        listed = {k for k, h in holders.items() if h[4] == "reclaimable" or (unseen_in_savings and h[4] == "unseen")}
        for account in listed:
            la, roles, u, since, category = holders[account]
            reclaim[(w["id"], account)] = {
                "product": product, "site_url": a.get("hostUrl"), "name": u.get("name"), "email": u.get("email"),
                "user_status": u.get("status"), "roles": ",".join(roles), "category": category, "last_active_on_site": la,
                "days_since_active": None if la is None else (as_of.date() - la.date()).days,
                "seat_since": since, "paid_site": paid, "cost_month": price, "currency": currency,
                "remove_from": remove_from(u, w["id"]), "external": external(u),
                "saves_from": terms["saves_from"] if paid else None,
            }
        if not paid:
            continue
        monthly, annual = terms["billing_cycle"] == "monthly", terms["billing_cycle"] == "annual"
        peak = None
        if monthly and terms["cycle_start"] and observations is not None:
            peak = peak_of(observations, w["id"], terms["cycle_start"], terms["next_cycle_start"], services)
        bill[w["id"]] = {
            "product": product, "site_url": a.get("hostUrl"), "plan": plan, "billing_cycle": terms["billing_cycle"],
            "contract_match": terms["contract_match"], "cycle_start": terms["cycle_start"], "saves_from": terms["saves_from"],
            "renewal_date": terms["renewal_date"] if annual else None, "seats_paid": capacity, "seats_billed": n_billed,
            **({"peak_billed_this_cycle": peak} if observations is not None else {}),
            "seats_to_reclaim": to_reclaim, "billed_after_reclaim": n_billed - to_reclaim,
            "tier_at_renewal": right if annual else None, "lower_tier": lower if annual else None,
            "seats_to_free_for_lower_tier": max(n_billed - lower, 0) if annual and lower is not None else None,
            "seats_needed": needed, "free_plan_users": free.get(product),
            "could_be_free": None if product not in free else needed <= free[product],
            "external_users": externals, "price_per_seat_month": price, "currency": currency,
            "managed_users": None,
            "bill_after_month": times(n_billed - to_reclaim) if monthly else times(right) if annual else None,
            "saving_month": times(to_reclaim) if monthly else times(saving) if annual else None,
            "row_type": "site",
        }
        if annual:
            bill[w["id"]]["bill_month"] = times(capacity)
        elif monthly and observations is not None:
            bill[w["id"]]["bill_month"] = times(peak)
    # Atlassian Guard: each unique billed user with product access once (not on an Enterprise plan).
    guard_users: dict = {}
    for w in report_workspaces(truth):
        plan = (w["relationships"]["entitlement"][0]["attributes"].get("plan") or "").lower()
        for account in holders_of(truth, w):
            c = categories[(w["id"], account)]
            if c["billed"] and plan != "enterprise":
                guard_users.setdefault(account, set()).add(c["external"])
    terms = billing_terms(contracts, "guard", None, billing_cycle, as_of.date())
    g_price, g_currency = price_of([dict(p, plan="") for p in prices], "guard", "", terms["billing_cycle"])
    bill["guard"] = {
        "product": "guard", "site_url": None, "billing_cycle": terms["billing_cycle"], "contract_match": terms["contract_match"],
        "saves_from": terms["saves_from"], "seats_billed": len(guard_users),
        "external_users": None if verified is None else sum(1 for e in guard_users.values() if True in e),
        "managed_users": None if verified is None else sum(1 for e in guard_users.values() if True not in e and False in e),
        "price_per_seat_month": g_price, "currency": g_currency,
        "bill_month": None if g_price is None else len(guard_users) * g_price, "row_type": "guard",
    }
    paid_sites = [s for s in sites.values() if s["paid_site"]]
    priced = [s for s in paid_sites if s["price_per_seat_month"] is not None]
    currencies = {s["currency"] for s in priced}

    def total(key, rows=paid_sites):
        values = [s[key] for s in rows if s[key] is not None]
        return sum(values) if values else None

    one_currency = len(currencies) == 1
    counted = [s for s in paid_sites if s["counts_agree"] is not None]
    total_row = {
        "site_name": "Total (paid sites)", "paid_site": True, "row_type": "total", "workspace_id": None,
        **{k: total(k) for k in ("capacity", "seats_paid", "seats_assigned", "seats_billed", "not_billed", "service_accounts",
                                 "active_30d", "active_90d", "active_via_api", "new_not_active", "unseen", "reclaimable",
                                 "never_active", "external_holders", "seats_unassigned", "seats_needed", "right_tier",
                                 "tier_saving_seats", "atlassian_seat_count", "report_seat_count")},
        "utilization": round(total("seats_billed", [s for s in paid_sites if s["seats_paid"] is not None]) / total("seats_paid"), 3),
        "currency": next(iter(currencies)) if one_currency else None,
        **{k: (total(k, priced) if one_currency else None)
           for k in ("cost_paid_month", "cost_billed_month", "cost_reclaimable_month", "tier_saving_month")},
        "pricing": "mixed currencies" if len(currencies) > 1 else "no price" if not priced
                   else "partly priced" if len(priced) < len(paid_sites) else "priced",
        "counts_agree": None if not counted else all(s["counts_agree"] for s in counted),
        "as_of": as_of,
    }
    return sites, total_row, reclaim, categories, bill


# ---------------------------------------------------------------------------------------------
# the checks

def same(got, want, where):
    if isinstance(want, float) and got is not None:
        assert got == pytest.approx(want, abs=0.0051), f"{where}: report {got!r}, truth {want!r}"
    else:
        assert got == want, f"{where}: report {got!r}, truth {want!r}"


REPORT_PARAMS = ("active_days", "inactive_days", "headroom_pct", "billing_cycle", "trend_days", "as_of", "unseen_in_savings")


def check_report(db, truth, prices=None, tiers=None, seat_first_seen=None, granted=None, **params) -> tuple[list[dict], dict, dict]:
    """Every figure of every site, the total row, every reclaimable seat, every holder's category
    and the bill. params: the report's parameters (as_of a datetime) and expected()'s other
    arguments (synced, contracts, unseen, free_plans, observations)."""
    prices = csv_rows(PRICES_CSV) if prices is None else prices
    tiers = csv_rows(TIERS_CSV) if tiers is None else tiers
    report = {k: v for k, v in params.items() if k in REPORT_PARAMS}
    if isinstance(report.get("as_of"), datetime):
        report["as_of"] = f"CAST('{report['as_of'].isoformat(sep=' ')}' AS TIMESTAMP)"
    if "unseen_in_savings" in report:
        report["unseen_in_savings"] = "TRUE" if report["unseen_in_savings"] else "FALSE"
    want_sites, want_total, want_reclaim, want_holders, want_bill = expected(
        truth, prices, tiers, seat_first_seen=seat_first_seen, granted=granted, **params)
    rows = db.report("license_utilization.sql", **report)
    got = {r["workspace_id"]: r for r in rows if r["row_type"] == "site"}
    assert set(got) == set(want_sites), "the report's sites are the sites license_assignments reads"
    assert [r["row_type"] for r in rows].count("total") == 1 and rows[-1]["row_type"] == "total", "one total row, last"
    for ws, want in want_sites.items():
        row = got[ws]
        for key, value in want.items():
            same(row[key], value, f"{ws} {key}")
        assert row["active_30d"] <= row["active_90d"]
        assert row["active_90d"] + row["active_via_api"] + row["new_not_active"] + row["unseen"] + row["reclaimable"] \
            + row["not_billed"] + row["service_accounts"] == row["seats_assigned"], f"{ws}: each holder in one category"
    for key, value in want_total.items():
        same(rows[-1][key], value, f"total {key}")

    rows = db.report("reclaimable_seats.sql", **report)
    got = {(r["workspace_id"], r["account_id"]): r for r in rows}
    assert len(got) == len(rows), "one row per user and site"
    assert set(got) == set(want_reclaim)
    for key, want in want_reclaim.items():
        for k, v in want.items():
            same(got[key][k], v, f"{key} {k}")

    rows = db.report("seat_holders.sql", **report)
    got = {(r["workspace_id"], r["account_id"]): r for r in rows}
    assert len(got) == len(rows) and set(got) == set(want_holders), "one row per holder and site"
    for key, want in want_holders.items():
        for k, v in want.items():
            same(got[key][k], v, f"{key} {k}")
        assert got[key]["reclaimable"] == (want["category"] == "reclaimable")
        assert got[key]["new_not_active"] == (want["category"] == "new")

    rows = db.report("bill.sql", **report)
    got = {r["workspace_id"] if r["row_type"] == "site" else "guard": r for r in rows}
    assert len(got) == len(rows) and set(got) == set(want_bill), "a row per paid site, and the Guard row"
    assert rows[-1]["row_type"] == "guard"
    for key, want in want_bill.items():
        for k, v in want.items():
            same(got[key][k], v, f"bill {key} {k}")
    return list(want_sites.values()), want_total, want_bill


def sync_instant(records: dict):
    """When a full-refresh read observed the seats (its license_assignments rows' first observed_at)."""
    return min(ts(r["observed_at"]) for r in records["license_assignments"])


def test_report_equals_the_sandbox_truth(db, synced):
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    load_reference(db)
    seen = [(sync_instant(records), truth)]
    sites, total, bill = check_report(db, truth, observations=seen)
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
    check_categories(db, truth)
    # Every category is there to be told apart, and each paid site's bill has its terms.
    assert {r["category"] for r in db.report("seat_holders.sql")} == set(CATEGORIES)
    assert total["external_holders"] > 0 and total["counts_agree"] is True
    assert {b["billing_cycle"] for b in bill.values()} >= {"monthly", "annual"} and bill["guard"]["bill_month"] > 0


def check_categories(db, truth: dict, unseen_in_savings=False) -> None:
    """The holders the truth knows are not idle are never listed: integration users (tokens used,
    no product activity), service accounts, git-only Bitbucket developers (unless unseen seats
    are asked for: then they are listed as unseen, never as reclaimable)."""
    holders = {(h["workspace_id"], h["account_id"]): h for h in db.report("seat_holders.sql", unseen_in_savings=unseen_in_savings)}
    listed = {(r["workspace_id"], r["account_id"]): r for r in db.report("reclaimable_seats.sql", unseen_in_savings=unseen_in_savings)}
    integration = {t["owner"]["account_id"] for t in truth["api_tokens"] if t["owner"].get("integration_user")}
    services = {a["account_id"] for a in truth["service_accounts"]}
    git_only = {(g["workspace_id"], g["account_id"]) for g in truth["git_only"]}
    assert integration and services and git_only
    seated_integration = [k for k in holders if k[1] in integration]
    assert seated_integration, "integration users hold seats"
    for k in seated_integration:
        assert holders[k]["category"] in ("active_via_api", "active"), (k, holders[k]["category"])
        assert k not in listed, f"integration user {k} listed"
    seated_services = [k for k in holders if k[1] in services]
    assert seated_services, "service accounts hold seats"
    for k in seated_services:
        assert holders[k]["category"] == "service_account" and not holders[k]["billed"] and k not in listed, k
    assert git_only <= set(holders)
    for k in git_only:
        assert holders[k]["category"] in ("unseen", "new", "active_via_api"), (k, holders[k]["category"])
        assert listed.get(k, {}).get("category", "unseen") == "unseen", f"git-only developer {k} listed as reclaimable"
        assert (k in listed) == (unseen_in_savings and holders[k]["category"] == "unseen")
    assert any(holders[k]["category"] == "unseen" for k in git_only)
    # Priced as a saving: the reclaimable seats, and the unseen ones only when asked for.
    assert {r["category"] for r in listed.values()} == ({"reclaimable", "unseen"} if unseen_in_savings else {"reclaimable"})


def test_unseen_seats_are_a_saving_only_when_asked_for(db, synced):
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    load_reference(db)
    _, without, _ = check_report(db, truth)
    _, with_unseen, bill = check_report(db, truth, unseen_in_savings=True)
    check_categories(db, truth, unseen_in_savings=True)
    assert with_unseen["unseen"] == without["unseen"] > 0
    assert with_unseen["cost_reclaimable_month"] > without["cost_reclaimable_month"]
    assert with_unseen["seats_needed"] < without["seats_needed"]


def test_each_stream_not_synced_falls_back(db, synced):
    """Without domains, external is unknown (null), not guessed; without api_tokens, integration
    users fall back to the product activity alone (as before them); without service_accounts,
    service accounts are told by their email; without seat_counts, nothing is reconciled."""
    schemas, records, truth = synced
    load_reference(db)
    for stream in SOMETIMES:
        for table in STREAMS + OPTIONAL:
            db.execute(f'DROP TABLE IF EXISTS "{table}"')
        load_streams(db, schemas, {**records, stream: []})
        synced_now = ALL_SYNCED - {stream}
        _, total, bill = check_report(db, truth, synced=synced_now)
        holders = db.report("seat_holders.sql")
        if stream == "domains":
            assert total["external_holders"] is None and all(h["external"] is None for h in holders)
            assert bill["guard"]["external_users"] is None
        if stream == "api_tokens":
            assert total["active_via_api"] == 0 and all(h["api_last_active"] is None for h in holders)
        if stream == "service_accounts":
            assert total["service_accounts"] > 0, "told by the email"
        if stream == "seat_counts":
            assert total["counts_agree"] is None and total["atlassian_seat_count"] is None


def test_a_missed_page_of_seats_disagrees_with_atlassians_count(db, synced, missed_page):
    """A page of one site's search lost (the sandbox's drop-items fault): that site's seat counts
    no longer agree with Atlassian's, by the holders lost; the other sites' still do."""
    schemas, records, truth = synced
    load_streams(db, schemas, missed_page)
    load_reference(db)
    lost = {(r["workspace_id"], r["account_id"], r["role"]) for r in records["license_assignments"]} - \
        {(r["workspace_id"], r["account_id"], r["role"]) for r in missed_page["license_assignments"]}
    sites = {ws for ws, _, _ in lost}
    assert len(sites) == 1 and lost
    rows = {r["workspace_id"]: r for r in db.report("license_utilization.sql") if r["row_type"] == "site"}
    ws = sites.pop()
    assert rows[ws]["counts_agree"] is False
    assert rows[ws]["atlassian_seat_count"] - rows[ws]["report_seat_count"] == len(lost)
    assert all(r["counts_agree"] is True for w, r in rows.items() if w != ws)
    assert [r for r in db.report("license_utilization.sql") if r["row_type"] == "total"][0]["counts_agree"] is False


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
    _, total, _ = check_report(db, truth, prices=[])
    assert total["pricing"] == "no price" and total["cost_paid_month"] is None
    rows = db.report("license_utilization.sql")
    assert {r["pricing"] for r in rows if r["row_type"] == "site"} == {"no price", "not paid"}


def test_partial_and_mixed_currency_prices(db, synced):
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    shipped = csv_rows(PRICES_CSV)
    partial = [p for p in shipped if p["product_type_key"] in ("jira-software", "confluence")]
    load_reference(db, prices=partial)
    _, total, _ = check_report(db, truth, prices=partial)
    assert total["pricing"] == "partly priced" and total["cost_paid_month"] > 0
    mixed = [dict(p, currency="EUR") if p["product_type_key"] == "confluence" else p for p in partial]
    load_reference(db, prices=mixed)
    _, total, _ = check_report(db, truth, prices=mixed)
    assert total["pricing"] == "mixed currencies" and total["cost_paid_month"] is None
    # The billing_cycle var picks the prices of the sites no contract row names.
    monthly = [p for p in shipped if p["billing_cycle"] == "monthly"]
    annual = [dict(p, billing_cycle="annual", price_per_seat_month="1.25") for p in monthly]
    load_reference(db, prices=monthly + annual, contracts=[])
    _, total, _ = check_report(db, truth, prices=monthly + annual, billing_cycle="annual", contracts=[])
    assert total["pricing"] == "priced" and total["cost_paid_month"] == pytest.approx(1.25 * total["seats_paid"])
    # A contract row's cycle picks its sites' prices: the Confluence site bills annually.
    contracts = [{"product_type_key": "confluence", "billing_cycle": "annual", "renewal_date": "2027-02-01"}]
    load_reference(db, prices=monthly + annual, contracts=contracts)
    sites, total, _ = check_report(db, truth, prices=monthly + annual, contracts=contracts)
    assert {s["product"]: s["price_per_seat_month"] for s in sites if s["paid_site"]}["confluence"] == 1.25


def test_the_contract_says_when_a_saving_starts(db, synced):
    """Monthly: the next cycle's first day (a start day the month lacks is its last); annual: the
    renewal rolled forward to the first after as_of; a row naming the site wins over the
    product's; a product no row names has no dates (unknown), its cycle the billing_cycle var's."""
    schemas, records, truth = synced
    load_streams(db, schemas, records)
    jira = next(w for w in report_workspaces(truth) if w["attributes"]["typeKey"] == "jira-software")
    contracts = [
        {"product_type_key": "jira-software", "billing_cycle": "monthly", "cycle_start_day": "15"},
        {"product_type_key": "jira-software", "site_url": jira["attributes"]["hostUrl"] + "/", "billing_cycle": "monthly",
         "cycle_start_day": "31"},
        {"product_type_key": "confluence", "billing_cycle": "annual", "renewal_date": "2024-02-29"},
        {"product_type_key": "opsgenie", "billing_cycle": "annual", "renewal_date": "2026-10-31"},
    ]
    load_reference(db, contracts=contracts)
    _, _, bill = check_report(db, truth, contracts=contracts, observations=[(sync_instant(records), truth)])
    by_product = {b["product"]: b for b in bill.values()}
    assert by_product["jira-software"]["contract_match"] == "site"
    assert (by_product["jira-software"]["cycle_start"], by_product["jira-software"]["saves_from"]) == (date(2026, 10, 31), date(2026, 11, 30))
    assert by_product["confluence"]["renewal_date"] == date(2027, 2, 28)
    assert by_product["opsgenie"]["renewal_date"] == date(2026, 10, 31)
    assert by_product["bitbucket"]["contract_match"] is None and by_product["bitbucket"]["saves_from"] is None
    rows = db.report("reclaimable_seats.sql")
    assert {r["saves_from"] for r in rows if r["product"] == "jira-software"} == {date(2026, 11, 30)}





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
