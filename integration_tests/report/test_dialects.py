"""The report SQL in four dialects, and one definition of every query.

reports/*.sql (DuckDB and PostgreSQL), reports/snowflake/*.sql and reports/bigquery/*.sql are
compiled from the dbt package's marts by scripts/generate-reports.py (the dialect differences
are the package's dispatch macros); .ci/run fails when they differ from what the models compile
to. Here: every file parses in its dialect and carries into Snowflake and BigQuery through
sqlglot (pinned in requirements.txt) with nothing unsupported (unsupported constructs raise).
DuckDB and PostgreSQL also *run* every file: test_report.py, test_trend.py, test_dbt.py. A parse
and a transpile is what is checked for Snowflake and BigQuery: there is no warehouse here.
"""

from __future__ import annotations

import pytest

from conftest import REPORTS, ROOT

sqlglot = pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install -r integration_tests/report/requirements.txt)")

NAMES = ["bill.sql", "license_trend.sql", "license_utilization.sql", "reclaimable_seats.sql", "seat_holders.sql"]
MARTS = sorted(p.name.removeprefix("atlassian_admin__") for p in (ROOT / "dbt" / "models" / "marts").glob("*.sql"))
# The credential report's files (docs/credential-report.md).
NAMES = sorted(NAMES + ["credential_counts.sql", "credentials.sql", "site_policies.sql"])


def test_every_mart_has_its_plain_file_in_every_dialect():
    assert MARTS == NAMES
    for directory in (REPORTS, REPORTS / "snowflake", REPORTS / "bigquery"):
        assert sorted(p.name for p in directory.glob("*.sql")) == NAMES, directory
    for path in REPORTS.rglob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert "GENERATED from dbt/models/marts/" in text, path
        assert "{{" not in text and "{%" not in text, f"{path}: uncompiled Jinja"


@pytest.mark.parametrize("read", ["duckdb", "postgres"])
@pytest.mark.parametrize("write", ["snowflake", "bigquery"])
@pytest.mark.parametrize("name", NAMES)
def test_the_plain_sql_transpiles_with_nothing_unsupported(name, read, write):
    sql = (REPORTS / name).read_text(encoding="utf-8")
    out = sqlglot.transpile(sql, read=read, write=write, unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert len([s for s in out if s]) == 1


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery"])
@pytest.mark.parametrize("name", NAMES)
def test_each_dialect_form_parses_and_round_trips(name, dialect):
    sql = (REPORTS / dialect / name).read_text(encoding="utf-8")
    sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    sqlglot.transpile(sql, read=dialect, write=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert sql != (REPORTS / name).read_text(encoding="utf-8"), f"{dialect}/{name} is the DuckDB form"


@pytest.mark.parametrize("name", NAMES)
def test_each_stream_table_is_named_in_one_staging_cte(name):
    """Deduplication (the latest row per key, deletions dropped) lives in the staging models:
    each current-state stream table is read in one CTE of the compiled file."""
    tree = sqlglot.parse_one((REPORTS / name).read_text(encoding="utf-8"), read="postgres")
    for table in ("users", "workspaces"):
        reads = [t for t in tree.find_all(sqlglot.exp.Table) if t.name == table]
        assert len(reads) <= 1, f"{name} reads {table} {len(reads)} times"


def test_the_staging_columns_are_each_streams_schema():
    """dbt/macros/staging.sql's stream_columns lists every field of schemas/<stream>.json, in its
    order, then _airbyte_extracted_at: the staging models pass each stream through whole."""
    import json
    import re

    text = (ROOT / "dbt" / "macros" / "staging.sql").read_text(encoding="utf-8")
    streams = re.findall(r"^  '(\w+)': \[\n(.*?)^  \],", text, re.S | re.M)
    assert {s for s, _ in streams} >= {"users", "domains", "api_tokens", "service_accounts", "seat_counts"}
    for stream, body in streams:
        names = re.findall(r"\{'name': '(\w+)'", body)
        schema = json.loads((ROOT / "schemas" / f"{stream}.json").read_text(encoding="utf-8"))
        assert names == [*schema["properties"], "_airbyte_extracted_at"], stream
