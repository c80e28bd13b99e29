#!/usr/bin/env python3
"""Benchmarks of the connector against the sandbox (release builds, same machine).

Each scenario starts `atlassian-sandbox` with its own options, runs one full-refresh `read` of
every stream, and measures the connector process alone with GNU time (wall time, CPU time
user + sys, peak RSS; wait4() from Python would count the forked interpreter's memory), plus
the requests the sandbox served (and how many it answered 429).
Every scenario runs RUNS times; the table shows medians. Standard library only.

Usage: cargo build --release --workspace && python3 scripts/bench.py [--runs 3] [--only NAME...]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONNECTOR = os.path.join(ROOT, "target/release/source-atlassian-admin")
SANDBOX = os.path.join(ROOT, "target/release/atlassian-sandbox")
SAMPLE_CATALOG = os.path.join(ROOT, "integration_tests/sample_files/configured_catalog.json")
# The benchmarks measure the users pass and the workspaces (license_assignments has its own
# searches, one per site and role): the sample catalog without it.
BENCH_STREAMS = {"users", "user_activity", "workspaces"}
PAGE = 100

SCENARIOS = [
    # name, sandbox args, connector config extras, floor(hello, stats) -> seconds or None
    ("bulk-10k", ["--users", "10000"], {"activity_source": "bulk"}, None),
    ("bulk-100k", ["--users", "100000"], {"activity_source": "bulk"}, None),
    ("bulk-10k-50ms", ["--users", "10000", "--latency-ms", "50"], {"activity_source": "bulk"}, "pages"),
    (
        "per_user-5k-100rps-50ms",
        ["--users", "5000", "--latency-ms", "50", "--rate-limit", "100/s"],
        {"activity_source": "per_user", "max_concurrency": 8},
        "rate",
    ),
    # Activity without productAccess in the search: auto reads the managed accounts in bulk
    # and calls last-active-dates only for the rest, against per-user calls for everyone.
    (
        "auto-managed-10k-100rps-50ms",
        ["--users", "10000", "--latency-ms", "50", "--rate-limit", "100/s", "--product-access", "omitted"],
        {"activity_source": "auto", "max_concurrency": 8},
        "rate",
    ),
    (
        "per_user-10k-100rps-50ms",
        ["--users", "10000", "--latency-ms", "50", "--rate-limit", "100/s", "--product-access", "omitted"],
        {"activity_source": "per_user", "max_concurrency": 8},
        "rate",
    ),
    # The managed accounts' index at scale (its memory; no latency, no limit).
    ("managed_accounts-100k", ["--users", "100000", "--product-access", "omitted"], {"activity_source": "managed_accounts"}, None),
    # The same limit in other shapes: a window that opens at the first request after the last
    # one ended, its reset reported to the microsecond, skewed per response by up to ±1 s, or
    # truncated to the minute.
    *[
        (
            f"per_user-5k-100rps-50ms-first-request-{shape}",
            ["--users", "5000", "--latency-ms", "50", "--rate-limit", f"100/s,start=first-request,{options}"],
            {"activity_source": "per_user", "max_concurrency": 8},
            "rate",
        )
        for shape, options in [
            ("us", "reset-precision=us"),
            ("skew1s", "reset-precision=us,reset-skew=1s"),
            ("minute", "reset-precision=minute"),
        ]
    ],
]


def start_sandbox(args):
    proc = subprocess.Popen([SANDBOX, "--exit-on-stdin-eof", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    hello = json.loads(proc.stdout.readline())
    return proc, hello


def stats(base_url):
    with urllib.request.urlopen(base_url + "/__sandbox/stats") as r:
        return json.load(r)


def reset(base_url):
    req = urllib.request.Request(base_url + "/__sandbox/stats/reset", method="POST")
    urllib.request.urlopen(req).read()


def run_once(hello, extra, connector=CONNECTOR):
    with tempfile.TemporaryDirectory() as d:
        cfg = {"api_key": hello["api_key"], "org_id": hello["org_id"], "base_url": hello["base_url"], **extra}
        path = os.path.join(d, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        catalog = os.path.join(d, "catalog.json")
        with open(SAMPLE_CATALOG) as f:
            streams = [s for s in json.load(f)["streams"] if s["stream"]["name"] in BENCH_STREAMS]
        with open(catalog, "w") as f:
            json.dump({"streams": streams}, f)
        out_path = os.path.join(d, "out.jsonl")
        timing = os.path.join(d, "time.txt")
        with open(out_path, "wb") as out:
            cmd = ["/usr/bin/time", "-o", timing, "-f", "%e %U %S %M", connector, "read", "--config", path, "--catalog", catalog]
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL).returncode
        if code != 0:
            sys.exit(f"the connector failed (exit {code})")
        wall, user, sys_, rss_kb = open(timing).read().split()[-4:]
        records = 0
        with open(out_path, "rb") as f:
            for line in f:
                records += line.startswith(b'{"type":"RECORD"')
        return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mb": int(rss_kb) / 1024, "records": records}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--connector", default=CONNECTOR, help="the connector binary to measure (default: this checkout's release build)")
    args = ap.parse_args()
    rows = []
    for name, sb_args, extra, floor_kind in SCENARIOS:
        if args.only and name not in args.only:
            continue
        proc, hello = start_sandbox(sb_args)
        try:
            runs = []
            for _ in range(args.runs):
                reset(hello["base_url"])
                r = run_once(hello, extra, args.connector)
                s = stats(hello["base_url"])
                r["requests"], r["throttled"] = s["total"], s.get("throttled", 0)
                runs.append(r)
                by_endpoint = {k: v for k, v in s.get("by_endpoint", {}).items() if v}
                print(f"  {name}: {r} {by_endpoint}", file=sys.stderr)
        finally:
            proc.stdin.close()
            proc.wait()
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        users = int(sb_args[sb_args.index("--users") + 1])
        floor = None
        if floor_kind == "pages":
            latency = int(sb_args[sb_args.index("--latency-ms") + 1]) / 1000
            floor = math.ceil(users / PAGE) * latency
        elif floor_kind == "rate":
            # The requests the read needs (those answered 429 are not needed) at the limit.
            limit = int(sb_args[sb_args.index("--rate-limit") + 1].split("/")[0])
            floor = (med["requests"] - med["throttled"]) / limit
        budget = math.ceil(users / PAGE) + 1 + 2
        rows.append((name, med, floor, budget))
    print("| scenario | wall s | floor s | wall/floor | CPU s (user+sys) | peak RSS MB | records | requests | bulk budget | 429s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, m, floor, budget in rows:
        ratio = f"{m['wall'] / floor:.3f}" if floor else "—"
        floor_s = f"{floor:.2f}" if floor else "—"
        budget_s = str(budget) if name.startswith("bulk") else "—"
        share = f"{int(m['throttled'])} ({100 * m['throttled'] / m['requests']:.2f} %)"
        print(
            f"| {name} | {m['wall']:.2f} | {floor_s} | {ratio} | {m['cpu']:.2f} | {m['rss_mb']:.1f} | "
            f"{int(m['records'])} | {int(m['requests'])} | {budget_s} | {share} |"
        )


if __name__ == "__main__":
    main()
