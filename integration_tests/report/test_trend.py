"""The trend (reports/license_trend.sql) over a history of incremental syncs, against the truth.

Four reads with state, each against the sandbox org restarted with another number of users
(same seed, so the same org, sites and account ids: users are added, removed and added back,
and their seats with them): users and license_assignments incremental (change detection,
deletion records, for user_activity per (user, site) pair), all appended; workspaces full refresh,
overwritten — the Airbyte connection the docs recommend for the trend.

The four reads run within seconds, so each read's observed_at (and _ab_cdc_deleted_at) is set to
a day of its own (2026-11-01, -04, -08, -13, noon UTC) before loading: the only change made to
the records. The expected series is computed from the four /__sandbox/truth answers alone.
(The sandbox's named mutation routes, POST /__sandbox/mutations/{name}, which
test_convergence.py uses, could make the changes on one running sandbox instead of restarts.)
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from conftest import BILLABLE, SYNCS, load_reference, load_streams, ts
from test_report import billing_terms, peak_of, service_account_ids, report_workspaces


def report_sites(truth: dict) -> list[str]:
    return [w["id"] for w in truth["workspaces"]
            if (w["attributes"].get("sandbox") or {}).get("type") != "CHILD" and w["attributes"].get("status") != "offline"]


def expected_trend(truths: list[dict], active_days: int = 30, trend_days: int = 30, syncs=SYNCS) -> dict:
    """{(workspace_id, day): (seats_assigned, seats_active)} from the truths alone (syncs: the
    (users, day) of each, as conftest.SYNCS)."""
    SYNCS = syncs  # noqa: N806
    holders = [{ws: {u["accountId"] for u in t["users"] for r in u.get("siteRoles") or []
                     if r["resourceId"] == ws and r["roleId"] in BILLABLE} for ws in report_sites(t)} for t in truths]
    seen: dict[tuple[str, str], set[date]] = {}
    for t in truths:
        for u in t["users"]:
            for p in u.get("productAccess") or []:
                if p.get("lastActiveTimestamp"):
                    seen.setdefault((p["id"], u["accountId"]), set()).add(ts(p["lastActiveTimestamp"]).date())
    as_of = max(max(days) for days in seen.values())
    last = max(SYNCS[-1][1], as_of)
    first = max(SYNCS[0][1], last - timedelta(days=trend_days - 1))
    want = {}
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        k = max(i for i, (_, d) in enumerate(SYNCS) if d <= day)
        for ws, accounts in holders[k].items():
            active = sum(1 for a in accounts if any(day - timedelta(days=active_days) < t <= day for t in seen.get((ws, a), ())))
            want[(ws, day)] = (len(accounts), active)
    return want


def check_trend(db, truths, **params):
    want = expected_trend(truths, **{k: v for k, v in params.items() if k in ("active_days", "trend_days")})
    rows = db.report("license_trend.sql", **params)
    got = {(r["workspace_id"], r["day"] if isinstance(r["day"], date) else date.fromisoformat(str(r["day"]))):
           (r["seats_assigned"], r["seats_active"]) for r in rows}
    assert len(got) == len(rows), "one row per site and day"
    assert set(got) == set(want)
    for key in sorted(want):
        assert got[key] == want[key], f"{key}: report (assigned, active) {got[key]}, truth {want[key]}"
    return rows


def test_trend_equals_the_truth_history(db, history):
    schemas, tables, truths = history
    load_streams(db, schemas, tables)
    load_reference(db)
    rows = check_trend(db, truths)
    days = sorted({r["day"] for r in rows})
    assert len(days) == (SYNCS[-1][1] - SYNCS[0][1]).days + 1
    jira = [r for r in rows if r["product"] == "jira-software"]
    assert len({r["seats_assigned"] for r in jira}) == len(SYNCS), "seats added, removed and added back"
    assert len({r["seats_active"] for r in jira}) > 3, "activity ages out of the 30-day window day by day"
    check_trend(db, truths, active_days=7, trend_days=5)

    # The other reports read the same appended tables as the latest state of the last sync.
    last = {ws: sum(1 for u in truths[-1]["users"] if any(r["resourceId"] == ws and r["roleId"] in BILLABLE
                                                           for r in u.get("siteRoles") or []))
            for ws in report_sites(truths[-1])}
    sites = {r["workspace_id"]: r for r in db.report("license_utilization.sql") if r["row_type"] == "site"}
    assert {ws: r["seats_assigned"] for ws, r in sites.items()} == last
    final = {r["workspace_id"]: r["seats_assigned"] for r in rows if r["day"] == days[-1]}
    assert final == last


def test_each_cycles_peak_is_read_from_the_history(db, history):
    """Monthly plans are billed on the highest number of billed users in the cycle: over the four
    appended syncs, each site's peak is the count when its cycle began (the last sync before) or
    at a sync within it — never one after the cycle's end, even when it is in the tables — and
    a seat removed now saves from the next cycle. as_of is the third sync's evening."""
    schemas, tables, truths = history
    as_of = datetime.combine(SYNCS[2][1], time(23, 0))
    days = {"jira-software": 10, "confluence": 5, "jira-servicedesk": 9, "bitbucket": 2, "opsgenie": 14}
    contracts = [{"product_type_key": p, "billing_cycle": "monthly", "cycle_start_day": str(d), "note": "test"} for p, d in days.items()]
    load_streams(db, schemas, tables)
    load_reference(db, contracts=contracts)
    rows = {r["workspace_id"]: r for r in db.report("bill.sql", as_of=f"CAST('{as_of.isoformat(sep=' ')}' AS TIMESTAMP)")
            if r["row_type"] == "site"}
    syncs = [(datetime.combine(day, time(12, 0)), truth) for (_, day), truth in zip(SYNCS, truths)]
    services = service_account_ids(truths[-1])
    checked = 0
    for w in report_workspaces(truths[-1]):
        if w["id"] not in rows:
            continue
        terms = billing_terms(contracts, w["attributes"]["typeKey"], w["attributes"]["hostUrl"], "monthly", as_of.date())
        row = rows[w["id"]]
        assert (row["cycle_start"], row["saves_from"]) == (terms["cycle_start"], terms["next_cycle_start"]), w["id"]
        want = peak_of(syncs, w["id"], terms["cycle_start"], terms["next_cycle_start"], services)
        assert row["peak_billed_this_cycle"] == want, (w["attributes"]["typeKey"], row["peak_billed_this_cycle"], want)
        checked += 1
    assert checked == len(days)
    # The Jira cycle (from the 10th) ended before the last sync: its peak is not today's count.
    jira = next(r for r in rows.values() if r["product"] == "jira-software")
    assert jira["peak_billed_this_cycle"] != jira["seats_billed"]
