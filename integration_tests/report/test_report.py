"""The licence report (reports/*.sql) against the sandbox org's own ground truth.

Starts target/release/atlassian-sandbox, reads users, user_activity, workspaces and
license_assignments through the connector binary (full refresh), loads the records into one
table per stream (columns = the schema's top-level fields, arrays/objects as JSON text), runs
the report SQL unchanged, and checks every figure of every site, and the reclaimable-seat list,
against figures computed here from GET /__sandbox/truth — independently of the SQL.

DuckDB always; PostgreSQL too when its server binaries are installed (Debian's `postgresql`
package): a throwaway cluster on a Unix socket in a temp directory, no TCP. Without them the
PostgreSQL test is skipped with a message saying so.

Run: python -m pytest -q integration_tests/report   (after cargo build --release --workspace)
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = ROOT / "target" / "release" / "source-atlassian-admin"
SANDBOX = ROOT / "target" / "release" / "atlassian-sandbox"
REPORTS = ROOT / "reports"
STREAMS = ["users", "user_activity", "workspaces", "license_assignments"]
BILLABLE = {"atlassian/user", "atlassian/admin"}
USERS = 1000


# ---------------------------------------------------------------------------------------------
# the sandbox and a sync

@pytest.fixture(scope="module")
def sandbox():
    for binary in (CONNECTOR, SANDBOX):
        if not binary.exists():
            pytest.fail(f"{binary} is missing: run `cargo build --release --workspace` first")
    proc = subprocess.Popen([str(SANDBOX), "--port", "0", "--users", str(USERS)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_connector(args: list[str]) -> list[dict]:
    done = subprocess.run([str(CONNECTOR), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"connector {args[0]} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def synced(sandbox, tmp_path_factory):
    """Schemas and records of the four streams, read from the sandbox through the binary."""
    d = tmp_path_factory.mktemp("sync")
    config = d / "config.json"
    config.write_text(json.dumps({"api_key": sandbox["api_key"], "org_id": sandbox["org_id"], "base_url": sandbox["base_url"]}))
    catalog_msgs = run_connector(["discover", "--config", str(config)])
    schemas = {s["name"]: s["json_schema"] for m in catalog_msgs if m["type"] == "CATALOG" for s in m["catalog"]["streams"]}
    assert set(STREAMS) <= set(schemas), schemas.keys()
    catalog = d / "catalog.json"
    catalog.write_text(json.dumps({"streams": [
        {"stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
         "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"} for s in STREAMS]}))
    records: dict[str, list[dict]] = {s: [] for s in STREAMS}
    for m in run_connector(["read", "--config", str(config), "--catalog", str(catalog)]):
        if m["type"] == "RECORD":
            records[m["record"]["stream"]].append(m["record"]["data"])
    assert all(records[s] for s in STREAMS), {s: len(r) for s, r in records.items()}
    return schemas, records


@pytest.fixture(scope="module")
def truth(sandbox):
    with urllib.request.urlopen(f"{sandbox['base_url']}/__sandbox/truth", timeout=60) as r:
        return json.load(r)


# ---------------------------------------------------------------------------------------------
# loading: one table per stream, columns = top-level fields

def sql_type(prop: dict) -> str:
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    t = types[0] if types else "string"
    return {"integer": "BIGINT", "boolean": "BOOLEAN", "number": "DOUBLE PRECISION"}.get(t, "TEXT")


def table_rows(schema: dict, rows: list[dict]) -> tuple[list[str], list[str], list[tuple]]:
    columns = list(schema["properties"].keys())
    types = [sql_type(schema["properties"][c]) for c in columns]

    def cell(v):
        return json.dumps(v) if isinstance(v, (list, dict)) else v

    return columns, types, [tuple(cell(r.get(c)) for c in columns) for r in rows]


def load(execute, executemany, synced) -> None:
    schemas, records = synced
    for stream in STREAMS:
        columns, types, rows = table_rows(schemas[stream], records[stream])
        cols = ", ".join(f'"{c}" {t}' for c, t in zip(columns, types))
        execute(f'CREATE TABLE "{stream}" ({cols})')
        marks = ", ".join(["%s"] * len(columns)) if executemany.__name__ == "pg" else ", ".join(["?"] * len(columns))
        executemany(f'INSERT INTO "{stream}" VALUES ({marks})', rows)


def report_sql(name: str, active_days: int = 30, inactive_days: int = 90) -> str:
    sql = (REPORTS / name).read_text()
    default = "SELECT 30 AS active_days, 90 AS inactive_days,"
    assert sql.count(default) == 1, f"{name}: the params line changed"
    return sql.replace(default, f"SELECT {active_days} AS active_days, {inactive_days} AS inactive_days,")


# ---------------------------------------------------------------------------------------------
# ground truth, computed from /__sandbox/truth alone

def ts(text: str | None):
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def expected(truth: dict, active_days: int, inactive_days: int):
    as_of = max(ts(p["lastActiveTimestamp"]) for u in truth["users"] for p in u.get("productAccess") or [] if p.get("lastActiveTimestamp"))
    recent, cutoff = as_of - timedelta(days=active_days), as_of - timedelta(days=inactive_days)
    sites, reclaim = {}, {}
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
            holders[u["accountId"]] = (max(seen) if seen else None, roles, u)
        capacity = a.get("capacity")
        assigned = len(holders)
        n_recent = sum(1 for la, _, _ in holders.values() if la is not None and la >= recent)
        n_active = sum(1 for la, _, _ in holders.values() if la is not None and la >= cutoff)
        sites[w["id"]] = {
            "product": a.get("typeKey"),
            "site_name": a.get("name"),
            "site_url": a.get("hostUrl"),
            "plan": w["relationships"]["entitlement"][0]["attributes"].get("plan"),
            "seats_paid": capacity,
            "seats_assigned": assigned,
            "active_30d": n_recent,
            "active_90d": n_active,
            "reclaimable": assigned - n_active,
            "never_active": sum(1 for la, _, _ in holders.values() if la is None),
            "utilization": None if not capacity else round(assigned / capacity, 3),
            "seats_unassigned": None if capacity is None else capacity - assigned,
            "as_of": as_of,
        }
        for account, (la, roles, u) in holders.items():
            if la is None or la < cutoff:
                reclaim[(w["id"], account)] = {
                    "product": a.get("typeKey"), "site_url": a.get("hostUrl"), "name": u.get("name"), "email": u.get("email"),
                    "user_status": u.get("status"), "roles": ",".join(roles), "last_active_on_site": la,
                    "days_since_active": None if la is None else (as_of.date() - la.date()).days,
                }
    return sites, reclaim


# ---------------------------------------------------------------------------------------------
# the checks, shared by both databases

def norm(v):
    if isinstance(v, datetime):
        return v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(timezone.utc).replace(tzinfo=None)
    if v is not None and type(v).__name__ == "Decimal":
        return float(v)
    return v


def check_report(query, active_days=30, inactive_days=90) -> None:
    """`query(sql)` returns (column names, rows). Every figure of every site, every reclaimable seat."""
    want_sites, want_reclaim = expected(TRUTH[0], active_days, inactive_days)
    cols, rows = query(report_sql("license_utilization.sql", active_days, inactive_days))
    got = {r["workspace_id"]: r for r in (dict(zip(cols, map(norm, row))) for row in rows)}
    assert set(got) == set(want_sites), "the report's sites are the sites license_assignments reads"
    for ws, want in want_sites.items():
        row = got[ws]
        for key, value in want.items():
            if key == "utilization" and value is not None:
                assert row[key] == pytest.approx(value, abs=0.0005), (ws, key, row[key], value)
            else:
                assert row[key] == value, f"{ws} {key}: report {row[key]!r}, truth {value!r}"
        assert row["active_30d"] <= row["active_90d"] and row["active_90d"] + row["reclaimable"] == row["seats_assigned"]
    assert sum(w["seats_assigned"] for w in want_sites.values()) > 100
    assert any(w["reclaimable"] for w in want_sites.values()) and any(w["never_active"] for w in want_sites.values())

    cols, rows = query(report_sql("reclaimable_seats.sql", active_days, inactive_days))
    got = {(r["workspace_id"], r["account_id"]): r for r in (dict(zip(cols, map(norm, row))) for row in rows)}
    assert len(got) == len(rows), "one row per user and site"
    assert set(got) == set(want_reclaim)
    for key, want in want_reclaim.items():
        row = got[key]
        for k, v in want.items():
            assert row[k] == v, f"{key} {k}: report {row[k]!r}, truth {v!r}"


TRUTH: list = []


@pytest.fixture(scope="module", autouse=True)
def _truth(truth):
    TRUTH[:] = [truth]


# ---------------------------------------------------------------------------------------------
# DuckDB

def test_report_on_duckdb_equals_the_sandbox_truth(synced):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()

    def dk(sql, rows):
        con.executemany(sql, rows)

    load(con.execute, dk, synced)

    def query(sql):
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()

    check_report(query)
    check_report(query, active_days=7, inactive_days=60)  # the thresholds are parameters


def test_the_stream_table_equals_the_truth_seats(synced, truth):
    """The table the report starts from: one row per billable seat on online, non-sandbox sites."""
    _, records = synced
    got = {(r["workspace_id"], r["account_id"], r["role"]) for r in records["license_assignments"]}
    skip = {w["id"] for w in truth["workspaces"]
            if (w["attributes"].get("sandbox") or {}).get("type") == "CHILD" or w["attributes"].get("status") == "offline"}
    want = {(r["resourceId"], u["accountId"], r["roleId"]) for u in truth["users"] for r in u.get("siteRoles") or []
            if r["roleId"] in BILLABLE and r["resourceId"] not in skip}
    assert got == want and len(records["license_assignments"]) == len(want)


# ---------------------------------------------------------------------------------------------
# PostgreSQL (optional: needs the server binaries)

def pg_bindir() -> Path | None:
    for candidate in [os.environ.get("PG_BINDIR")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


@pytest.fixture(scope="module")
def postgres():
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql, or set PG_BINDIR")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as the postgres user
        if subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode != 0:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="report-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run(as_user + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                              "-o", f"-k {sock} -c listen_addresses='' -c fsync=off", "start"], check=True, capture_output=True)
    try:
        with psycopg.connect(host=str(sock), user="postgres", dbname="postgres", autocommit=True) as con:
            yield con
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_report_on_postgresql_equals_the_sandbox_truth(postgres, synced):
    cur = postgres.cursor()

    def pg(sql, rows):
        cur.executemany(sql, rows)

    load(cur.execute, pg, synced)

    def query(sql):
        cur.execute(sql)
        return [d.name for d in cur.description], cur.fetchall()

    check_report(query)
    check_report(query, active_days=7, inactive_days=60)
