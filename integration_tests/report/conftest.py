"""Shared by the licence report tests: the sandbox and connector binaries, syncs, loading the
records into DuckDB or PostgreSQL (one table per stream, columns = the schema's top-level
fields), the price and tier tables, and a throwaway PostgreSQL server."""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = ROOT / "target" / "release" / "source-atlassian-admin"
SANDBOX = ROOT / "target" / "release" / "atlassian-sandbox"
REPORTS = ROOT / "reports"
SEEDS = ROOT / "dbt" / "seeds"
PRICES_CSV = SEEDS / "atlassian_admin__seat_prices.csv"
TIERS_CSV = SEEDS / "atlassian_admin__user_tiers.csv"
CONTRACTS_CSV = SEEDS / "atlassian_admin__contracts.csv"
UNSEEN_CSV = SEEDS / "atlassian_admin__unseen_products.csv"
FREE_PLANS_CSV = SEEDS / "atlassian_admin__free_plans.csv"
# Statuses Atlassian does not bill (docs/license-report.md).
NOT_BILLED = {"suspended", "deactivated", "for_deletion"}
STREAMS = ["users", "user_activity", "workspaces", "license_assignments", "groups", "domains", "api_tokens", "service_accounts",
           "seat_counts"]
# The streams the report does without (an empty table when not synced): what each leaves unknown
# is in docs/license-report.md. (groups and audit_events too.)
SOMETIMES = ["domains", "api_tokens", "service_accounts", "seat_counts"]
BILLABLE = {"atlassian/user", "atlassian/admin"}

sys.path.insert(0, str(ROOT / "scripts"))
import licence_report  # noqa: E402  (scripts/licence_report.py: the page, and the params line)


# ---------------------------------------------------------------------------------------------
# the sandbox, the connector, a sync

def need_binaries() -> None:
    for binary in (CONNECTOR, SANDBOX):
        if not binary.exists():
            pytest.fail(f"{binary} is missing: run `cargo build --release --workspace` first")


