"""The demo's summary (scripts/summary.py) prints the report's figures: the same paid sites and
totals as reports/license_utilization.sql, checked against the sandbox truth, so that the two
cannot disagree (it once printed 2,950 seats paid, adding a sandbox, an offline and a Free site)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_summary_prints_the_paid_sites_of_the_report(synced, tmp_path):
    _, records, truth = synced
    messages = tmp_path / "messages.jsonl"
    with open(messages, "w", encoding="utf-8") as f:
        for stream, rows in records.items():
            for data in rows:
                f.write(json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}}) + "\n")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "summary.py"), str(messages)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout

    paid = [w for w in truth["workspaces"]
            if (w["attributes"].get("sandbox") or {}).get("type") != "CHILD" and w["attributes"].get("status") != "offline"
            and (w["relationships"]["entitlement"][0]["attributes"].get("plan") or "free").lower() != "free"]
    seats = sum(w["attributes"]["capacity"] for w in paid)
    assert f"paid sites ({len(paid)}): {seats:,} seats paid" in out, out
    every = sum(w["attributes"].get("capacity") or 0 for w in truth["workspaces"])
    assert every > seats and f"{every:,}" not in out, "sandbox, offline and Free sites are not counted as paid"
    assert "not in the report, holding no seats:" in out and "(offline)" in out and "(a sandbox copy)" in out
    assert "EXAMPLE prices" in out and "Records per stream" in out
    # Every holder in one category, when each saving shows on the bill, Guard, Atlassian's counts.
    assert "every seat holder in one category: " in out and " active through the API" in out and " unseen activity" in out
    assert "monthly; this cycle (from " in out and "a month less from the renewal" in out and "Atlassian Guard: " in out, out
    assert "seat counts: every site equals Atlassian's own count" in out and "WARNING" not in out and "not synced" not in out
