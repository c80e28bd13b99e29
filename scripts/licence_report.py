#!/usr/bin/env python3
"""Render the licence report as one self-contained HTML page (no network at view time).

    python3 scripts/licence_report.py --records-dir output/records -o output/licence-report.html
    python3 scripts/licence_report.py --duckdb licenses.duckdb [--schema main] -o licence-report.html

Runs the report SQL in reports/ unchanged (license_utilization.sql, reclaimable_seats.sql,
license_trend.sql, seat_holders.sql, bill.sql: compiled from the dbt package's marts,
dbt/models/marts/) in DuckDB over either the demo's records (one JSON object a line per stream:
RECORDS_DIR/<stream>.jsonl) or a DuckDB file holding the stream tables (a PyAirbyte cache, a
DuckDB destination; opened read-only). The reference tables (seat_prices, user_tiers, contracts,
unseen_products, free_plans) come from the file when it has them, else from the dbt package's
seeds, dbt/seeds/atlassian_admin__<table>.csv (--prices / --tiers / --contracts; --prices none =
without prices, --contracts none = without a contract). Needs the `duckdb` Python package;
everything else is the standard library. The page: Atlassian's seat counts where they differ
from the report's, what each stream not synced leaves unknown; every seat holder in one
category and what to do with it; per paid site, bars of paid / billed / active / active through
the API / new / unseen / reclaimable seats, the money and tier figures when prices are present,
the bill (when a saving starts: the next cycle or the renewal), the trend when the history spans
more than one day; Atlassian Guard; the external holders, the seats to verify before removing,
and the reclaimable seats, sortable. See docs/license-report.md.

Also a module: scripts/summary.py and the tests take their figures from `report_rows`.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import credential_section  # the credential report's part of the page (docs/credential-report.md)

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
SCHEMAS = ROOT / "schemas"
STREAMS = ("users", "user_activity", "workspaces", "license_assignments", "groups", "audit_events", "domains",
           "api_tokens", "service_accounts", "seat_counts", "api_keys", "policies")
# Streams a report can do without: an empty table stands in (the key may not read groups, or
# the org has no Guard for the audit log; docs/license-report.md and docs/credential-report.md
# say what each stream not synced leaves unknown).
OPTIONAL_STREAMS = ("groups", "audit_events", "domains", "api_tokens", "service_accounts", "seat_counts", "api_keys",
                    "policies")
SEEDS = ROOT / "dbt" / "seeds"
DEFAULT_PRICES = SEEDS / "atlassian_admin__seat_prices.csv"
DEFAULT_TIERS = SEEDS / "atlassian_admin__user_tiers.csv"
DEFAULT_CONTRACTS = SEEDS / "atlassian_admin__contracts.csv"
DEFAULT_UNSEEN = SEEDS / "atlassian_admin__unseen_products.csv"
DEFAULT_FREE_PLANS = SEEDS / "atlassian_admin__free_plans.csv"
# The reference tables: name -> (columns, SQL types). Loaded beside the stream tables.
REFERENCE = {
    "seat_prices": (("product_type_key", "plan", "billing_cycle", "price_per_seat_month", "currency", "note"),
                    ("VARCHAR", "VARCHAR", "VARCHAR", "DECIMAL(12, 4)", "VARCHAR", "VARCHAR")),
    "user_tiers": (("product_type_key", "tier_users", "source"), ("VARCHAR", "INTEGER", "VARCHAR")),
    "contracts": (("product_type_key", "site_url", "billing_cycle", "cycle_start_day", "renewal_date", "note"),
                  ("VARCHAR", "VARCHAR", "VARCHAR", "INTEGER", "DATE", "VARCHAR")),
    "unseen_products": (("product_type_key", "reason"), ("VARCHAR", "VARCHAR")),
    "free_plans": (("product_type_key", "free_users", "source"), ("VARCHAR", "INTEGER", "VARCHAR")),
}
PARAMS = ("active_days", "inactive_days", "headroom_pct", "billing_cycle", "trend_days", "as_of", "unseen_in_savings")
PARAMS_LINE = re.compile(r"(__dbt__cte__int_atlassian_admin__params as \(\n(?:--[^\n]*\n)*SELECT )(.*)(\n\))")
PARAM = re.compile(r"('[^']*'|CAST\(NULL AS TIMESTAMP\)|\d+|TRUE|FALSE) AS (\w+)")


# ---------------------------------------------------------------------------------------------
# the SQL

def report_sql(name: str, **params) -> str:
    """reports/<name> with the given parameters set on its parameters line (values as SQL text for
    as_of, numbers for the day counts, plain text for billing_cycle, a boolean for
    unseen_in_savings)."""
    sql = (REPORTS / name).read_text(encoding="utf-8")
    match = PARAMS_LINE.search(sql)
    if not match:
        if all(v is None for v in params.values()):
            return sql  # a report without parameters (site_policies.sql)
        raise ValueError(f"{name}: no `__dbt__cte__int_atlassian_admin__params as (` CTE")
    found = dict((k, v) for v, k in PARAM.findall(match.group(2)))
    if tuple(found) != PARAMS:
        raise ValueError(f"{name}: the params line changed: {tuple(found)}")
    for key, value in params.items():
        if key not in found:
            raise KeyError(f"unknown report parameter {key!r}")
        if value is None:
            continue
        if key == "billing_cycle":
            value = "'" + str(value).replace("'", "''") + "'"
        elif key == "unseen_in_savings":
            value = "TRUE" if str(value).upper() in ("TRUE", "1") else "FALSE"
        elif key != "as_of":
            value = str(int(value))
        found[key] = value
    line = ", ".join(f"{v} AS {k}" for k, v in found.items())
    return sql[:match.start(2)] + line + sql[match.end(2):]


def plain(v):
    """Database values as JSON-friendly Python: Decimal -> float, datetimes -> ISO text."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def report_rows(con, name: str, **params) -> list[dict]:
    cur = con.execute(report_sql(name, **params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, map(plain, row))) for row in cur.fetchall()]


