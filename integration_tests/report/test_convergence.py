"""Every sync mode gives the same report: after each kind of change to the organization, the
licence report over incremental syncs — their records appended, or appended then deduplicated
as a destination does — returns exactly the rows it returns over one full refresh, on DuckDB
and PostgreSQL.

One sandbox org, changed between syncs through its named mutation routes
(POST /__sandbox/mutations/{name}: users added with old activity, a site linked whose users
have months of activity, activity reported late, access revoked, users removed and suspended,
new activity, a site renamed, groups changed, API tokens used, created and revoked, a domain
verified, service accounts added and removed). Every stream but workspaces is read
incrementally (change detection, deletion records), workspaces in full. Only this cycle's peak
(the bill) may differ over the appended tables: it is what a history tells.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime

import pytest

from conftest import OPTIONAL, STREAMS, discover_schemas, load_reference, load_streams, read, sandbox_org, write_config

INCREMENTAL = ("users", "user_activity", "license_assignments", "groups", "domains", "api_tokens", "service_accounts", "seat_counts")
KEYS = {"users": ("account_id",), "user_activity": ("account_id", "product_id"),
        "license_assignments": ("workspace_id", "account_id", "role"), "groups": ("id",), "domains": ("id",),
        "api_tokens": ("id",), "service_accounts": ("id",), "seat_counts": ("workspace_id", "role")}
CHANGES = [
    ("add_users", {"count": 6, "last_active_days_ago": 90}),
    ("link_site", {"product": "confluence", "users": 12, "last_active_days_ago": 60}),
    ("late_activity", {"count": 8, "days_ago": 5}),
    ("revoke_access", {"count": 4}),
    ("remove_users", {"count": 3}),
    ("suspend_users", {"count": 3}),
    ("new_activity", {"count": 10}),
    ("rename_site", {"name": "Renamed Site"}),
    ("add_group", {"members": 7}),
    ("grant_group_role", {}),
    ("join_group", {"count": 6}),
    ("leave_group", {"count": 4}),
    ("revoke_group_role", {}),
    ("rename_group", {}),
    ("remove_group", {}),
    # The report's other streams, changed together (one sync): tokens, domains, service accounts.
    ("use_api_token", {}, "revoke_api_token", {}, "verify_domain", {}, "add_service_account", {}, "remove_service_account", {}),
]
# (seat_holders.sql's categories are counted in license_utilization.sql and listed in
# reclaimable_seats.sql; test_report.py checks every holder's against the truth.)
REPORTS = ("license_utilization.sql", "reclaimable_seats.sql", "bill.sql")
# What only an appended history can tell: this cycle's peak (a deduplicated table and a full
# refresh keep today's seats alone).
HISTORY_ONLY = {"bill.sql": ("peak_billed_this_cycle", "peak_since", "bill_month")}


def mutate(base_url: str, name: str, fields: dict) -> dict:
    req = urllib.request.Request(f"{base_url}/__sandbox/mutations/{name}", data=json.dumps(fields).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def deduplicated(rows: list[dict], stream: str) -> list[dict]:
    """The latest row per primary key by observed_at (later emission wins a tie), deleted rows
    dropped: what a destination's append + dedup table holds."""
    latest: dict[tuple, tuple[datetime, dict]] = {}
    for r in rows:
        k = tuple(r[c] for c in KEYS[stream])
        # Compared as instants: the text drops a whole second's fraction ("...:01Z" > "...:01.2Z").
        at = datetime.fromisoformat(r["observed_at"].replace("Z", "+00:00"))
        if k not in latest or latest[k][0] <= at:
            latest[k] = (at, r)
    return [r for _, r in latest.values() if not r.get("_ab_cdc_deleted_at")]


def report_rows(db, schemas: dict, tables: dict) -> dict[str, list[dict]]:
    for s in STREAMS + OPTIONAL:
        db.execute(f'DROP TABLE IF EXISTS "{s}"')
    load_streams(db, schemas, tables)
    load_reference(db)
    return {name: sorted(db.report(name), key=repr) for name in REPORTS}


@pytest.fixture(scope="module")
def syncs(tmp_path_factory):
    """For the first sync and after each change: (what, appended, full refresh) tables."""
    d = tmp_path_factory.mktemp("convergence")
    modes = {s: "incremental" for s in INCREMENTAL} | {"workspaces": "full_refresh"}
    appended: dict[str, list[dict]] = {s: [] for s in INCREMENTAL}
    steps, state = [], []
    with sandbox_org(300) as sandbox:
        config = write_config(d, sandbox)
        schemas = discover_schemas(config)
        for change in [("the first sync", None)] + CHANGES:
            what = " + ".join(change[::2])
            for name, fields in zip(change[::2], change[1::2]):
                if fields is not None:
                    mutate(sandbox["base_url"], name, fields)
            records, state = read(d, config, modes, state)
            for s in INCREMENTAL:
                appended[s] += records[s]
            full, _ = read(d, config, {s: "full_refresh" for s in STREAMS})
            steps.append((what, {s: list(appended[s]) for s in INCREMENTAL} | {"workspaces": records["workspaces"]}, full))
    return schemas, steps


def test_deduplicated_incremental_tables_equal_a_full_refresh(syncs):
    _, steps = syncs
    for what, appended, full in steps:
        for s in INCREMENTAL:
            strip = lambda rows: sorted(json.dumps({k: v for k, v in r.items() if k != "observed_at"}, sort_keys=True) for r in rows)  # noqa: E731
            assert strip(deduplicated(appended[s], s)) == strip(full[s]), f"after {what}: {s}"


def test_the_report_is_the_same_over_every_sync_mode(db, syncs):
    schemas, steps = syncs
    for what, appended, full in steps:
        want = report_rows(db, schemas, full)
        assert want["license_utilization.sql"], what
        dedup = {s: deduplicated(rows, s) if s in INCREMENTAL else rows for s, rows in appended.items()}
        for mode, tables in (("appended", appended), ("deduplicated", dedup)):
            got = report_rows(db, schemas, tables)
            for name in REPORTS:
                drop = HISTORY_ONLY.get(name, ()) if mode == "appended" else ()
                strip = lambda rows: sorted(({k: v for k, v in r.items() if k not in drop} for r in rows), key=repr)  # noqa: E731
                assert strip(got[name]) == strip(want[name]), f"{db.kind}, after {what}: {name} over the {mode} incremental tables"
