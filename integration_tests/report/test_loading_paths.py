"""Every loading path docs/license-report.md names gives the same rows of all four reports,
equal to the sandbox's truth — and so does `dbt build` over the tables each path leaves.

One sandbox org (1,000 users, 2,000 audit events, as the demo; plus hires 10 and 120 days ago
who have not logged in) is read once by the connector. Then the docs' recipes run as written —
their code blocks are taken from the markdown (`<!-- recipe: NAME ... -->` before each), not
copied here, so the docs cannot drift from what is tested:

- duckdb: the connector's read, jq into records/, the page, `read_json_auto` into a DuckDB file
  (UUID ids typed UUID, lists typed STRUCT(...)[]) and the reports (the `duckdb` Python package
  stands in for the DuckDB CLI when it is not installed);
- postgres: reports/load/postgres.psql (`\\copy`, jsonb lists, timestamptz) and the CSVs through
  psql against the session's PostgreSQL server, then the reports with psql;
- pyairbyte: PyAirbyte reads the sandbox into its default DuckDB cache (JSON columns), the CSVs
  are loaded through its engine;
- the page's own loader (scripts/licence_report.py --records-dir: typed from the schemas).

Each gives its rows of license_utilization, reclaimable_seats, seat_holders and license_trend;
`dbt build` (no var but where the tables are) over the duckdb, postgres and pyairbyte tables
gives its marts' rows. All must be equal, and the utilization and reclaimable rows equal the
truth (test_report.check_report, with the audit log's grants): no new hire reclaimable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, Db, licence_report, norm, sandbox_org
from test_dbt import DBT, SCHEMA, Marts, ab, check_one_sync, dbt, grants, post, prepare_org, truth_of

DOCS = ROOT / "docs" / "license-report.md"
REPORT_NAMES = ("license_utilization.sql", "reclaimable_seats.sql", "seat_holders.sql", "license_trend.sql", "bill.sql")
USERS, EVENTS = 1000, 2000


def recipe(name: str) -> str:
    """The code block of docs/license-report.md right after `<!-- recipe: NAME ... -->`."""
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- recipe: " + re.escape(name) + r"\b[^>]*-->\n```\w*\n(.*?)\n```", text, re.S)
    assert m, f"docs/license-report.md has no recipe block {name!r}"
    return m.group(1) + "\n"


def workdir(d: Path) -> Path:
    """A directory laid out as the repository, for the recipes' relative paths (the records and
    the files they write stay out of the repository)."""
    for name in ("target", "integration_tests", "scripts", "dbt", "reports", "schemas"):
        (d / name).symlink_to(ROOT / name)
    return d


def tool_path(d: Path) -> str:
    """PATH for the recipes: this Python's `python3` (it has duckdb), and a `duckdb` command
    when the DuckDB CLI is not installed: the duckdb package reading SQL from stdin."""
    bin_dir = d / "bin"
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    python3.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # a wrapper: a symlink would lose the virtualenv
    python3.chmod(0o755)
    if not shutil.which("duckdb"):
        shim = bin_dir / "duckdb"
        shim.write_text(f"""#!{sys.executable}
# The DuckDB CLI's `duckdb [-csv] FILE < SQL` for the test: every statement run, the last one's rows printed.
import csv, sys, duckdb
args = sys.argv[1:]
con = duckdb.connect([a for a in args if not a.startswith("-")][0])
cur = con.execute(sys.stdin.read())
if cur.description:
    out = csv.writer(sys.stdout) if "-csv" in args else csv.writer(sys.stdout, delimiter="|")
    out.writerow([c[0] for c in cur.description])
    out.writerows(cur.fetchall())
