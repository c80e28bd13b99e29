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

from datetime import date, timedelta

from conftest import BILLABLE, SYNCS, load_reference, load_streams, ts


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
