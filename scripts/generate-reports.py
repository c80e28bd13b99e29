#!/usr/bin/env python3
"""Compile the plain report SQL, reports/*.sql, from the dbt package's marts (dbt/models/marts/).

    python3 scripts/generate-reports.py [--dbt .venv-dbt/bin/dbt]          # write reports/
    python3 scripts/generate-reports.py --check                           # CI: fail if stale

The dbt models are the one definition of every report query. For people without dbt, each mart
is compiled with the var atlassian_admin_plain_sql (every model it builds on inlined as a CTE,
the stream tables and seat_prices / user_tiers named bare) into a self-contained file:

    reports/<report>.sql            DuckDB and PostgreSQL (the default__ macros)
    reports/snowflake/<report>.sql  the snowflake__ macros
    reports/bigquery/<report>.sql   the bigquery__ macros

and, from the streams' schemas (schemas/<stream>.json), reports/load/postgres.psql: the psql
script docs/license-report.md gives to load the records (records/<stream>.jsonl) into
PostgreSQL, one table per stream, with \\copy.

Needs dbt-core with dbt-duckdb (compiling opens no database file: an in-memory DuckDB).
.ci/run runs --check; edit the models, then run this.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt"
REPORTS = ROOT / "reports"
MARTS = {"license_utilization": "atlassian_admin__license_utilization",
         "reclaimable_seats": "atlassian_admin__reclaimable_seats",
         "license_trend": "atlassian_admin__license_trend",
         "seat_holders": "atlassian_admin__seat_holders",
         "bill": "atlassian_admin__bill",
         # the credential report's (docs/credential-report.md)
         "credentials": "atlassian_admin__credentials", "credential_counts": "atlassian_admin__credential_counts",
         "site_policies": "atlassian_admin__site_policies"}
DIALECTS = {None: REPORTS, "snowflake": REPORTS / "snowflake", "bigquery": REPORTS / "bigquery"}
PROFILE = """atlassian_admin:
  target: compile
  outputs:
    compile:
      type: duckdb
      path: ":memory:"
      threads: 1
