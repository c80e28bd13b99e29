#!/usr/bin/env python3
"""The report SQL for Snowflake or BigQuery: the few lines those warehouses need changed.

    python3 scripts/report_dialects.py --dialect snowflake reports/license_utilization.sql > snowflake.sql
    python3 scripts/report_dialects.py --dialect bigquery reports/license_trend.sql > bigquery.sql

reports/*.sql run unchanged on DuckDB and PostgreSQL. Snowflake has no INTERVAL * number and
no STRING_AGG; BigQuery adds and subtracts days with DATE_ADD / DATE_SUB / TIMESTAMP_SUB and
counts them with DATE_DIFF. Each change below replaces one exact line; a line that is no longer
in the file is an error (so a variant cannot silently go stale), and the tests parse every
variant in its dialect with sqlglot. These variants are checked to parse, not run against a
live warehouse. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# dialect -> [(files it applies to, the line as in reports/, its replacement)]
BOUNDS = ("license_utilization.sql", "reclaimable_seats.sql", "license_trend.sql")
VARIANTS: dict[str, list[tuple[tuple[str, ...], str, str]]] = {
    "snowflake": [
        (BOUNDS, "           as_of - active_days * INTERVAL '1 day' AS active_since,",
                 "           DATEADD(day, -active_days, as_of) AS active_since,"),
        (BOUNDS, "           as_of - inactive_days * INTERVAL '1 day' AS inactive_before",
                 "           DATEADD(day, -inactive_days, as_of) AS inactive_before"),
        (("reclaimable_seats.sql",), "           STRING_AGG(s.role, ',' ORDER BY s.role) AS roles,",
                                     "           LISTAGG(s.role, ',') WITHIN GROUP (ORDER BY s.role) AS roles,"),
        (("reclaimable_seats.sql",), "           STRING_AGG(COALESCE(g.name, g.id), ', ' ORDER BY COALESCE(g.name, g.id)) AS via",
                                     "           LISTAGG(COALESCE(g.name, g.id), ', ') WITHIN GROUP (ORDER BY COALESCE(g.name, g.id)) AS via"),
    ],
    "bigquery": [
        (BOUNDS, "           as_of - active_days * INTERVAL '1 day' AS active_since,",
                 "           TIMESTAMP_SUB(as_of, INTERVAL active_days DAY) AS active_since,"),
        (BOUNDS, "           as_of - inactive_days * INTERVAL '1 day' AS inactive_before",
                 "           TIMESTAMP_SUB(as_of, INTERVAL inactive_days DAY) AS inactive_before"),
        (("reclaimable_seats.sql",), "       CAST(b.as_of AS DATE) - CAST(h.last_active AS DATE) AS days_since_active,",
                                     "       DATE_DIFF(CAST(b.as_of AS DATE), CAST(h.last_active AS DATE), DAY) AS days_since_active,"),
        (("reclaimable_seats.sql",),
         "    JOIN current_groups g ON POSITION('\"' || g.id || '\"' IN CAST(u.groups AS TEXT)) > 0",
         "    JOIN current_groups g ON STRPOS(TO_JSON_STRING(u.groups), '\"' || g.id || '\"') > 0"),
        (("reclaimable_seats.sql",),
         "                         AND POSITION('\"' || h.workspace_id || '\"' IN CAST(g.billable_workspace_ids AS TEXT)) > 0",
         "                         AND STRPOS(TO_JSON_STRING(g.billable_workspace_ids), '\"' || h.workspace_id || '\"') > 0"),
        (("license_trend.sql",),
         "    SELECT GREATEST(MIN(ss.from_day), GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)) - (p.trend_days - 1)) AS first_day,",
         "    SELECT GREATEST(MIN(ss.from_day), DATE_SUB(GREATEST(MAX(ss.from_day), CAST(b.as_of AS DATE)), INTERVAL (p.trend_days - 1) DAY)) AS first_day,"),
        (("license_trend.sql",), "    SELECT sp.first_day + (h.n * 100 + t.n * 10 + u.n) AS day",
                                 "    SELECT DATE_ADD(sp.first_day, INTERVAL (h.n * 100 + t.n * 10 + u.n) DAY) AS day"),
        (("license_trend.sql",), "    WHERE h.n * 100 + t.n * 10 + u.n <= sp.last_day - sp.first_day",
                                 "    WHERE h.n * 100 + t.n * 10 + u.n <= DATE_DIFF(sp.last_day, sp.first_day, DAY)"),
        (("license_trend.sql",), "    WHERE CAST(a.last_active AS DATE) <= h.day AND CAST(a.last_active AS DATE) > h.day - p.active_days",
                                 "    WHERE CAST(a.last_active AS DATE) <= h.day AND CAST(a.last_active AS DATE) > DATE_SUB(h.day, INTERVAL p.active_days DAY)"),
    ],
}


def variant(path: Path, dialect: str) -> str:
    """The file's SQL with the dialect's line changes applied; ValueError when a line is missing."""
    if dialect not in VARIANTS:
        raise ValueError(f"unknown dialect {dialect!r}: {', '.join(VARIANTS)}")
    lines = path.read_text(encoding="utf-8").split("\n")
    for files, old, new in VARIANTS[dialect]:
        if path.name not in files:
            continue
        hits = [i for i, line in enumerate(lines) if line == old]
        if len(hits) != 1:
            raise ValueError(f"{path.name}: the line to change for {dialect} is {'not there' if not hits else 'there twice'}:\n{old}")
        lines[hits[0]] = new
    return "\n".join(lines).replace("-- Runs unchanged on DuckDB and PostgreSQL",
                                    f"-- The {dialect} variant (scripts/report_dialects.py) of a file that runs unchanged on DuckDB and PostgreSQL", 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialect", required=True, choices=sorted(VARIANTS))
    ap.add_argument("file", type=Path)
    args = ap.parse_args()
    try:
        sys.stdout.write(variant(args.file, args.dialect))
    except ValueError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