# ---------------------------------------------------------------------------------------------
# loading

def sql_type(prop: dict) -> str:
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    t = types[0] if types else "string"
    return {"integer": "BIGINT", "boolean": "BOOLEAN", "number": "DOUBLE", "array": "JSON", "object": "JSON"}.get(t, "VARCHAR")


def stream_columns(stream: str) -> dict[str, str]:
    schema = json.loads((SCHEMAS / f"{stream}.json").read_text(encoding="utf-8"))
    return {c: sql_type(p) for c, p in schema["properties"].items()}


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect_records(records_dir: Path):
    """An in-memory DuckDB with one table per stream from RECORDS_DIR/<stream>.jsonl (columns =
    the schema's top-level fields; a missing file gives an empty table)."""
    import duckdb

    con = duckdb.connect()
    for stream in STREAMS:
        columns = stream_columns(stream)
        path = records_dir / f"{stream}.jsonl"
        cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
        con.execute(f'CREATE TABLE "{stream}" ({cols})')
        if path.exists() and path.stat().st_size:
            spec = "{" + ", ".join(f"{quote(c)}: {quote(t)}" for c, t in columns.items()) + "}"
            con.execute(f'INSERT INTO "{stream}" SELECT * FROM read_json({quote(str(path))}, '
                        f"format = 'newline_delimited', columns = {spec})")
    return con


def connect_duckdb(path: Path, schema: str = "main"):
    """An in-memory DuckDB whose stream tables are views over a DuckDB file opened read-only."""
    import duckdb

    if not path.exists():
        raise SystemExit(f"{path}: no such DuckDB file")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # timestamptz columns cast to UTC times
    con.execute(f"ATTACH {quote(str(path))} AS src (READ_ONLY)")
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src' AND table_schema = ?", [schema]).fetchall()}
    missing = [s for s in STREAMS if s not in have and s not in OPTIONAL_STREAMS]
    if missing:
        raise SystemExit(f"{path}: schema {schema!r} has no table {', '.join(missing)} (tables: {', '.join(sorted(have)) or 'none'})")
    for name in [*STREAMS, *REFERENCE]:
        if name in have:
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM src."{schema}"."{name}"')
        elif name in OPTIONAL_STREAMS:
            cols = ", ".join(f'"{c}" {t}' for c, t in stream_columns(name).items())
            con.execute(f'CREATE TABLE "{name}" ({cols})')
    return con


def has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                            "AND table_name = ?", [name]).fetchone()[0])


def load_reference(con, name: str, path: Path | None) -> int:
    """Create table `name` (seat_prices or user_tiers) from a CSV with the template's header, or
    empty when `path` is None. Returns its rows. Kept as it is when the database already has it."""
    if has_table(con, name):
        return con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
    columns, types = REFERENCE[name]
    con.execute(f'CREATE TABLE "{name}" ({", ".join(f"{c} {t}" for c, t in zip(columns, types))})')
    rows = read_reference_csv(name, path) if path else []
    if rows:
        con.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(columns))})', rows)
    return len(rows)


def read_reference_csv(name: str, path: Path) -> list[tuple]:
    """The rows of a price or tier CSV, checked against the template's header; blank cells -> None."""
    columns, _ = REFERENCE[name]
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != columns:
            raise SystemExit(f"{path}: the header must be {','.join(columns)} (it is {','.join(reader.fieldnames or [])})")
        return [tuple((r[c].strip() or None) if r[c] is not None else None for c in columns)
                for r in reader if any((v or "").strip() for v in r.values())]


# ---------------------------------------------------------------------------------------------
# the page

def fmt_int(v) -> str:
    return "n/a" if v is None else f"{int(v):,}"


def fmt_money(v, currency) -> str:
    return "n/a" if v is None else f"{currency or ''} {v:,.2f}".strip()


def esc(v) -> str:
    return html.escape("" if v is None else str(v))