""")
        shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def run_sh(script: str, cwd: Path, env: dict) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"recipe failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


# The credential report's files (docs/credential-report.md): every path gives the same rows of
# them too, equal to the truth (test_credentials.expected).
CREDENTIAL_REPORTS = ("credentials.sql", "credential_counts.sql", "site_policies.sql")


def rows_of(report) -> dict[str, list]:
    """{report: its rows (normalised: UTC times, numbers as float), in its order} from
    report(name) -> list of dicts."""
    def value(v):
        v = norm(v)
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v  # PostgreSQL's SUM is numeric

    return {name: [{k: value(v) for k, v in r.items()} for r in report(name)] for name in REPORT_NAMES + CREDENTIAL_REPORTS}


def same_rows(rows: list[dict]) -> list:
    """The rows as a sorted list, for comparing paths whose ORDER BY differ (a mart's and its file's)."""
    return sorted((tuple(sorted(r.items())) for r in rows), key=repr)


class Rows:
    """check_report's database over rows already fetched."""

    def __init__(self, rows: dict[str, list]):
        self.rows = rows

    def report(self, name: str, **params) -> list[dict]:
        assert not params
        return self.rows[name]


@pytest.fixture(scope="module")
def paths(tmp_path_factory, pg_server):
    """{path: rows of the four reports} for every loading path and dbt over each, plus the truth."""
    if not DBT.exists():
        pytest.fail(f"{DBT} is missing: bash .ci/run creates .venv-dbt")
    d = workdir(tmp_path_factory.mktemp("recipes"))
    env = dict(os.environ, PATH=tool_path(d))
    got: dict[str, dict] = {}
    with sandbox_org(USERS, extra=("--events", str(EVENTS))) as sandbox:
        prepare_org(sandbox)
        truth = truth_of(sandbox)
        (d / "config.json").write_text(json.dumps({k: sandbox[k] for k in ("api_key", "org_id", "base_url")}))

        # DuckDB from the command line: the read, jq, the page, read_json_auto, the reports.
        run_sh(recipe("duckdb"), d, env)
        assert (d / "licence-report.html").exists() and (d / "reclaimable_seats.csv").exists()
        import duckdb
        con = duckdb.connect(str(d / "licenses.duckdb"))
        types = dict(con.execute("SELECT table_name || '.' || column_name, data_type FROM information_schema.columns").fetchall())
        assert types["groups.id"] == "UUID" and types["users.groups"].startswith("STRUCT"), "read_json_auto's own types"
        got["duckdb"] = rows_of(Db("duckdb", con).report)
        con.close()
        with open(d / "reclaimable_seats.csv", newline="", encoding="utf-8") as f:
            assert len(f.read().splitlines()) - 1 == len(got["duckdb"]["reclaimable_seats.sql"]), "the CLI's CSV"

        # The page's own loader over the same records.
        con = licence_report.connect_records(d / "records")
        for name in licence_report.REFERENCE:
            licence_report.load_reference(con, name, licence_report.SEEDS / f"atlassian_admin__{name}.csv")
        got["page loader"] = rows_of(Db("duckdb", con).report)
        con.close()

        # PyAirbyte's DuckDB cache: the recipe's code, in the work directory.
        cwd = os.getcwd()
        os.chdir(d)
        try:
            scope: dict = {"print": lambda *a, **k: None}
            exec(compile(recipe("pyairbyte"), "docs/license-report.md (pyairbyte recipe)", "exec"), scope)
        finally:
            os.chdir(cwd)
        cache = scope["result"].cache
        cache_file = Path(cache.db_path)
        cache.get_sql_engine().dispose()
    con = duckdb.connect(str(cache_file))
    con.execute("SET TimeZone = 'UTC'")
    types = dict(con.execute("SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                             "WHERE table_schema = 'main'").fetchall())
    assert types["users.groups"] == "JSON" and "users._airbyte_extracted_at" in types, "PyAirbyte's own table shape"
    got["pyairbyte"] = rows_of(Db("duckdb", con).report)
    con.close()

    # PostgreSQL: reports/load/postgres.psql with \copy, the CSVs, the reports, through psql.
    admin = pg_server()
    admin.execute("DROP DATABASE IF EXISTS recipe")
    admin.execute("CREATE DATABASE recipe")
    admin.close()
    pg_env = dict(env, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{pg_server.port}/recipe")
    run_sh(recipe("postgres"), d, pg_env)
    import psycopg
    pg = psycopg.connect(host="127.0.0.1", port=pg_server.port, user="postgres", dbname="recipe", autocommit=True)
    pg.execute("SET TimeZone = 'UTC'")
    got["postgres"] = rows_of(Db("postgres", pg).report)
    with open(d / "trend.csv", encoding="utf-8") as f:
        assert len(f.read().splitlines()) - 1 == len(got["postgres"]["license_trend.sql"]), "psql's CSV"

    # dbt build over each path's tables: no var but where they are.
    for name, kind, where, database, schema in (
            ("dbt over duckdb", "duckdb", d / "licenses.duckdb", "licenses", "main"),
            ("dbt over pyairbyte", "duckdb", cache_file, cache_file.stem, "main"),
            ("dbt over postgres", "postgres", "recipe", None, "public")):
        p = tmp_path_factory.mktemp("dbt")
        out = {"type": "duckdb", "path": str(where), "schema": SCHEMA, "threads": 2} if kind == "duckdb" else \
              {"type": "postgres", "host": "127.0.0.1", "port": pg_server.port, "user": "postgres", "password": "unused",
               "dbname": where, "schema": SCHEMA, "threads": 2}
        (p / "profiles.yml").write_text(json.dumps({"atlassian_admin": {"target": kind, "outputs": {kind: out}}}))
        log = dbt(p, "build", atlassian_admin_schema=schema, **({"atlassian_admin_database": database} if database else {}))
        assert "ERROR=0" in log and "WARN=0" in log, log[-3000:]
        if kind == "duckdb":
            con = duckdb.connect(str(where), read_only=True)
            con.execute("SET TimeZone = 'UTC'")
            got[name] = rows_of(Marts(Db("duckdb", con)).report)
            con.close()
        else:
            got[name] = rows_of(Marts(Db("postgres", pg)).report)
    pg.close()
    return got, truth


def test_every_loading_path_gives_the_same_rows_of_every_report(paths):
    got, _ = paths
    base = got["duckdb"]
    assert all(base[name] for name in REPORT_NAMES)
    for path, rows in got.items():
        for name in REPORT_NAMES + CREDENTIAL_REPORTS:
            if name == "license_trend.sql" and path.endswith("pyairbyte") and \
                    {r["day"] for r in rows[name]} != {r["day"] for r in base[name]}:
                continue  # PyAirbyte's own read fell on another UTC day than the recipe's: its trend has other days
            mine, theirs = same_rows(rows[name]), same_rows(base[name])
            if mine != theirs:
                diff = next((dict(a), dict(b)) for a, b in zip(mine + [()] * len(theirs), theirs + [()] * len(mine)) if a != b)
                keys = sorted({k for k in set(diff[0]) | set(diff[1]) if diff[0].get(k) != diff[1].get(k)})
                pytest.fail(f"{path}: {name} differs from the DuckDB command line's ({len(mine)} rows, {len(theirs)}): "
                            f"first differing row, {[(k, diff[0].get(k), diff[1].get(k)) for k in keys]}")
    ids = {r["account_id"] for r in base["seat_holders.sql"]}
    assert any(i.startswith("557058:") for i in ids) and any(len(i) == 24 for i in ids), "Atlassian-shaped account ids"


@pytest.mark.parametrize("path", ["duckdb", "page loader", "pyairbyte", "postgres",
                                  "dbt over duckdb", "dbt over pyairbyte", "dbt over postgres"])
def test_each_path_equals_the_truth_and_lists_no_new_hire(paths, path):
    got, truth = paths
    check_one_sync(Rows(got[path]), truth, with_events=True)
    holders = got[path]["seat_holders.sql"]
    assert sum(1 for h in holders if h["new_not_active"]) >= 4
    assert any(h["granted_at"] is not None for h in holders), "the audit log's grants date seats"
    via = {r["remove_from"] for r in got[path]["reclaimable_seats.sql"]}
    assert "direct" in via and any(v != "direct" for v in via), f"seats held directly and through groups: {via}"


@pytest.mark.parametrize("path", ["duckdb", "page loader", "pyairbyte", "postgres",
                                  "dbt over duckdb", "dbt over pyairbyte", "dbt over postgres"])
def test_each_path_gives_the_credential_report_of_the_truth(paths, path):
    from test_credentials import check, expected
    got, truth = paths
    rows = got[path]
    check({"credentials": rows["credentials.sql"], "counts": rows["credential_counts.sql"],
           "site_policies": rows["site_policies.sql"]}, expected(truth), path)
