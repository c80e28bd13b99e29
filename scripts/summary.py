#!/usr/bin/env python3
"""Summarise a read: records per stream, and per site seats paid vs used.

    python3 scripts/summary.py output/messages.jsonl [--records-dir output/records]
                               [--sandbox-url http://127.0.0.1:PORT] [--read-seconds 1.23]

Reads the Airbyte messages a `read` printed (one JSON object per line), writes the records of
each stream as plain JSON lines to RECORDS_DIR/<stream>.jsonl (when --records-dir is given), and
prints a summary a person reads at a glance. Python 3.8+ standard library only.

"Active" = distinct users with `last_active` on that site within ACTIVE_DAYS days of the newest
`last_active` in the data (not of today: Atlassian's activity data lags, and the sandbox org is
dated). Seats paid = the workspace's `capacity`.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

STREAMS = ("users", "user_activity", "workspaces", "license_assignments")
ACTIVE_DAYS = 30


def parse_ts(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


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


def seats_assigned(workspace: dict, records: dict):
    """Billable seats assigned on the site (the "assigned" column): distinct users holding a
    billable role there, from `license_assignments`. None (printed "n/a") when that stream was
    not read, or the site is not searched (sandbox and offline sites)."""
    if "license_assignments" not in records:
        return None
    holders = {
        a.get("account_id")
        for a in records["license_assignments"]
        if a.get("workspace_id") == workspace.get("id") and a.get("billable") and not a.get("_ab_cdc_deleted_at")
    }
    if not holders and (workspace.get("sandbox_type") == "CHILD" or workspace.get("status") == "offline"):
        return None
    return len(holders)


def site_rows(records):
    activity = records.get("user_activity", [])
    stamps = [t for t in (parse_ts(a.get("last_active")) for a in activity) if t]
    newest = max(stamps) if stamps else None
    since = newest - timedelta(days=ACTIVE_DAYS) if newest else None
    active = defaultdict(set)
    ever = defaultdict(set)
    for a in activity:
        ws = a.get("workspace_id")
        ever[ws].add(a.get("account_id"))
        t = parse_ts(a.get("last_active"))
        if since and t and t >= since:
            active[ws].add(a.get("account_id"))
    rows = []
    for w in records.get("workspaces", []):
        rows.append(
            {
                "site": w.get("name") or w.get("id"),
                "product": w.get("type_key") or w.get("type") or "",
                "plan": w.get("plan") or "",
                "paid": w.get("capacity"),
                "assigned": seats_assigned(w, records),
                "active": len(active.get(w.get("id"), ())),
                "ever": len(ever.get(w.get("id"), ())),
            }
        )
    unmatched = len(active.get(None, ()))
    return rows, newest, unmatched


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

    rows, newest, unmatched = site_rows(records)
    print()
    when = f" (newest activity {newest:%Y-%m-%d})" if newest else ""
    print(f"Seats per site: paid vs assigned vs active in the last {ACTIVE_DAYS} days{when}")
    body = []
    for r in sorted(rows, key=lambda r: (-(r["paid"] or 0), r["site"])):
        use = f"{100 * r['active'] / r['paid']:.0f}%" if r["paid"] else ""
        idle = fmt(r["paid"] - r["active"]) if r["paid"] is not None else ""
        body.append([r["site"], r["product"], r["plan"], fmt(r["paid"]), fmt(r["assigned"]), fmt(r["active"]), use, idle])
    print(table(["site", "product", "plan", "paid", "assigned", "active", "active/paid", "paid, not active"], body, "<<<>>>>>"))
    paid = sum(r["paid"] or 0 for r in rows)
    active = sum(r["active"] for r in rows if r["paid"])
    if paid:
        print(f"    on sites with a seat count: {paid:,} seats paid, {active:,} active ({100 * active / paid:.0f}%); {paid - active:,} paid but not active")
    if "license_assignments" in records:
        print("    assigned: users holding a billable role (atlassian/user, atlassian/admin); n/a for sandbox and offline sites, which are not searched")
        print("    who could be removed, and utilization: reports/*.sql, see docs/license-report.md")
    else:
        print("    assigned: n/a — license_assignments was not read")
    if unmatched:
        print(f"    {unmatched:,} active users on product instances with no matching workspace")

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