BAR_ROWS = (("seats_paid", "Paid", "#5b6b8c"), ("seats_billed", "Billed", "#2f7ed8"),
            ("active_30d", "Active", "#3aa655"), ("active_via_api", "Active through the API", "#1f9e89"),
            ("new_not_active", "New, not yet active", "#9b7fd1"), ("unseen", "Unseen: verify first", "#c9a227"),
            ("reclaimable", "Reclaimable", "#e8743b"))
# Every seat holder is in one category (docs/license-report.md): its key, its name on the page,
# the license_utilization column counting it, and what to do.
CATEGORIES = (
    ("active", "active", "active_90d", "Keep: used the site within {inactive} days."),
    ("active_via_api", "active through the API", "active_via_api",
     "Keep: no product activity, but one of their API tokens was used within {inactive} days (an integration user). "
     "Consider moving the integration to a service account, which takes no seat."),
    ("new", "new, not yet active", "new_not_active", "Wait: the seat or the account is younger than {inactive} days."),
    ("unseen", "unseen activity", "unseen",
     "Verify in the product before removing: its activity is not fully visible to the API (Bitbucket: git over the "
     "command line). Not counted as a saving{unseen_note}."),
    ("reclaimable", "reclaimable", "reclaimable", "Remove: billed, idle on the site and through the API for {inactive} days or never, "
     "not new. Saves from the site's next cycle (monthly) or at renewal if the tier drops (annual)."),
    ("not_billed", "not billed", "not_billed", "Tidy up: suspended or deactivated, Atlassian does not bill them; removing saves nothing."),
    ("service_account", "service accounts", "service_accounts", "Keep: service accounts take no seat and are never billed."),
)
# Streams the page does without, and what it cannot tell without each.
NOT_SYNCED = {
    "domains": "the domains stream is not synced: whether a holder is external is unknown (not guessed), and so are the "
               "Guard line's managed and external users.",
    "api_tokens": "the api_tokens stream is not synced: integration users (whose work goes through an API token) cannot be "
                  "told from idle holders, and may be on the reclaimable list.",
    "service_accounts": "the service_accounts stream is not synced: service accounts are told by their email "
                        "(@serviceaccount.atlassian.com) alone.",
    "seat_counts": "the seat_counts stream is not synced: the report's seat counts are not checked against Atlassian's.",
}


