"""The dbt package (dbt/) as its users run it, against the sandbox org's truth.

PyAirbyte reads every stream from the sandbox into its DuckDB cache and into PostgreSQL: the
tables Airbyte itself makes (_airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta; JSON
columns; timestamps with time zone). Then `dbt build` (seeds, models, every data test) runs the
package from the virtualenv .ci/run makes, .venv-dbt/ (dbt-core 1.11 with dbt-duckdb and
dbt-postgres), and the marts' figures are compared with figures computed from
GET /__sandbox/truth alone (test_report.expected, test_trend.expected_trend):

- one sync, PyAirbyte's default (merge: append + dedup), with new hires who have not logged in
  (10 and 120 days ago) and the org's suspended and deactivated holders: every figure of every
  site, the total and the reclaimable list; with and without the audit log;
- four appended incremental syncs with changes between them (hires, suspensions, users added
  and removed, access revoked, groups): the figures as of the last, seats first seen in a later
  sync counted as new, and the trend day by day. The syncs run within seconds, so each one's
  observed_at is set to a day of its own before dbt runs (as test_trend.py does).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import CONNECTOR, ROOT, Db, sandbox_org, ts
from test_report import CATEGORIES, check_report
from test_trend import expected_trend

WORK = Path(tempfile.mkdtemp(prefix="dbt-test-"))
os.environ.update({
    "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1",
    "AIRBYTE_PROJECT_DIR": str(WORK / "project"), "AIRBYTE_INSTALL_DIR": str(WORK / "install"),
    "AIRBYTE_CACHE_ROOT": str(WORK / "cache"), "AIRBYTE_LOGGING_ROOT": str(WORK / "logs"),
    "AIRBYTE_TEMP_DIR": str(WORK / "tmp"),
})
(WORK / "tmp").mkdir(parents=True, exist_ok=True)
ab = pytest.importorskip("airbyte", reason="PyAirbyte is not installed (bash .ci/run sets up .venv-ci)")

DBT = Path(os.environ.get("DBT_BIN") or ROOT / ".venv-dbt" / "bin" / "dbt")
PROJECT = ROOT / "dbt"
SCHEMA = "analytics"
USERS = 600
INCREMENTAL = ("users", "user_activity", "license_assignments", "groups", "domains", "api_tokens", "service_accounts", "seat_counts")


# Removed when the process ends, not with this module: other modules (test_loading_paths) import
# PyAirbyte through it, and PyAirbyte keeps these directories for the whole process.
atexit.register(shutil.rmtree, WORK, ignore_errors=True)


def need_dbt() -> None:
    if not DBT.exists():
        pytest.fail(f"{DBT} is missing: bash .ci/run creates .venv-dbt (dbt-core, dbt-duckdb, dbt-postgres; "
                    "dbt/requirements.txt), or set DBT_BIN")


def post(base_url: str, path: str, body: dict | None = None):
    req = urllib.request.Request(base_url + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def truth_of(sandbox) -> dict:
    return post(sandbox["base_url"], "/__sandbox/truth")


def grants(truth: dict) -> dict:
    """{(site, account): time} of the latest product_access_granted event of each pair, of the
    events Atlassian serves: processed in the last 180 days (the truth has the whole log)."""
    out: dict = {}
    retained = ts(truth["now"]) - timedelta(days=180)
    for e in truth["events"]:
        a = e["attributes"]
        if a.get("action") != "product_access_granted" or ts(a.get("processedAt") or a["time"]) < retained:
            continue
        ctx = a.get("context") or []
        for u in (c["id"] for c in ctx if c["type"] == "users"):
            for s in (c["id"] for c in ctx if c["type"] == "sites"):
                out[(s, u)] = max(out.get((s, u)) or ts(a["time"]), ts(a["time"]))
    return out


# ---------------------------------------------------------------------------------------------
# PyAirbyte and dbt

def source_for(sandbox):
    config = {"api_key": sandbox["api_key"], "org_id": sandbox["org_id"], "base_url": sandbox["base_url"]}
    return ab.get_source("source-atlassian-admin", local_executable=str(CONNECTOR), config=config, streams="*")


def sync(source, cache, strategy: str) -> None:
    source.read(cache=cache, write_strategy=strategy, force_full_refresh=False)


def release(cache) -> None:
    """Close PyAirbyte's connections (DuckDB allows one writing process per file)."""
    cache.get_sql_engine().dispose()


