#!/usr/bin/env python3
"""Does a change of the connector keep its output byte for byte? Runs two connector binaries
through the same scenarios against the sandbox (fixed seed and cursor salt) with the wall clock
frozen by libfaketime, and diffs what they print.

    python3 scripts/same-output.py --before OLD_BINARY [--after target/release/source-atlassian-admin]

Needs libfaketime (Debian package `faketime`). Only the connector's clock is frozen (the sandbox
keeps the real one); monotonic time is not faked, so timers work, and the durations log lines
report ("in 0.4 s") are replaced by "N s" before comparing. Everything else must be identical:
records, states, traces (their emitted_at included), log lines. Exits 1 when any scenario differs.
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
FROZEN_AT = "2026-11-29 12:00:00"
SALT = "7"

STREAMS = ["users", "user_activity", "workspaces", "license_assignments"]
# Every stream of the catalog: the optional ones need --events for an audit log to read.
EVERY = STREAMS + ["groups", "audit_events"]


def catalog(streams, mode):
    sample = json.load(open(os.path.join(ROOT, "integration_tests/sample_files/configured_catalog.json")))
    picked = [s for s in sample["streams"] if s["stream"]["name"] in streams]
    for s in picked:
        if mode == "incremental" and s["stream"]["name"] != "workspaces":
            s["sync_mode"] = "incremental"
            s["destination_sync_mode"] = "append_dedup"
    return {"streams": picked}


def last_states(lines):
    """The last STATE of each stream, as the --state file of the next read."""
    states = {}
    for line in lines:
        m = json.loads(line)
        if m["type"] == "STATE":
            states[m["state"]["stream"]["stream_descriptor"]["name"]] = m["state"]
    return list(states.values())


# name, sandbox args, config extras, streams, mode, follow-ups
SCENARIOS = [
    ("full refresh, bulk", ["--users", "2500"], {}, STREAMS, "full_refresh", 0),
    ("incremental, then again from its state", ["--users", "2500"], {"page_size": 50}, STREAMS, "incremental", 1),
    ("incremental, resumed from a mid-pass checkpoint", ["--users", "1200"], {"page_size": 50}, STREAMS, "resume", 0),
    ("incremental, a large state (spaced checkpoints)", ["--users", "12000"], {}, ["users", "user_activity"], "incremental", 1),
    ("full refresh, per_user activity", ["--users", "300"], {"activity_source": "per_user"}, ["users", "user_activity"], "full_refresh", 0),
    ("incremental, auto falling back to per-user", ["--users", "300", "--product-access", "omitted"], {}, ["users", "user_activity"], "incremental", 1),
    ("auto, productAccess rejected", ["--users", "200", "--product-access", "rejected"], {}, ["users", "user_activity"], "full_refresh", 0),
    ("a 403 on the workspaces", ["--users", "100", "--fault", "workspaces:403"], {}, STREAMS, "full_refresh", 0),
    ("a key revoked mid-read", ["--users", "500", "--fault", "users_search:revoke-key:nth=3"], {"page_size": 50}, STREAMS, "full_refresh", 0),
    ("incremental, managed_accounts activity", ["--users", "300"], {"activity_source": "managed_accounts"}, ["users", "user_activity"], "incremental", 1),
    ("a refused users search: managed accounts only", ["--users", "300", "--v2-directory-forbidden"], {}, STREAMS, "incremental", 1),
    ("key only: the organization found from the key", ["--users", "200"], {"org_id": None}, STREAMS, "full_refresh", 0),
    ("every stream, full refresh", ["--users", "1500", "--events", "3000"], {}, EVERY, "full_refresh", 0),
    ("every stream, incremental, then again from its state", ["--users", "1500", "--events", "3000"], {"page_size": 50}, EVERY, "incremental", 1),
    ("every stream, resumed from a mid-pass checkpoint", ["--users", "1200", "--events", "2000"], {"page_size": 50}, EVERY, "resume", 0),
    ("optional streams refused: no groups scope, no Guard", ["--users", "300", "--groups-forbidden", "--events-access", "forbidden"], {}, EVERY, "incremental", 1),
    ("an audit log answering empty, events-stream ending with a null next", ["--users", "200", "--events-access", "empty"], {}, EVERY, "incremental", 0),
    ("an audit log whose last page says null", ["--users", "200", "--events", "1500", "--events-null-next"], {}, ["audit_events", "groups"], "incremental", 1),
]


def normalize(text):
    return re.sub(r"\b\d+(\.\d+)? s\b", "N s", text)


def run_connector(binary, args, workdir):
    env = dict(os.environ, LD_PRELOAD=FAKETIME_LIB, FAKETIME=FROZEN_AT, FAKETIME_DONT_FAKE_MONOTONIC="1", TZ="UTC")
    env.pop("RUST_BACKTRACE", None)
    out = subprocess.run([binary, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    return out.returncode, out.stdout.splitlines()


def scenario_output(binary, sandbox, sb_args, extra, streams, mode, followups):
    """Every line the connector printed over the scenario's reads, with exit codes."""
    with tempfile.TemporaryDirectory() as d:
        sb = subprocess.Popen([sandbox, "--port", "0", "--cursor-salt", SALT, "--exit-on-stdin-eof", *sb_args],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            hello = json.loads(sb.stdout.readline())
            config = {"api_key": hello["api_key"], "org_id": hello["org_id"], "base_url": hello["base_url"], **extra}
            config = {k: v for k, v in config.items() if v is not None}  # an extra of None drops the key
            json.dump(config, open(os.path.join(d, "config.json"), "w"))
            json.dump(catalog(streams, "full_refresh" if mode == "full_refresh" else "incremental"), open(os.path.join(d, "catalog.json"), "w"))
            state = []
            printed = []
            reads = 1 + followups
            for i in range(reads):
                json.dump(state, open(os.path.join(d, "state.json"), "w"))
                code, lines = run_connector(binary, ["read", "--config", "config.json", "--catalog", "catalog.json", "--state", "state.json"], d)
                printed.append(f"== read {i + 1}: exit {code}")
                printed.extend(lines)
                if mode == "resume" and i == 0:
                    # Resume from the sixth checkpoint of user_activity, as after a kill there.
                    states, seen = {}, 0
                    for line in lines:
                        m = json.loads(line)
                        if m["type"] == "STATE":
                            states[m["state"]["stream"]["stream_descriptor"]["name"]] = m["state"]
                            if m["state"]["stream"]["stream_descriptor"]["name"] == "user_activity":
                                seen += 1
                                if seen == 6:
                                    break
                    state = list(states.values())
                    reads += 1
                    json.dump(state, open(os.path.join(d, "state.json"), "w"))
                    code, lines = run_connector(binary, ["read", "--config", "config.json", "--catalog", "catalog.json", "--state", "state.json"], d)
                    printed.append(f"== resumed read: exit {code}")
                    printed.extend(lines)
                state = last_states(lines)
            return [normalize(line) for line in printed]
        finally:
            sb.stdin.close()
            sb.wait(timeout=30)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="the connector binary before the change")
    p.add_argument("--after", default=os.path.join(ROOT, "target/release/source-atlassian-admin"))
    p.add_argument("--sandbox", default=os.path.join(ROOT, "target/release/atlassian-sandbox"))
    p.add_argument("--context", type=int, default=2)
    args = p.parse_args()
    if not os.path.exists(FAKETIME_LIB):
        sys.exit(f"{FAKETIME_LIB} is missing: apt-get install faketime")
    differing = 0
    for name, sb_args, extra, streams, mode, followups in SCENARIOS:
        before = scenario_output(args.before, args.sandbox, sb_args, extra, streams, mode, followups)
        after = scenario_output(args.after, args.sandbox, sb_args, extra, streams, mode, followups)
        if before == after:
            print(f"same   {name}: {len(after)} lines")
            continue
        differing += 1
        diff = list(difflib.unified_diff(before, after, "before", "after", n=args.context, lineterm=""))
        print(f"DIFFER {name}: {len(before)} lines before, {len(after)} after, {sum(1 for l in diff if l[:1] in '+-') - 2} changed")
        for line in diff[:80]:
            print("    " + line[:400])
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
