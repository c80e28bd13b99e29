#!/usr/bin/env python3
"""Summarise a read: records per stream, and per site seats paid vs assigned vs active.

    python3 scripts/summary.py output/messages.jsonl [--records-dir output/records]
                               [--sandbox-url http://127.0.0.1:PORT] [--read-seconds 1.23]
                               [--prices dbt/seeds/atlassian_admin__seat_prices.csv | --prices none]

Reads the Airbyte messages a `read` printed (one JSON object per line), writes the records of
each stream as plain JSON lines to RECORDS_DIR/<stream>.jsonl (when --records-dir is given), and
prints a summary a person reads at a glance.

The per-site figures and the totals are the rows of reports/license_utilization.sql, run in
DuckDB by scripts/licence_report.py over those records: the same SQL, and so the same
definition of a paid site, as the report and the HTML page (docs/license-report.md). They need
the `duckdb` Python package (scripts/demo.sh installs it in .venv-demo/); without it the
summary prints the records per stream and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import licence_report
import credential_section  # the credential report's lines (scripts/credential_section.py)

STREAMS = licence_report.STREAMS


def load(messages_path: Path):
    records = defaultdict(list)
    errors = []
    for n, line in enumerate(messages_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            sys.exit(f"{messages_path}:{n}: not JSON")
        if msg.get("type") == "RECORD":
            rec = msg["record"]
            records[rec["stream"]].append(rec["data"])
        elif msg.get("type") == "TRACE" and msg["trace"].get("type") == "ERROR":
            errors.append(msg["trace"]["error"].get("message", ""))
    return records, errors


def records_connection(records: dict, records_dir: Path | None):
    """One in-memory DuckDB of the read's records for the reports below (licence and credential):
    from RECORDS_DIR, else from the records written to a temporary one. None without the duckdb
    Python package."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return None
    if records_dir is not None:
        return licence_report.connect_records(records_dir)
    with tempfile.TemporaryDirectory() as tmp:
        for stream in STREAMS:
            with open(Path(tmp) / f"{stream}.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(d) + "\n" for d in records.get(stream, []))
        return licence_report.connect_records(Path(tmp))  # loaded: the files may go


def seat_summary(con, records: dict, prices: str) -> None:
    """Per site and in total, the rows of reports/license_utilization.sql over the read's records
    (RECORDS by stream; CON, their tables)."""
    n_prices = licence_report.load_reference(con, "seat_prices", None if prices.lower() == "none" else Path(prices))
    licence_report.load_reference(con, "user_tiers", licence_report.DEFAULT_TIERS)
    licence_report.load_reference(con, "contracts", licence_report.DEFAULT_CONTRACTS)
    licence_report.load_reference(con, "unseen_products", licence_report.DEFAULT_UNSEEN)
    licence_report.load_reference(con, "free_plans", licence_report.DEFAULT_FREE_PLANS)
    example = n_prices and con.execute("SELECT COUNT(*) FROM seat_prices WHERE UPPER(note) LIKE '%EXAMPLE%'").fetchone()[0]
    not_synced = [s for s in licence_report.NOT_SYNCED if not con.execute(f'SELECT COUNT(*) FROM "{s}"').fetchone()[0]]
    rows = licence_report.report_rows(con, "license_utilization.sql")
    bill = licence_report.report_rows(con, "bill.sql")
    sites = [r for r in rows if r["row_type"] == "site"]
    total = next(r for r in rows if r["row_type"] == "total")
    as_of = f" (as of {total['as_of'][:10]}, the newest activity)" if total["as_of"] else ""
    print(f"Seats per site{as_of}: reports/license_utilization.sql")
    cur = total["currency"] or ""
    body = [[r["site_name"] or r["workspace_id"], r["product"] or "", r["plan"] or "", "yes" if r["paid_site"] else "no",
             fmt(r["seats_paid"]) if r["paid_site"] else "-", fmt(r["seats_billed"]), fmt(r["not_billed"]), fmt(r["active_30d"]),
             fmt(r["new_not_active"]), fmt(r["reclaimable"]), fmt(r["right_tier"]) if r["paid_site"] else "", money(r["cost_reclaimable_month"])]
            for r in sorted(sites, key=lambda r: (not r["paid_site"], -(r["capacity"] or 0), r["site_name"] or ""))]
    print(table(["site", "product", "plan", "paid site", "seats paid", "billed", "not billed", "active 30 d", "new",
                 "reclaimable", "right tier", f"reclaimable/month {cur}".strip()], body, "<<<<>>>>>>>>"))
    n_paid = sum(1 for r in sites if r["paid_site"])
    print(f"    paid sites ({n_paid}): {fmt(total['seats_paid'])} seats paid, {fmt(total['seats_billed'])} billed, "
          f"{fmt(total['active_30d'])} active in the last 30 days, {fmt(total['reclaimable'])} reclaimable "
          f"(not used for 90 days, or never); {fmt(total['tier_saving_seats'])} seats above the right tiers (products with a tier list)")
    print("    every seat holder in one category: " + "; ".join(f"{fmt(total[column])} {label}"
                                                           for _, label, column, _ in licence_report.CATEGORIES))
    print(f"    not reclaimable: {fmt(total['active_via_api'])} active through the API (integration users: keep; consider a service "
          f"account); {fmt(total['new_not_active'])} new, not yet active (seat or account younger than 90 days); "
          f"{fmt(total['unseen'])} unseen (Bitbucket: verify in the product first); {fmt(total['not_billed'])} not billed "
          f"(suspended or deactivated: removing them saves nothing); {fmt(total['service_accounts'])} service accounts (never billed)")
    if total["pricing"] in ("priced", "partly priced"):
        which = "the EXAMPLE prices of dbt/seeds/atlassian_admin__seat_prices.csv: replace them" if example else "seat_prices"
        print(f"    a month ({which}): {cur} {money(total['cost_paid_month'])} paid, {cur} {money(total['cost_billed_month'])} billed, "
              f"{cur} {money(total['cost_reclaimable_month'])} reclaimable; {cur} {money(total['tier_saving_month'])} less at the right tiers")
    else:
        print(f"    money: {total['pricing']} (fill in dbt/seeds/atlassian_admin__seat_prices.csv for the cost figures)")
    print("    when a saving shows on the bill (the contract's cycle: dbt/seeds/atlassian_admin__contracts.csv, EXAMPLE rows):")
    for b in bill:
        if b["row_type"] != "site":
            continue
        name = f"{b['site_name']} ({b['product']})"
        if b["billing_cycle"] == "monthly":
            peak = ("its peak, unknown (the seat history begins after it)" if b["peak_billed_this_cycle"] is None
                    else f"its peak, {fmt(b['peak_billed_this_cycle'])} users")
            saving = ("nothing to reclaim" if not b["seats_to_reclaim"] else
                      f"{fmt(b['seats_to_reclaim'])} seats removed now save {cur} {money(b['saving_month']) or 'n/a'} a month from "
                      f"{b['saves_from'] or 'an unknown day (no cycle start day)'} ({fmt(b['billed_after_reclaim'])} billed then)")
            print(f"      {name}: monthly; this cycle (from {b['cycle_start'] or 'unknown'}) is billed on {peak}; {saving}")
        elif b["tier_at_renewal"] is None:
            print(f"      {name}: {b['billing_cycle']}; renews {b['renewal_date'] or 'unknown'}: no tier in user_tiers for it, so "
                  f"what its renewal saves is unknown ({fmt(b['seats_to_reclaim'])} seats reclaimable)")
        else:
            print(f"      {name}: {b['billing_cycle']}; renews {b['renewal_date'] or 'unknown'}: the right tier then "
                  f"{fmt(b['tier_at_renewal'])}, {fmt(b['seats_to_free_for_lower_tier'])} billed users to go for the tier below the one paid for "
                  f"({fmt(b['lower_tier'])}); {cur} {money(b['saving_month']) or 'n/a'} a month less from the renewal")
        if b["could_be_free"]:
            print(f"      {name}: could be free: {fmt(b['seats_needed'])} seats needed fit the Free plan's {fmt(b['free_plan_users'])}")
    guard = next((b for b in bill if b["row_type"] == "guard"), None)
    if guard:
        split = "managed/external unknown" if guard["external_users"] is None else \
            f"{fmt(guard['managed_users'])} managed, {fmt(guard['external_users'])} external"
        cost = f": {guard['currency']} {money(guard['bill_month'])} a month" if guard["bill_month"] is not None else ""
        print(f"    Atlassian Guard: {fmt(guard['seats_billed'])} unique users with product access ({split}){cost}")
    externals = "unknown (domains not synced)" if total["external_holders"] is None else fmt(total["external_holders"])
    print(f"    external holders of paid seats (email domain not verified by the org): {externals}")
    differing = [r for r in sites if r["counts_agree"] is False]
    if total["counts_agree"] is None:
        print("    seat counts: not checked against Atlassian's (seat_counts not synced)")
    elif not differing:
        print(f"    seat counts: every site equals Atlassian's own count ({fmt(total['atlassian_seat_count'])} over the billable roles)")
    for r in differing:
        print(f"    WARNING: {r['site_name']} ({r['product']}): Atlassian counts {fmt(r['atlassian_seat_count'])} seats, the report "
              f"{fmt(r['report_seat_count'])}: re-sync before acting on this site")
    for stream in not_synced:
        print(f"    not synced: {licence_report.NOT_SYNCED[stream]}")
    listed = {r["workspace_id"] for r in sites}
    left_out = [f"'{w.get('name')}' ({'a sandbox copy' if w.get('sandbox_type') == 'CHILD' else w.get('status')})"
                for w in records.get("workspaces", []) if w.get("id") not in listed]
    if left_out:
        print(f"    not in the report, holding no seats: {', '.join(left_out)}")
    print("    paid site = online or deprecated, not a sandbox copy, on a plan that is not Free (docs/license-report.md)")
    unmatched = {a.get("account_id") for a in records.get("user_activity", []) if a.get("workspace_id") is None}
    if unmatched:
        print(f"    {len(unmatched):,} users active on product instances with no matching workspace")


def money(v) -> str:
    return "" if v is None else f"{v:,.2f}"


def fmt(n):
    return "n/a" if n is None else f"{n:,}"


def table(headers, rows, align):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    def line(cells):
        return "  ".join(c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(cells, widths, align)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join("    " + l for l in out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("messages", type=Path)
    ap.add_argument("--records-dir", type=Path)
    ap.add_argument("--sandbox-url", help="print the requests the sandbox served")
    ap.add_argument("--read-seconds", type=float)
    ap.add_argument("--prices", default=str(licence_report.DEFAULT_PRICES),
                    help="seat price CSV for the money figures (default dbt/seeds/atlassian_admin__seat_prices.csv; 'none' = without)")
    args = ap.parse_args()

    records, errors = load(args.messages)
    if args.records_dir:
        args.records_dir.mkdir(parents=True, exist_ok=True)
        for stream in sorted(set(STREAMS) | set(records)):
            with open(args.records_dir / f"{stream}.jsonl", "w", encoding="utf-8") as f:
                for data in records.get(stream, []):
                    f.write(json.dumps(data, separators=(",", ":")) + "\n")

    print("Records per stream")
    names = list(STREAMS) + sorted(set(records) - set(STREAMS))
    print(table(["stream", "records"], [[s, fmt(len(records.get(s, [])))] for s in names], "<>"))
    users = records.get("users", [])
    statuses = Counter(u.get("status") or "unknown" for u in users)
    if users:
        print("    users by status: " + ", ".join(f"{k} {v:,}" for k, v in statuses.most_common()))

    print()
    con = records_connection(records, args.records_dir)
    if con is None:
        print("Seats per site: needs the duckdb Python package (pip install duckdb; bash scripts/demo.sh installs it)")
        print()
        print("Credentials: needs the duckdb Python package")
    else:
        seat_summary(con, records, args.prices)
        print()
        credential_section.print_summary(con)

    tail = []
    if args.read_seconds is not None:
        tail.append(f"read took {args.read_seconds:.2f} s")
    if args.sandbox_url:
        try:
            with urllib.request.urlopen(args.sandbox_url.rstrip("/") + "/__sandbox/stats", timeout=5) as resp:
                stats = json.load(resp)
            total = stats.get("total") if isinstance(stats, dict) else None
            if total is not None:
                tail.append(f"{total:,} requests served by the sandbox")
        except (OSError, ValueError):
            pass
    if tail:
        print()
        print("    " + "; ".join(tail))
    for e in errors:
        print(f"ERROR in the read: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