def bars_svg(site: dict, active_days: int, inactive_days: int) -> str:
    labels = {"active_30d": f"Active ({active_days} d)", "reclaimable": f"Reclaimable ({inactive_days} d idle)"}
    values = [site.get(k) for k, _, _ in BAR_ROWS]
    top = max([v for v in values if v] or [1])
    width, label_w, row_h = 560, 170, 26
    parts = [f'<svg class="site-chart" data-workspace-id="{esc(site["workspace_id"])}" role="img" '
             f'aria-label="seats of {esc(site["site_name"])}" width="{width}" height="{row_h * len(BAR_ROWS) + 8}" '
             f'viewBox="0 0 {width} {row_h * len(BAR_ROWS) + 8}">']
    for i, ((key, name, colour), v) in enumerate(zip(BAR_ROWS, values)):
        y = 4 + i * row_h
        w = 0 if not v else max(1.0, (width - label_w - 70) * v / top)
        parts.append(f'<text x="0" y="{y + 16}" class="bar-label">{esc(labels.get(key, name))}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}" rx="2">'
                     f'<title>{esc(labels.get(key, name))}: {fmt_int(v)}</title></rect>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" class="bar-value" data-field="{key}">{fmt_int(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(site: dict, points: list[dict]) -> str:
    width, height, left, bottom = 560, 170, 44, 24
    top_v = max([p["seats_assigned"] for p in points] + [site.get("seats_paid") or 0, 1])
    n = len(points)

    def xy(i, v):
        x = left + (width - left - 10) * (i / (n - 1 if n > 1 else 1))
        y = 8 + (height - bottom - 8) * (1 - v / top_v)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg class="trend-chart" data-workspace-id="{esc(site["workspace_id"])}" role="img" '
             f'aria-label="trend of {esc(site["site_name"])}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" class="axis"/>',
             f'<text x="{left - 4}" y="14" class="tick" text-anchor="end">{fmt_int(top_v)}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" class="tick" text-anchor="end">0</text>',
             f'<text x="{left}" y="{height - 6}" class="tick">{esc(points[0]["day"])}</text>',
             f'<text x="{width - 10}" y="{height - 6}" class="tick" text-anchor="end">{esc(points[-1]["day"])}</text>']
    if site.get("seats_paid"):
        y = xy(0, site["seats_paid"]).split(",")[1]
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" class="paid-line"><title>paid now: '
                     f'{fmt_int(site["seats_paid"])}</title></line>')
    for key, colour in (("seats_assigned", "#2f7ed8"), ("seats_active", "#3aa655")):
        pts = " ".join(xy(i, p[key]) for i, p in enumerate(points))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, p in enumerate(points):
            parts.append(f'<circle cx="{xy(i, p[key]).split(",")[0]}" cy="{xy(i, p[key]).split(",")[1]}" r="2.5" fill="{colour}">'
                         f'<title>{esc(p["day"])}: {fmt_int(p[key])} {"assigned" if key == "seats_assigned" else "active"}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1d2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 6px}
.meta{color:#5c6677}.note{background:#fff6e0;border:1px solid #f0d38a;padding:8px 12px;border-radius:6px;margin:12px 0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid #d9dee7;border-radius:8px;padding:10px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#5c6677;font-size:12px}
.sites{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
.site{border:1px solid #d9dee7;border-radius:8px;padding:12px 14px}.site .sub{color:#5c6677;font-size:12px;margin-bottom:6px}
.figs{border-collapse:collapse;margin-top:6px}.figs td{padding:1px 10px 1px 0}.figs td:first-child{color:#5c6677}
.bar-label,.bar-value,.tick{font-size:12px;fill:#1d2430}.axis{stroke:#9aa3b2}.paid-line{stroke:#5b6b8c;stroke-dasharray:4 3}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
table.list{border-collapse:collapse;width:100%;font-size:12.5px}table.list th,table.list td{border-bottom:1px solid #e5e8ee;padding:4px 6px;text-align:left;overflow-wrap:anywhere}
table.list th{cursor:pointer;background:#f4f6f9;position:sticky;top:0;user-select:none}table.list td.n,table.list th.n{text-align:right}
table.list th[aria-sort=ascending]::after{content:" \\25B2"}table.list th[aria-sort=descending]::after{content:" \\25BC"}
.warn{background:#fde8e4;border:1px solid #e8a090;padding:8px 12px;border-radius:6px;margin:12px 0}
.bill{border-top:1px dashed #d9dee7;margin-top:8px;padding-top:6px}
"""

SORT_JS = """
Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(table){
  var heads=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads,function(th,col){
    th.addEventListener('click',function(){
      var asc=th.getAttribute('aria-sort')!=='ascending';
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var num=th.classList.contains('n');
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v');
        if(num){x=x===''?-Infinity:parseFloat(x);y=y===''?-Infinity:parseFloat(y);return asc?x-y:y-x;}
        return asc?x.localeCompare(y):y.localeCompare(x);
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""


def list_table(table_id: str, heads: list[tuple[str, str]], rows: list[list[tuple]]) -> str:
    """A sortable table: heads [(title, 'n' for numbers or '')], rows of cells (sort value, text)."""
    out = [f"<table class='list sortable' id='{table_id}'><thead><tr>"
           + "".join(f"<th class='{c}'>{esc(h)}</th>" for h, c in heads) + "</tr></thead><tbody>"]
    for cells in rows:
        out.append("<tr>" + "".join(f"<td data-v=\"{esc(v)}\"{' class=n' if heads[i][1] else ''}>{esc(t)}</td>"
                                    for i, (v, t) in enumerate(cells)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def bill_figures(b: dict | None) -> list[tuple[str, str, str]]:
    """(key, label, text) of a paid site's bill: when a saving starts and what the bill is."""
    if not b:
        return []
    c = b["currency"]
    money = lambda v: "n/a" if v is None else fmt_money(v, c)  # noqa: E731
    figs = []
    if b["contract_match"] is None:
        figs.append(("billing_cycle", "billing cycle", f"{b['billing_cycle'] or 'unknown'} (no contract row: when a saving starts is unknown)"))
    else:
        figs.append(("billing_cycle", "billing cycle", f"{b['billing_cycle']} (the contract's {b['contract_match']} row)"))
    if b["billing_cycle"] == "monthly":
        if b["cycle_start"]:
            peak = ("unknown (the seat history begins after this cycle)" if b["peak_billed_this_cycle"] is None
                    else f"{fmt_int(b['peak_billed_this_cycle'])} billed users (counted from {str(b['peak_since'])[:10]})")
            figs.append(("peak_billed_this_cycle", f"this cycle, from {b['cycle_start']}: billed on its peak", peak))
        figs += [("billed_after_reclaim", "billed after the reclaim", fmt_int(b["billed_after_reclaim"])),
                 ("saves_from", "a seat removed now saves from", b["saves_from"] or "unknown (no cycle start day)")]
        if b["price_per_seat_month"] is not None:
            figs += [("bill_month", "this cycle's bill (its peak)", money(b["bill_month"])),
                     ("saving_month", "saved a month from then", money(b["saving_month"]))]
    elif b["billing_cycle"] == "annual":
        figs += [("renewal_date", "renewal (a saving needs the tier to drop then)", b["renewal_date"] or "unknown"),
                 ("tier_at_renewal", "the right tier at renewal", fmt_int(b["tier_at_renewal"]) if b["tier_at_renewal"] is not None
                  else "no tier in user_tiers"),
                 ("seats_to_free_for_lower_tier", f"billed users to go for the tier below the one paid for ({fmt_int(b['lower_tier'])})",
                  fmt_int(b["seats_to_free_for_lower_tier"]))]
        if b["price_per_seat_month"] is not None:
            figs.append(("saving_month", "saved a month from the renewal", money(b["saving_month"])))
    if b["could_be_free"]:
        figs.append(("could_be_free", "could be free",
                     f"yes: {fmt_int(b['seats_needed'])} seats needed fit the Free plan's {fmt_int(b['free_plan_users'])}"))
    return figs


def render_html(sites: list[dict], reclaim: list[dict], trend: list[dict], *, source: str, prices: int,
                example_prices: bool, active_days: int, inactive_days: int, headroom_pct: int, billing_cycle: str,
                bill: list[dict] = (), holders: list[dict] = (), not_synced: tuple[str, ...] = (), example_contracts: bool = False,
                unseen_in_savings: bool = False, as_of_given: bool = False) -> str:
    total = next((r for r in sites if r["row_type"] == "total"), {})
    site_rows = [r for r in sites if r["row_type"] == "site"]
    paid = [r for r in site_rows if r["paid_site"]]
    unpaid = [r for r in site_rows if not r["paid_site"]]
    as_of = total.get("as_of") or (site_rows[0]["as_of"] if site_rows else None)
    priced = total.get("pricing") in ("priced", "partly priced")
    cur = total.get("currency")
    bills = {b["workspace_id"]: b for b in bill if b["row_type"] == "site"}
    guard = next((b for b in bill if b["row_type"] == "guard"), None)
    by_site: dict[str, list[dict]] = {}
    for p in trend:
        by_site.setdefault(p["workspace_id"], []).append(p)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<link rel="icon" href="data:,">', "<title>Atlassian licences: paid vs needed</title>",
           f"<style>{CSS}</style></head><body>",
           "<h1>Atlassian licences: paid vs needed</h1>",
           f'<div class="meta">as of <b id="as-of">{esc(as_of)}</b> ({"the as_of parameter" if as_of_given else "the newest activity in the data"}) '
           f'&middot; from {esc(source)} '
           f"&middot; active = used the site within {active_days} days; reclaimable = billed, not used for {inactive_days} days or never "
           f"(on the site or through an API token), a seat and account older than {inactive_days} days, on a product whose activity the API sees "
           f"&middot; right tier = the holders kept + {headroom_pct} %</div>"]
    # Atlassian's own count first: a site whose seats the report miscounts is not one to act on.
    differing = [s for s in site_rows if s.get("counts_agree") is False]
    if differing:
        out.append('<div class="warn" id="count-warnings"><b>Seat counts differ from Atlassian\'s</b> — re-sync before acting on '
                   "these sites (a missed page, a key that sees some directories only, a mis-joined site, or seats changed between "
                   "the two reads):<ul>"
                   + "".join(f"<li data-workspace-id=\"{esc(s['workspace_id'])}\">{esc(s['site_name'])} ({esc(s['product'])}, "
                             f"{esc(s['site_url'])}): Atlassian counts {fmt_int(s['atlassian_seat_count'])} seats over the billable roles, "
                             f"the report {fmt_int(s['report_seat_count'])}</li>" for s in differing)
                   + "</ul></div>")
    for stream in not_synced:
        out.append(f'<div class="note not-synced" data-stream="{esc(stream)}">Not synced: {esc(NOT_SYNCED[stream])}</div>')
    if not prices:
        out.append('<div class="note" id="pricing-note">No prices: the seat_prices table is empty, so the report shows '
                   "seats only. Fill in dbt/seeds/atlassian_admin__seat_prices.csv (product, plan, billing cycle, price per seat per month, "
                   "currency) for the money figures.</div>")
    elif not priced:
        out.append(f'<div class="note" id="pricing-note">seat_prices has no {esc(billing_cycle)} price for any paid site: '
                   "money figures are empty.</div>")
    elif example_prices:
        out.append('<div class="note" id="pricing-note">The prices are the EXAMPLE placeholders of dbt/seeds/atlassian_admin__seat_prices.csv, '
                   "not your contract: replace them before acting on the money figures.</div>")
    if example_contracts:
        out.append('<div class="note" id="contract-note">The billing cycles and renewal dates are the EXAMPLE placeholders of '
                   "dbt/seeds/atlassian_admin__contracts.csv: put your contract's in before trusting when a saving starts.</div>")
    if total.get("pricing") == "partly priced":
        out.append('<div class="note">Some paid sites have no price: the money totals leave them out.</div>')
    if total.get("pricing") == "mixed currencies":
        out.append('<div class="note">The prices use more than one currency: no money totals.</div>')

    cards = [("seats_paid", "seats paid", fmt_int), ("seats_billed", "seats billed", fmt_int),
             ("active_30d", f"active ({active_days} d)", fmt_int), ("reclaimable", "reclaimable", fmt_int),
             ("active_via_api", "active through the API", fmt_int), ("unseen", "unseen: verify first", fmt_int),
             ("new_not_active", "new, not yet active", fmt_int), ("not_billed", "not billed (suspended, deactivated)", fmt_int),
             ("service_accounts", "service accounts (not billed)", fmt_int), ("external_holders", "external holders", fmt_int),
             ("tier_saving_seats", "seats above the right tiers", fmt_int)]
    if priced:
        money = lambda v: fmt_money(v, cur)  # noqa: E731
        cards += [("cost_paid_month", "paid / month", money), ("cost_billed_month", "billed / month", money),
                  ("cost_reclaimable_month", "reclaimable / month", money), ("tier_saving_month", "saved at the right tiers / month", money)]
    out.append(f'<h2>Paid sites: {len(paid)}</h2><div class="cards" id="totals">')
    for key, label, f in cards:
        out.append(f'<div class="card"><div class="v total" data-field="{key}">{esc(f(total.get(key)))}</div>'
                   f'<div class="k">{esc(label)}</div></div>')
    out.append("</div>")

    # Every seat holder in one category, and what to do with it.
    note = "" if not unseen_in_savings else " — here it is (unseen_in_savings): they are listed to reclaim, each saying so"
    out.append("<h2>Every seat holder in one category (paid sites)</h2><table class='list' id='categories'><thead><tr>"
               "<th>category</th><th class='n'>holders</th><th>what to do</th></tr></thead><tbody>")
    for key, label, column, todo in CATEGORIES:
        out.append(f"<tr data-category='{key}'><td>{esc(label)}</td><td class='n' data-field='{column}'>{fmt_int(total.get(column))}</td>"
                   f"<td>{esc(todo.format(inactive=inactive_days, unseen_note=note))}</td></tr>")
    out.append("</tbody></table>")

    out.append('<div class="legend">' + "".join(f'<span><i style="background:{c}"></i>{esc(n)}</span>' for _, n, c in BAR_ROWS)
               + '<span><i style="background:#3aa655"></i>trend: active</span><span><i style="background:#2f7ed8"></i>trend: assigned</span></div>')

    out.append('<div class="sites">')
    for s in paid:
        out.append(f'<section class="site" data-workspace-id="{esc(s["workspace_id"])}"><h3>{esc(s["site_name"])}</h3>'
                   f'<div class="sub">{esc(s["product"])} &middot; {esc(s["plan"])} &middot; {esc(s["site_url"])}</div>')
        out.append(bars_svg(s, active_days, inactive_days))
        agree = s.get("counts_agree")
        counted = ("not synced" if agree is None else
                   f"{fmt_int(s['atlassian_seat_count'])} — " + ("agrees" if agree else f"the report has {fmt_int(s['report_seat_count'])}: DIFFERS"))
        figs = [("utilization (billed / paid)", "n/a" if s["utilization"] is None else f"{100 * s['utilization']:.1f} %"),
                ("never active (of the reclaimable)", fmt_int(s["never_active"])),
                ("new, not yet active", fmt_int(s["new_not_active"])),
                ("not billed — removing them saves nothing", fmt_int(s["not_billed"])),
                ("service accounts — take no seat", fmt_int(s["service_accounts"])),
                ("external holders", "unknown (domains not synced)" if s["external_holders"] is None else fmt_int(s["external_holders"])),
                ("Atlassian's seat count (roles summed)", counted),
                ("seats needed", fmt_int(s["seats_needed"])),
                ("right tier", fmt_int(s["right_tier"]) if s["right_tier"] is not None else "no tier in user_tiers"),
                ("seats above it", fmt_int(s["tier_saving_seats"]))]
        if s["pricing"] == "priced":
            c = s["currency"]
            figs += [("price per seat / month", fmt_money(s["price_per_seat_month"], c)),
                     ("paid / month", fmt_money(s["cost_paid_month"], c)),
                     ("billed / month", fmt_money(s["cost_billed_month"], c)),
                     ("reclaimable / month", fmt_money(s["cost_reclaimable_month"], c)),
                     ("saved at the right tier / month", fmt_money(s["tier_saving_month"], c))]
        elif prices:
            figs.append(("price", f"no price for {s['product']} / {s['plan']} and the site's billing cycle"))
        out.append('<table class="figs">' + "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in figs) + "</table>")
        out.append('<table class="figs bill">' + "".join(f"<tr><td>{esc(label)}</td><td data-field='{key}'>{esc(v)}</td></tr>"
                                                        for key, label, v in bill_figures(bills.get(s["workspace_id"]))) + "</table>")
        points = by_site.get(s["workspace_id"], [])
        if len(points) > 1:
            out.append(f"<h3 style='margin-top:10px'>Trend: {esc(points[0]['day'])} to {esc(points[-1]['day'])}</h3>")
            out.append(trend_svg(s, points))
        out.append("</section>")
    out.append("</div>")
    if len({p["day"] for p in trend}) <= 1:
        out.append('<p class="meta" id="no-trend">No trend yet: the seat history covers one day. Sync license_assignments '
                   "incrementally in append mode on more days for a per-day series.</p>")

    if guard:
        gc = guard["currency"]
        split = ("managed and external unknown (domains not synced)" if guard["external_users"] is None
                 else f"{fmt_int(guard['managed_users'])} managed, {fmt_int(guard['external_users'])} external")
        cost = (f" &times; {esc(fmt_money(guard['price_per_seat_month'], gc))} = <b data-field='bill_month'>{esc(fmt_money(guard['bill_month'], gc))}</b> a month"
                if guard["price_per_seat_month"] is not None else " (no guard row in seat_prices: not priced)")
        out.append(f"<h2>Atlassian Guard</h2><p id='guard'>Billed once per organization for each unique user with product access: "
                   f"<b data-field='seats_billed'>{fmt_int(guard['seats_billed'])}</b> users ({esc(split)}; service accounts and "
                   f"suspended or deactivated users excluded){cost}.</p>")

    if unpaid:
        # What each column counts: holders of a seat, then of those the billed ones (the active and
        # reclaimable counts are of billed holders, as on the paid sites).
        cols = (("seats_assigned", "holders (billable role)"), ("seats_billed", "billed"),
                ("not_billed", "not billed"), ("active_30d", f"billed, active ({active_days} d)"),
                ("new_not_active", "billed, new"), ("reclaimable", f"billed, idle {inactive_days} d"))
        out.append("<h2>Other sites (not paid: a Free plan or no plan)</h2><table class='list' id='unpaid'><thead><tr>"
                   "<th>site</th><th>product</th><th>plan</th>"
                   + "".join(f"<th class='n'>{esc(h)}</th>" for _, h in cols) + "</tr></thead><tbody>")
        for s in unpaid:
            out.append(f"<tr data-workspace-id=\"{esc(s['workspace_id'])}\"><td>{esc(s['site_name'])}</td><td>{esc(s['product'])}</td>"
                       f"<td>{esc(s['plan'])}</td>"
                       + "".join(f"<td class='n' data-field='{k}'>{fmt_int(s[k])}</td>" for k, _ in cols) + "</tr>")
        out.append("</tbody></table>")

    externals = [h for h in holders if h["paid_site"] and h["billed"] and h["external"]]
    out.append(f"<h2>External holders of paid seats: <span id='externals-count'>{len(externals):,}</span></h2>"
               "<p class='meta'>Their email domain is not a verified domain of the organization (Atlassian's \"Domains with access to "
               "your apps\"): not managed by you, and counted in Atlassian Guard.</p>")
    if "domains" in not_synced:
        out.append("<p class='meta'>Unknown: the domains stream is not synced.</p>")
    out.append(list_table("externals", [("product", ""), ("site", ""), ("name", ""), ("email", ""), ("category", "")],
                          [[(h["product"],) * 2, (h["site_url"],) * 2, (h["name"],) * 2, (h["email"],) * 2, (h["category"],) * 2]
                           for h in externals]))

    unseen = [h for h in holders if h["paid_site"] and h["category"] == "unseen"]
    out.append(f"<h2>Verify before removing (unseen activity): <span id='unseen-count'>{len(unseen):,}</span></h2>"
               "<p class='meta'>Idle to the API on a product whose activity it cannot fully see (Bitbucket counts product pages, "
               "not git over the command line): check in the product before removing.</p>")
    out.append(list_table("unseen", [("product", ""), ("site", ""), ("name", ""), ("email", ""), ("last active on site", "")],
                          [[(h["product"],) * 2, (h["site_url"],) * 2, (h["name"],) * 2, (h["email"],) * 2,
                            (h["last_active_on_site"] or "", h["last_active_on_site"] or "never")] for h in unseen]))

    out.append(f"<h2>Reclaimable seats: <span id='reclaimable-count'>{len(reclaim):,}</span></h2>"
               "<p class='meta'>Click a column to sort. Never-active holders have no last activity. A seat removed now saves from its "
               "site's next cycle (monthly plans: billed on the cycle's peak) or, if the tier drops, at renewal (annual plans).</p>")
    heads = [("product", ""), ("site", ""), ("name", ""), ("email", ""), ("status", ""), ("category", ""), ("roles", ""),
             ("remove from", ""), ("last active on site", ""), ("days idle", "n"), ("paid site", ""), ("cost / month", "n"),
             ("saves from", "")]
    out.append(list_table("reclaimable", heads, [
        [(r["product"],) * 2, (r["site_url"],) * 2, (r["name"],) * 2, (r["email"],) * 2, (r["user_status"],) * 2,
         (r["category"],) * 2, (r["roles"],) * 2,
         (r["remove_from"] or "", r["remove_from"] or "unknown (groups not synced)"),
         (r["last_active_on_site"] or "", r["last_active_on_site"] or "never"),
         ("" if r["days_since_active"] is None else r["days_since_active"],) * 2,
         ("yes" if r["paid_site"] else "no",) * 2,
         ("" if r["cost_month"] is None else r["cost_month"], fmt_money(r["cost_month"], r["currency"]) if r["cost_month"] is not None else ""),
         (r["saves_from"] or "", r["saves_from"] or ("unknown" if r["paid_site"] else ""))]
        for r in reclaim]))
    out.append(f"<script>{SORT_JS}</script></body></html>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------

def build(con, *, source: str, prices: Path | None, tiers: Path, params: dict,
          contracts: Path | None = DEFAULT_CONTRACTS) -> tuple[str, list[dict]]:
    """Load the reference tables, run the reports, render. Returns (html, license_utilization rows)."""
    n_prices = load_reference(con, "seat_prices", prices)
    load_reference(con, "user_tiers", tiers)
    load_reference(con, "contracts", contracts)
    load_reference(con, "unseen_products", DEFAULT_UNSEEN)
    load_reference(con, "free_plans", DEFAULT_FREE_PLANS)
    example = bool(con.execute("SELECT COUNT(*) FROM seat_prices WHERE UPPER(COALESCE(note, '')) LIKE '%EXAMPLE%'").fetchone()[0])
    example_contracts = bool(con.execute("SELECT COUNT(*) FROM contracts WHERE UPPER(COALESCE(note, '')) LIKE '%EXAMPLE%'").fetchone()[0])
    not_synced = tuple(s for s in NOT_SYNCED if not con.execute(f'SELECT COUNT(*) FROM "{s}"').fetchone()[0])
    sites = report_rows(con, "license_utilization.sql", **params)
    reclaim = report_rows(con, "reclaimable_seats.sql", **params)
    trend = report_rows(con, "license_trend.sql", **params)
    bill = report_rows(con, "bill.sql", **params)
    holders = report_rows(con, "seat_holders.sql", **params)
    p = {**{"active_days": 30, "inactive_days": 90, "headroom_pct": 10, "billing_cycle": "monthly", "unseen_in_savings": False},
         **{k: v for k, v in params.items() if v is not None}}
    page = render_html(sites, reclaim, trend, source=source, prices=n_prices, example_prices=example,
                       active_days=p["active_days"], inactive_days=p["inactive_days"], headroom_pct=p["headroom_pct"],
                       billing_cycle=p["billing_cycle"], bill=bill, holders=holders, not_synced=not_synced,
                       example_contracts=example_contracts, unseen_in_savings=bool(p["unseen_in_savings"]),
                       as_of_given=params.get("as_of") is not None)
    return page, sites


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--records-dir", type=Path, help="RECORDS_DIR/<stream>.jsonl, as the demo writes them")
    src.add_argument("--duckdb", type=Path, help="a DuckDB file with the stream tables (opened read-only)")
    ap.add_argument("--schema", default="main", help="the DuckDB file's schema holding the tables (default main)")
    ap.add_argument("-o", "--output", type=Path, required=True, help="the HTML file to write")
    ap.add_argument("--prices", default=str(DEFAULT_PRICES), help="seat price CSV (default dbt/seeds/atlassian_admin__seat_prices.csv; 'none' = no prices)")
    ap.add_argument("--tiers", default=str(DEFAULT_TIERS), help="user tier CSV (default dbt/seeds/atlassian_admin__user_tiers.csv)")
    ap.add_argument("--contracts", default=str(DEFAULT_CONTRACTS),
                    help="billing contract CSV (default dbt/seeds/atlassian_admin__contracts.csv, EXAMPLE rows; 'none' = no contract)")
    for name in ("active_days", "inactive_days", "headroom_pct", "trend_days"):
        ap.add_argument("--" + name.replace("_", "-"), type=int)
    ap.add_argument("--billing-cycle")
    ap.add_argument("--unseen-in-savings", action="store_true",
                    help="count the seats of products whose activity the API cannot see (Bitbucket) as savings, and list them")
    args = ap.parse_args()
    try:
        import duckdb  # noqa: F401
    except ImportError:
        print("licence_report.py needs the duckdb package: pip install duckdb", file=sys.stderr)
        return 2
    if args.records_dir:
        con, source = connect_records(args.records_dir), f"the records in {args.records_dir}"
    else:
        con, source = connect_duckdb(args.duckdb, args.schema), f"{args.duckdb}"
    params = {k: getattr(args, k) for k in ("active_days", "inactive_days", "headroom_pct", "trend_days", "billing_cycle")}
    params["unseen_in_savings"] = args.unseen_in_savings or None
    prices = None if args.prices.lower() == "none" else Path(args.prices)
    contracts = None if args.contracts.lower() == "none" else Path(args.contracts)
    page, sites = build(con, source=source, prices=prices, tiers=Path(args.tiers), params=params, contracts=contracts)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    page = credential_section.add_to_page(page, con, params)
    args.output.write_text(page, encoding="utf-8")
    total = next(r for r in sites if r["row_type"] == "total")
    print(f"{args.output}: {sum(1 for r in sites if r['row_type'] == 'site' and r['paid_site'])} paid sites, "
          f"{fmt_int(total['seats_paid'])} seats paid, {fmt_int(total['reclaimable'])} reclaimable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
