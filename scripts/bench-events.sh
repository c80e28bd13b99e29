#!/usr/bin/env bash
# Benchmarks the audit_events backfill: a full read of a sandbox log of EVENTS events (limit
# 500 a page) under a per-path limit of RATE (default 50/min), then an incremental poll with
# nothing new. Prints wall time, requests and 429s (the sandbox's counts) and the floor
# (events-stream requests ÷ rate).
# Usage: bash scripts/bench-events.sh [EVENTS] [RATE]   (after cargo build --release --workspace --locked)
# Needs: jq, curl, /usr/bin/time.
set -euo pipefail
events=${1:-100000}
rate=${2:-50/min}
script=bench-events
# shellcheck source=scripts/sandbox-session.sh
source "$(dirname "$0")/sandbox-session.sh"
require_tools jq curl /usr/bin/time
start_sandbox --users 200 --events "$events" --events-rate-limit "$rate"
base=$(jq -r .base_url <<<"$hello")
jq -n --argjson h "$hello" '{api_key: $h.api_key, org_id: $h.org_id, base_url: $h.base_url, max_rate_limit_wait_seconds: 3600}' > "$work/config.json"
jq '{streams: [.streams[] | select(.stream.name == "audit_events") | .sync_mode = "incremental" | .destination_sync_mode = "append_dedup"]}' \
  "$root/integration_tests/sample_files/configured_catalog.json" > "$work/catalog.json"
echo '[]' > "$work/state.json"
stats() { curl -fsS "$base/__sandbox/stats"; }
run() {
  curl -fsS -X POST "$base/__sandbox/stats/reset" >/dev/null
  /usr/bin/time -f "wall %e s, cpu %U+%S s, maxrss %M KB" "$connector" read --config "$work/config.json" \
    --catalog "$work/catalog.json" --state "$work/state.json" > "$work/out.jsonl" 2> "$work/time.txt" || { cat "$work/time.txt" >&2; exit 1; }
  tail -n 1 "$work/time.txt"
  echo "records: $(grep -c '"stream":"audit_events","data"' "$work/out.jsonl" || true)"
  echo "sandbox stats: $(stats | jq -c '.')"
  jq -c 'select(.type == "STATE") | .state' "$work/out.jsonl" | tail -n 1 | jq -s '.' > "$work/state.json"
}
echo "== backfill of $events events, events-stream limited to $rate"
run
echo "== incremental poll, nothing new"
run