def profile(d: Path, kind: str, where) -> Path:
    if kind == "duckdb":
        out = {"type": "duckdb", "path": str(where), "schema": SCHEMA, "threads": 2}
    else:
        out = {"type": "postgres", "host": "127.0.0.1", "port": where, "user": "postgres", "password": "unused",
               "dbname": "postgres", "schema": SCHEMA, "threads": 2}
    (d / "profiles.yml").write_text(json.dumps({"atlassian_admin": {"target": kind, "outputs": {kind: out}}}))
    return d


def dbt(d: Path, *args: str, **vars_) -> str:
    need_dbt()
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    done = subprocess.run([str(DBT), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(d),
                           "--target-path", str(d / "target"), "--log-path", str(d / "logs"),
                           "--vars", json.dumps(vars_)], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        lines = done.stdout.splitlines()
        bad = [i for i, line in enumerate(lines) if any(w in line for w in ("ERROR", "FAIL ", "Failure in", "Error in", "rror:"))]
        shown = "\n".join(lines[i] for i in sorted({j for i in bad for j in range(i, min(i + 6, len(lines)))}))
        pytest.fail(f"dbt {' '.join(args)} failed:\n{shown[-8000:] or done.stdout[-6000:]}\n{done.stderr[-2000:]}")
    return done.stdout


class Marts:
    """check_report's database, over the tables dbt built (`report(name)` = the mart's rows)."""

    ORDER = {"license_utilization": "CASE WHEN workspace_id IS NULL THEN 1 ELSE 0 END, product, site_url, workspace_id",
             "reclaimable_seats": "product, site_url, account_id", "license_trend": "workspace_id, day",
             "seat_holders": "workspace_id, account_id",
             "bill": "CASE WHEN row_type = 'guard' THEN 1 ELSE 0 END, product, site_url, workspace_id"}

    def __init__(self, db: Db):
        self.db, self.kind = db, db.kind

    def report(self, name: str, **params) -> list[dict]:
        assert not params, "a mart's parameters are dbt vars: rebuild to change them"
        mart = name.removesuffix(".sql")
        return self.db.query(f"SELECT * FROM {SCHEMA}.atlassian_admin__{mart} ORDER BY {self.ORDER[mart]}")


# The credential report's marts (test_credentials.py, test_loading_paths.py).
Marts.ORDER.update({"credentials": "priority, expires_at NULLS LAST, credential_type, credential_id",
                    "credential_counts": "flag_order", "site_policies": "product, site_url, workspace_id"})


def duckdb_marts(path: Path) -> Marts:
    import duckdb
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return Marts(Db("duckdb", con))


def pg_marts(pg_server) -> Marts:
    con = pg_server()
    con.execute("SET TimeZone = 'UTC'")
    return Marts(Db("postgres", con))


def fresh_schemas(pg_server) -> None:
    """The session's PostgreSQL server is shared: start from no loaded and no built tables."""
    con = pg_server()
    con.execute("DROP SCHEMA IF EXISTS atlassian CASCADE")
    con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    con.close()


def source_vars(kind: str, schema: str) -> dict:
    return {"atlassian_admin_schema": schema} | ({"atlassian_admin_database": "org"} if kind == "duckdb" else {})


# ---------------------------------------------------------------------------------------------
# one sync

def prepare_org(sandbox) -> None:
    """New hires who have not logged in (10 and 120 days ago), and a small paid site: a Service
    Management site of two agents, which the Free plan (3 agents) would hold."""
    post(sandbox["base_url"], "/__sandbox/mutations/hire_users", {"count": 4, "days_ago": 10})
    post(sandbox["base_url"], "/__sandbox/mutations/hire_users", {"count": 3, "days_ago": 120})
    post(sandbox["base_url"], "/__sandbox/mutations/link_site", {"product": "jira-servicedesk", "users": 2, "last_active_days_ago": 10})


def check_one_sync(marts: Marts, truth: dict, with_events: bool) -> None:
    sites, total, bill = check_report(marts, truth, granted=grants(truth) if with_events else None)
    assert any(b.get("could_be_free") for b in bill.values()), "the small paid site could be free"
    assert {r["category"] for r in marts.report("seat_holders.sql")} == set(CATEGORIES)
    # The hires of 10 days ago (and any user who joined since and never logged in).
    hired = {u["accountId"] for u in truth["users"] if not u.get("productAccess") and u.get("addedToOrg")
             and ts(u["addedToOrg"]) >= ts(truth["now"]) - timedelta(days=11)}
    assert len(hired) >= 4
    listed = {r["account_id"] for r in marts.report("reclaimable_seats.sql")}
    assert not hired & listed, "a new hire's seat listed as reclaimable"
    assert total["new_not_active"] >= 4 and total["not_billed"] > 0 and total["reclaimable"] > 0
    holders = marts.report("seat_holders.sql")
    unbilled = [h for h in holders if h["user_status"] in ("suspended", "deactivated")]
    assert unbilled and not any(h["reclaimable"] or h["billed"] for h in unbilled)


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_dbt_build_over_one_pyairbyte_sync_equals_the_truth(kind, request, tmp_path):
    need_dbt()
    with sandbox_org(USERS) as sandbox:
        prepare_org(sandbox)
        truth = truth_of(sandbox)
        if kind == "duckdb":
            where = tmp_path / "org.duckdb"
            cache = ab.DuckDBCache(db_path=str(where), schema_name="atlassian")
        else:
            pg = request.getfixturevalue("pg_server")
            where = pg.port
            fresh_schemas(pg)
            cache = ab.caches.PostgresCache(host="127.0.0.1", port=pg.port, username="postgres", password="unused",
                                            database="postgres", schema_name="atlassian")
        sync(source_for(sandbox), cache, "auto")
        release(cache)
    d = profile(tmp_path, kind, where)
    out = dbt(d, "build", **source_vars(kind, "atlassian"))
    assert "ERROR=0" in out and "WARN=0" in out and "PASS=" in out, out[-3000:]
    assert "Deprecat" not in out, out[-3000:]
    marts = duckdb_marts(where) if kind == "duckdb" else pg_marts(request.getfixturevalue("pg_server"))
    check_one_sync(marts, truth, with_events=True)
    if kind == "duckdb":
        marts.db.con.close()
        # Freshness only on workspaces, the stream every healthy sync writes (change-detection
        # streams write nothing on a quiet day).
        fresh = dbt(d, "source", "freshness", **source_vars(kind, "atlassian"))
        checked = set(re.findall(r"freshness of atlassian_admin\.(\w+)", fresh))
        assert checked == {"workspaces"}, fresh[-2000:]
        # Without the audit log, the 120-day hires are dated by their account alone: reclaimable.
        dbt(d, "run", "--select", "marts", **source_vars(kind, "atlassian"), atlassian_admin_using_audit_events=False)
        marts = duckdb_marts(where)
        check_one_sync(marts, truth, with_events=False)
        marts.db.con.close()
        dbt(d, "docs", "generate", **source_vars(kind, "atlassian"))
        assert (d / "target" / "catalog.json").exists() and (d / "target" / "index.html").exists()
        check_descriptions(d / "target")


def check_descriptions(target: Path) -> None:
    """Every model, seed and source table of the package has a description, and so has every
    column the warehouse holds for the models and seeds (catalog.json)."""
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    nodes = {k: n for k, n in {**manifest["nodes"], **manifest["sources"]}.items()
             if n.get("package_name") == "atlassian_admin" and n["resource_type"] in ("model", "seed", "source")}
    assert len([n for n in nodes.values() if n["resource_type"] == "model"]) >= 19
    missing = [k for k, n in nodes.items() if not (n.get("description") or "").strip()]
    assert not missing, f"no description: {missing}"
    for key, built in catalog["nodes"].items():
        if key not in nodes:
            continue
        documented = {c.lower() for c, col in nodes[key]["columns"].items() if (col.get("description") or "").strip()}
        undocumented = sorted(c for c in built["columns"] if c.lower() not in documented)
        assert not undocumented, f"{key}: columns without a description: {undocumented}"


# ---------------------------------------------------------------------------------------------
# several appended syncs: the trend

CHANGES = [
    [("hire_users", {"count": 3, "days_ago": 3}), ("suspend_users", {"count": 2}), ("add_users", {"count": 3, "last_active_days_ago": 100})],
    [("revoke_access", {"count": 3}), ("join_group", {"count": 3}), ("grant_group_role", {})],
    [("remove_users", {"count": 2}), ("hire_users", {"count": 2, "days_ago": 200}), ("new_activity", {"count": 10})],
]
DAYS = ["2026-10-18", "2026-10-21", "2026-10-25", "2026-10-30"]


def stamp(db: Db, day: str, since) -> None:
    """Date this sync's rows (extracted after `since`) at noon of `day`."""
    at = f"{day} 12:00:00+00"
    for table in INCREMENTAL:
        db.execute(f"UPDATE atlassian.{table} SET observed_at = '{at}' WHERE _airbyte_extracted_at > '{since}'")
        db.execute(f"UPDATE atlassian.{table} SET _ab_cdc_deleted_at = '{at}' "
                   f"WHERE _airbyte_extracted_at > '{since}' AND _ab_cdc_deleted_at IS NOT NULL")


def first_seen(truths: list[dict]) -> dict:
    """{(site, account): day} of the seats held at the end whose current holding began in a later sync."""
    held = [{(r["resourceId"], u["accountId"]) for u in t["users"] for r in u.get("siteRoles") or []
             if r["roleId"] in ("atlassian/user", "atlassian/admin")} for t in truths]
    out = {}
    for seat in held[-1]:
        k = len(held) - 1
        while k > 0 and seat in held[k - 1]:
            k -= 1
        if k > 0:
            out[seat] = ts(f"{DAYS[k]}T12:00:00Z")
    return out


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_dbt_build_over_appended_syncs_equals_the_truth_and_its_trend(kind, request, tmp_path):
    need_dbt()
    truths = []
    with sandbox_org(USERS) as sandbox:
        if kind == "duckdb":
            where = tmp_path / "org.duckdb"
            cache = ab.DuckDBCache(db_path=str(where), schema_name="atlassian")
        else:
            pg = request.getfixturevalue("pg_server")
            where = pg.port
            fresh_schemas(pg)
            cache = ab.caches.PostgresCache(host="127.0.0.1", port=pg.port, username="postgres", password="unused",
                                            database="postgres", schema_name="atlassian")
        source = source_for(sandbox)
        since = "1970-01-01 00:00:00+00"
        for k, day in enumerate(DAYS):
            if k:
                for name, fields in CHANGES[k - 1]:
                    post(sandbox["base_url"], f"/__sandbox/mutations/{name}", fields)
            truths.append(truth_of(sandbox))
            sync(source, cache, "append")
            if kind == "duckdb":
                import duckdb
                release(cache)
                con = duckdb.connect(str(where))
                db = Db("duckdb", con)
            else:
                con = request.getfixturevalue("pg_server")()
                db = Db("postgres", con)
            newest = max(t for t in (db.query(f"SELECT MAX(_airbyte_extracted_at) AS t FROM atlassian.{table}")[0]["t"]
                                     for table in INCREMENTAL) if t is not None)
            stamp(db, day, since)
            since = newest.isoformat(sep=" ") + "+00"
            con.close()
        release(cache)
    d = profile(tmp_path, kind, where)
    dbt(d, "build", **source_vars(kind, "atlassian"))
    marts = duckdb_marts(where) if kind == "duckdb" else pg_marts(request.getfixturevalue("pg_server"))
    seen = first_seen(truths)
    assert seen, "seats granted between the syncs"
    observed = [(ts(f"{day}T12:00:00Z"), truth) for day, truth in zip(DAYS, truths)]
    _, _, bill = check_report(marts, truths[-1], seat_first_seen=seen, granted=grants(truths[-1]), observations=observed)
    # Every monthly cycle holds the last sync: its peak is at least today's count (above it where
    # seats went during the cycle).
    monthly = [b for b in bill.values() if b["row_type"] == "site" and b["billing_cycle"] == "monthly"]
    assert monthly and all(b["peak_billed_this_cycle"] is not None and b["peak_billed_this_cycle"] >= b["seats_billed"] for b in monthly)
    syncs = [(None, date.fromisoformat(day)) for day in DAYS]
    want = expected_trend(truths, syncs=syncs)
    rows = marts.report("license_trend.sql")
    got = {(r["workspace_id"], r["day"] if isinstance(r["day"], date) else date.fromisoformat(str(r["day"])[:10])):
           (r["seats_assigned"], r["seats_active"]) for r in rows}
    assert set(got) == set(want), (f"{kind}: days {sorted({d for _, d in got})} != {sorted({d for _, d in want})}; "
                                   f"sites {sorted({w for w, _ in got} ^ {w for w, _ in want})}")
    for key in sorted(want):
        assert got[key] == want[key], f"{kind} {key}: mart (assigned, active) {got[key]}, truth {want[key]}"
    assert len({v[0] for k, v in want.items() if "jira-software" in k[0]}) > 1, "the seats changed over the syncs"