@contextmanager
def sandbox_org(users: int, seed: int = 42, extra: tuple[str, ...] = ()):
    """A running sandbox org: yields its hello line (base_url, org_id, api_key) plus `truth`."""
    need_binaries()
    proc = subprocess.Popen([str(SANDBOX), "--port", "0", "--users", str(users), "--seed", str(seed), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        with urllib.request.urlopen(f"{info['base_url']}/__sandbox/truth", timeout=60) as r:
            info["truth"] = json.load(r)
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_connector(args: list[str]) -> list[dict]:
    done = subprocess.run([str(CONNECTOR), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"connector {args[0]} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def write_config(d: Path, sandbox: dict) -> Path:
    config = d / "config.json"
    config.write_text(json.dumps({"api_key": sandbox["api_key"], "org_id": sandbox["org_id"], "base_url": sandbox["base_url"]}))
    return config


def discover_schemas(config: Path) -> dict:
    msgs = run_connector(["discover", "--config", str(config)])
    schemas = {s["name"]: s["json_schema"] for m in msgs if m["type"] == "CATALOG" for s in m["catalog"]["streams"]}
    assert set(STREAMS) <= set(schemas), schemas.keys()
    return schemas


def read(d: Path, config: Path, modes: dict[str, str], state: list | None = None) -> tuple[dict, list]:
    """One `read`: modes = {stream: 'full_refresh' | 'incremental'}. Returns the records per stream
    and the state to give the next read (the last STATE of each stream)."""
    catalog = d / "catalog.json"
    catalog.write_text(json.dumps({"streams": [
        {"stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
         "sync_mode": mode, "destination_sync_mode": "append" if mode == "incremental" else "overwrite"}
        for s, mode in modes.items()]}))
    args = ["read", "--config", str(config), "--catalog", str(catalog)]
    if state is not None:
        (d / "state.json").write_text(json.dumps(state))
        args += ["--state", str(d / "state.json")]
    records: dict[str, list[dict]] = {s: [] for s in modes}
    last_state: dict[str, dict] = {}
    for m in run_connector(args):
        if m["type"] == "RECORD":
            records[m["record"]["stream"]].append(m["record"]["data"])
        elif m["type"] == "STATE" and m["state"].get("type") == "STREAM":
            last_state[m["state"]["stream"]["stream_descriptor"]["name"]] = m["state"]
    return records, list(last_state.values())


# ---------------------------------------------------------------------------------------------
# loading: one table per stream, columns = top-level fields; the price and tier tables

def sql_type(prop: dict) -> str:
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    t = types[0] if types else "string"
    return {"integer": "BIGINT", "boolean": "BOOLEAN", "number": "DOUBLE PRECISION"}.get(t, "TEXT")


class Db:
    """execute / insert / query over DuckDB or PostgreSQL (psycopg), one API for both."""

    def __init__(self, kind: str, con):
        self.kind, self.con = kind, con
        self.cur = con.cursor() if kind == "postgres" else con

    def execute(self, sql: str, params=None):
        self.cur.execute(sql, params) if params is not None else self.cur.execute(sql)

    def insert(self, table: str, width: int, rows: list[tuple], chunk: int = 1000):
        """INSERT the rows, a thousand to a statement. DuckDB gets them as literals: binding
        parameters from Python costs it about 3 ms a row."""
        if self.kind == "postgres":
            group = "(" + ", ".join(["%s"] * width) + ")"
            for i in range(0, len(rows), chunk):
                part = rows[i:i + chunk]
                self.cur.execute(f'INSERT INTO "{table}" VALUES ' + ", ".join([group] * len(part)), [v for r in part for v in r])
            return
        for i in range(0, len(rows), chunk):
            values = ", ".join("(" + ", ".join(map(literal, r)) + ")" for r in rows[i:i + chunk])
            self.cur.execute(f'INSERT INTO "{table}" VALUES {values}')

    def query(self, sql: str) -> list[dict]:
        self.cur.execute(sql)
        names = [d.name if self.kind == "postgres" else d[0] for d in self.cur.description]
        return [dict(zip(names, map(norm, row))) for row in self.cur.fetchall()]

    def report(self, name: str, **params) -> list[dict]:
        return self.query(licence_report.report_sql(name, **params))


def literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def create_table(db: Db, name: str, columns: list[str], types: list[str], rows: list[tuple]) -> None:
    cols = ", ".join('"%s" %s' % (c, t) for c, t in zip(columns, types))
    db.execute(f'CREATE TABLE "{name}" ({cols})')
    db.insert(name, len(columns), rows)


# Read by the report when synced; an empty table stands in when not (as licence_report.py does).
OPTIONAL = ["audit_events"]


def load_streams(db: Db, schemas: dict, records: dict[str, list[dict]]) -> None:
    for stream in STREAMS + OPTIONAL:
        props = schemas[stream]["properties"]
        columns = list(props)
        cell = lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v  # noqa: E731
        create_table(db, stream, columns, [sql_type(props[c]) for c in columns],
                     [tuple(cell(r.get(c)) for c in columns) for r in records.get(stream, [])])


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# The reference tables: their CSV (the dbt package's seeds) and SQL types.
REFERENCE = {
    "seat_prices": (PRICES_CSV, ["TEXT", "TEXT", "TEXT", "NUMERIC(12, 4)", "TEXT", "TEXT"]),
    "user_tiers": (TIERS_CSV, ["TEXT", "INTEGER", "TEXT"]),
    "contracts": (CONTRACTS_CSV, ["TEXT", "TEXT", "TEXT", "INTEGER", "DATE", "TEXT"]),
    "unseen_products": (UNSEEN_CSV, ["TEXT", "TEXT"]),
    "free_plans": (FREE_PLANS_CSV, ["TEXT", "INTEGER", "TEXT"]),
}


def reference_rows(name: str, rows: list[dict] | None = None) -> list[dict]:
    """The rows of a reference table: `rows`, else its shipped CSV."""
    return csv_rows(REFERENCE[name][0]) if rows is None else rows


def load_reference(db: Db, prices: list[dict] | None = None, tiers: list[dict] | None = None, contracts: list[dict] | None = None,
                   unseen: list[dict] | None = None, free_plans: list[dict] | None = None) -> None:
    """The reference tables, each from its shipped CSV unless given (prices=[] = an empty table)."""
    given = {"seat_prices": prices, "user_tiers": tiers, "contracts": contracts, "unseen_products": unseen, "free_plans": free_plans}
    for name, (_, types) in REFERENCE.items():
        columns = licence_report.REFERENCE[name][0]
        db.execute(f'DROP TABLE IF EXISTS "{name}"')
        create_table(db, name, list(columns), types,
                     [tuple(r.get(c) or None for c in columns) for r in reference_rows(name, given[name])])


def norm(v):
    if isinstance(v, datetime):
        return v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(timezone.utc).replace(tzinfo=None)
    if v is not None and type(v).__name__ == "Decimal":
        return float(v)
    return v


def ts(text: str | None):
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# the databases: DuckDB always, PostgreSQL when its server binaries are installed

def pg_bindir() -> Path | None:
    for candidate in [os.environ.get("PG_BINDIR")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgServer:
    """Calling it connects (psycopg, on the Unix socket); `port` is its loopback TCP port (for
    clients that take a host and port: PyAirbyte's cache, dbt-postgres)."""

    def __init__(self, connect, port: int):
        self.connect, self.port = connect, port

    def __call__(self):
        return self.connect()


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster on a Unix socket in a temp directory, and on a free
    loopback port, trust authentication."""
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
    port = free_port()
    subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                              "-o", f"-k {sock} -c listen_addresses='127.0.0.1' -p {port} -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield PgServer(lambda: psycopg.connect(host=str(sock), port=port, user="postgres", dbname="postgres", autocommit=True), port)
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


_schemas = iter(range(1, 1_000_000))


@pytest.fixture(params=["duckdb", "postgres"])
def db(request):
    """A fresh, empty database of each kind (PostgreSQL: a new schema on the session's server)."""
    if request.param == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        con = duckdb.connect()
        yield Db("duckdb", con)
        con.close()
        return
    connect = request.getfixturevalue("pg_server")
    con = connect()
    schema = f"t{next(_schemas)}"
    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"SET search_path = {schema}")
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield Db("postgres", con)
    finally:
        con.execute(f"DROP SCHEMA {schema} CASCADE")
        con.close()


# ---------------------------------------------------------------------------------------------
# the syncs the tests share (one sandbox run each, once per session)

USERS = 1000


@pytest.fixture(scope="session")
def synced(tmp_path_factory):
    """(schemas, records, truth) of one full-refresh read of the report's streams."""
    d = tmp_path_factory.mktemp("sync")
    with sandbox_org(USERS) as sandbox:
        config = write_config(d, sandbox)
        schemas = discover_schemas(config)
        records, _ = read(d, config, {s: "full_refresh" for s in STREAMS})
        assert all(records[s] for s in STREAMS), {s: len(r) for s, r in records.items()}
        return schemas, records, sandbox["truth"]


@pytest.fixture(scope="session")
def missed_page(tmp_path_factory, synced):
    """`synced`'s records, but license_assignments read from the same org (same seed and users)
    with a page of its searches lost on the way: the sandbox's drop-items fault empties the first
    search page's list and keeps its links, so the read goes on without those holders — a
    missed page. seat_counts is Atlassian's count, as in `synced`."""
    _, records, _ = synced
    d = tmp_path_factory.mktemp("missed")
    with sandbox_org(USERS, extra=("--fault", "users_search:drop-items:nth=1")) as sandbox:
        lost, _ = read(d, write_config(d, sandbox), {"license_assignments": "full_refresh"})
    assert 0 < len(records["license_assignments"]) - len(lost["license_assignments"]) <= 100
    return {**records, "license_assignments": lost["license_assignments"]}



# The trend's history: four reads with state, each against the sandbox restarted with another
# number of users (same seed: the same org, sites and account ids), users added, removed and
# added back with their seats. users and license_assignments incremental (change detection,
# deletion records, for user_activity per (user, site) pair), all appended; workspaces full refresh,
# overwritten: the connection docs/license-report.md recommends for the trend. The reads run
# within seconds, so each read's observed_at (and _ab_cdc_deleted_at) is set to a day of its own,
# noon UTC, before loading: the only change made to the records.
SYNCS = [(1000, date(2026, 11, 1)), (1100, date(2026, 11, 4)), (1040, date(2026, 11, 8)), (1120, date(2026, 11, 13))]
MODES = {"users": "incremental", "license_assignments": "incremental", "user_activity": "incremental", "groups": "incremental",
         "domains": "incremental", "api_tokens": "incremental", "service_accounts": "incremental", "seat_counts": "incremental",
         "workspaces": "full_refresh"}


@pytest.fixture(scope="session")
def history(tmp_path_factory):
    """(schemas, appended records, truths) of the four syncs."""
    d = tmp_path_factory.mktemp("history")
    tables: dict[str, list[dict]] = {s: [] for s in MODES}
    truths, state, schemas = [], [], None
    for users, day in SYNCS:
        with sandbox_org(users) as sandbox:
            config = write_config(d, sandbox)
            schemas = schemas or discover_schemas(config)
            records, state = read(d, config, MODES, state)
            truths.append(sandbox["truth"])
        stamp = f"{day.isoformat()}T12:00:00Z"
        for stream, rows in records.items():
            for r in rows:
                if "observed_at" in r:
                    r["observed_at"] = stamp
                if r.get("_ab_cdc_deleted_at"):
                    r["_ab_cdc_deleted_at"] = stamp
            tables[stream] = rows if stream == "workspaces" else tables[stream] + rows
    deletions = [r for r in tables["license_assignments"] if r.get("_ab_cdc_deleted_at")]
    assert deletions and len(tables["license_assignments"]) > len({(r["workspace_id"], r["account_id"], r["role"])
                                                                  for r in tables["license_assignments"]})
    return schemas, tables, truths