"""
WHERE = {
    None: "Runs on DuckDB and PostgreSQL",
    "snowflake": "The Snowflake form (the package's snowflake__ macros)",
    "bigquery": "The BigQuery form (the package's bigquery__ macros)",
}


def leading_comment(model_sql: str) -> str:
    lines = []
    for line in model_sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line)
    return "\n".join(lines)


def header(model: str, dialect: str | None, comment: str) -> str:
    return (f"{comment}\n"
            f"--\n"
            f"-- GENERATED from dbt/models/marts/{model}.sql by scripts/generate-reports.py: edit the model\n"
            f"-- and run the script, not this file. {WHERE[dialect]} over one table per stream, named\n"
            f"-- after it (users, user_activity, workspaces, license_assignments; groups, audit_events,\n"
            f"-- domains, api_tokens, service_accounts, seat_counts, empty when not synced), and the\n"
            f"-- reference tables seat_prices, user_tiers, contracts, unseen_products and free_plans\n"
            f"-- (dbt/seeds/*.csv, or your own).\n"
            f"-- Parameters: the SELECT line of __dbt__cte__int_atlassian_admin__params below\n"
            f"-- (docs/license-report.md says what each means).\n")


def compile_all(dbt: str) -> dict[Path, str]:
    """{path under reports/: text} for every report and dialect."""
    out: dict[Path, str] = {}
    with tempfile.TemporaryDirectory(prefix="atlassian-admin-compile-") as tmp:
        tmp = Path(tmp)
        (tmp / "profiles.yml").write_text(PROFILE)
        for dialect, directory in DIALECTS.items():
            target = tmp / f"target-{dialect or 'default'}"
            vars_ = {"atlassian_admin_plain_sql": True}
            if dialect:
                vars_["atlassian_admin_sql_dialect"] = dialect
            env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
            done = subprocess.run([dbt, "compile", "--quiet", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(tmp),
                                   "--target-path", str(target), "--log-path", str(tmp / "logs"),
                                   "--vars", json.dumps(vars_), "--select", *MARTS.values()],
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                sys.exit(f"dbt compile failed ({dialect or 'default'}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            for name, model in MARTS.items():
                compiled = (target / "compiled" / "atlassian_admin" / "models" / "marts" / f"{model}.sql").read_text(encoding="utf-8")
                comment = leading_comment((DBT_PROJECT / "models" / "marts" / f"{model}.sql").read_text(encoding="utf-8"))
                body = compiled.replace(comment + "\n", "", 1).strip() + ";\n"
                out[directory.relative_to(ROOT) / f"{name}.sql"] = header(model, dialect, comment) + body
    return out


STREAMS = ("users", "user_activity", "workspaces", "license_assignments", "groups", "audit_events", "domains",
           "api_tokens", "service_accounts", "seat_counts", "api_keys", "policies")
LOAD_SCRIPT = REPORTS / "load" / "postgres.psql"


def pg_column(name: str, prop: dict) -> str:
    """The expression of one top-level field of a record (`doc`, jsonb) as a column."""
    types = prop.get("type", "string")
    kind = next((t for t in ([types] if isinstance(types, str) else types) if t != "null"), "string")
    if kind in ("array", "object"):
        return f"NULLIF(doc -> '{name}', 'null'::jsonb) AS {name}"
    cast = {"integer": "bigint", "boolean": "boolean", "number": "double precision"}.get(kind)
    if cast is None and prop.get("format") == "date-time":
        cast = "timestamptz"
    return f"(doc ->> '{name}')::{cast} AS {name}" if cast else f"doc ->> '{name}' AS {name}"


def load_script() -> str:
    """reports/load/postgres.psql: every stream's records into a table of its own."""
    out = ["-- GENERATED from schemas/<stream>.json by scripts/generate-reports.py: run the script, not an edit.",
           "-- Loads the records of a sync, records/<stream>.jsonl (one JSON object a line: the demo's",
           "-- output/records, or the jq lines of docs/license-report.md), into PostgreSQL: one table per",
           "-- stream, named after it, with the records' top-level fields as columns (text, timestamptz,",
           "-- bigint, boolean; lists and objects as jsonb). A stream not synced (an empty file) gives an",
           "-- empty table. Replaces the tables. Run it from the directory holding records/:",
           "--   psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f reports/load/postgres.psql",
           "-- Each line is read whole as one jsonb value (CSV with quote and delimiter characters that JSON",
           "-- text never holds unescaped, so backslashes and quotes pass as they are).",
           "CREATE TEMPORARY TABLE record_lines (doc jsonb);"]
    for stream in STREAMS:
        props = json.loads((ROOT / "schemas" / f"{stream}.json").read_text(encoding="utf-8"))["properties"]
        columns = ",\n       ".join(pg_column(n, p) for n, p in props.items())
        out += ["", "TRUNCATE record_lines;",
                f"\\copy record_lines (doc) FROM 'records/{stream}.jsonl' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
                f"DROP TABLE IF EXISTS {stream};",
                f"CREATE TABLE {stream} AS\nSELECT {columns}\nFROM record_lines;"]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_dbt = ROOT / ".venv-dbt" / "bin" / "dbt"
    ap.add_argument("--dbt", default=str(default_dbt) if default_dbt.exists() else (shutil.which("dbt") or "dbt"))
    ap.add_argument("--check", action="store_true", help="compare with the committed files; exit 1 when any differs")
    args = ap.parse_args()
    files = compile_all(args.dbt)
    files[LOAD_SCRIPT.relative_to(ROOT)] = load_script()
    stale = [p for p, text in files.items() if not (ROOT / p).exists() or (ROOT / p).read_text(encoding="utf-8") != text]
    known = {p for d in DIALECTS.values() for p in d.glob("*.sql")}
    extra = sorted(p.relative_to(ROOT) for p in known if p.relative_to(ROOT) not in files)
    if args.check:
        if stale or extra:
            print("reports/ is not what the dbt models compile to: run `python3 scripts/generate-reports.py`", file=sys.stderr)
            for p in stale:
                print(f"  differs: {p}", file=sys.stderr)
            for p in extra:
                print(f"  not generated: {p}", file=sys.stderr)
            return 1
        print(f"reports/: {len(files)} files, as the dbt models compile")
        return 0
    for p, text in files.items():
        (ROOT / p).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / p).write_text(text, encoding="utf-8")
    for p in extra:
        (ROOT / p).unlink()
    print(f"wrote {len(files)} files under reports/" + (f"; removed {', '.join(map(str, extra))}" if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
