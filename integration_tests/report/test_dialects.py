"""The report SQL in four dialects, and the definitions its files share.

Every reports/*.sql parses (sqlglot, pinned in requirements.txt) as DuckDB, PostgreSQL,
Snowflake and BigQuery SQL, and so does each Snowflake and BigQuery variant that
scripts/report_dialects.py makes (the lines those warehouses need changed, documented in
docs/license-report.md). DuckDB and PostgreSQL also *run* every file: test_report.py,
test_trend.py. A parse is what is checked for Snowflake and BigQuery: there is no warehouse here.

The files are self-contained (each runs on its own), so the definitions they share — the
parameters, the time windows, what a (paid) site is, the seat deduplication, the price lookup,
the latest activity per (user, site) — are written once per file; this test holds them identical.
"""

from __future__ import annotations

import re
import sys

import pytest

from conftest import REPORTS, ROOT

sqlglot = pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install -r integration_tests/report/requirements.txt)")
sys.path.insert(0, str(ROOT / "scripts"))
import report_dialects  # noqa: E402

FILES = sorted(REPORTS.glob("*.sql"))
SHARED_BY_ALL = ("params", "bounds", "sites")
SHARED_BY_SOME = ("seats", "site_prices")
# The latest state of each (user, site) pair; the trend reads user_activity's history instead.
LATEST_ACTIVITY = ("license_utilization.sql", "reclaimable_seats.sql")


def ctes(sql: str) -> dict[str, str]:
    """name -> text of each top-level CTE (`name AS (` at the start of a line to the `)` alone)."""
    return {m.group(1): m.group(0) for m in re.finditer(r"(?ms)^(?:WITH )?(\w+) AS \(\n.*?^\),?$", sql)}


def test_the_report_files_are_the_three_expected():
    assert [f.name for f in FILES] == ["license_trend.sql", "license_utilization.sql", "reclaimable_seats.sql"]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_parses(path, dialect):
    statements = sqlglot.parse(path.read_text(encoding="utf-8"), read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    assert len([s for s in statements if s is not None]) == 1


@pytest.mark.parametrize("dialect", sorted(report_dialects.VARIANTS))
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_variant_applies_and_parses(path, dialect):
    sql = report_dialects.variant(path, dialect)  # raises when a line to change is gone
    sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    assert sql != path.read_text(encoding="utf-8"), f"{path.name} needs no {dialect} change? then drop it from VARIANTS"


def test_every_variant_line_is_used():
    for dialect, changes in report_dialects.VARIANTS.items():
        for files, old, _ in changes:
            for name in files:
                assert (REPORTS / name).read_text(encoding="utf-8").split("\n").count(old) == 1, (dialect, name, old)


def test_shared_definitions_are_identical_in_every_file():
    texts = {f.name: ctes(f.read_text(encoding="utf-8")) for f in FILES}
    for name in SHARED_BY_ALL:
        versions = {f: c.get(name) for f, c in texts.items()}
        assert None not in versions.values(), f"CTE {name} missing in {[f for f, v in versions.items() if v is None]}"
        assert len(set(versions.values())) == 1, f"CTE {name} differs between the report files"
    for name in SHARED_BY_SOME:
        versions = {c[name] for c in texts.values() if name in c}
        assert len(versions) == 1, f"CTE {name} differs between the report files"
    assert len({texts[f]["activity"] for f in LATEST_ACTIVITY}) == 1, f"CTE activity differs between {LATEST_ACTIVITY}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_user_activity_is_read_in_one_cte(path):
    """So that how it is deduplicated (latest row per pair, deletion rows dropped) lives in one
    place: the table is named once, in the `activity` CTE."""
    sql = path.read_text(encoding="utf-8")
    tree = sqlglot.parse_one(sql, read="postgres")
    tables = [t for t in tree.find_all(sqlglot.exp.Table) if t.name == "user_activity"]
    assert len(tables) == 1
    assert "FROM user_activity" in ctes(sql)["activity"]
