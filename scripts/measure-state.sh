#!/usr/bin/env bash
# Measures the final STATE size per incremental stream after a first incremental read of a
# sandbox org of USERS users, and the read's wall time and peak memory.
# Usage: bash scripts/measure-state.sh USERS   (after `cargo build --release --workspace --locked`)
# Needs: jq, and /usr/bin/time (Debian package `time`).
set -euo pipefail
users=${1:?usage: bash scripts/measure-state.sh USERS}
[[ $users =~ ^[0-9]+$ ]] || { echo "USERS must be a whole number, not '$users'" >&2; exit 2; }
script=measure-state
# shellcheck source=scripts/sandbox-session.sh
source "$(dirname "$0")/sandbox-session.sh"
require_tools jq /usr/bin/time
start_sandbox --users "$users"
jq -n --argjson h "$hello" '{api_key: $h.api_key, org_id: $h.org_id, base_url: $h.base_url}' > "$work/config.json"
jq '.streams |= map(if .stream.name != "workspaces" then .sync_mode = "incremental" | .destination_sync_mode = "append_dedup" else . end)' \
  "$root/integration_tests/sample_files/configured_catalog.json" > "$work/catalog.json"
echo '[]' > "$work/state.json"

/usr/bin/time -f "wall %e s, maxrss %M KB" "$connector" read --config "$work/config.json" \
  --catalog "$work/catalog.json" --state "$work/state.json" > "$work/out.jsonl"
for stream in users user_activity license_assignments; do
  bytes=$(jq -c --arg s "$stream" 'select(.type == "STATE" and .state.stream.stream_descriptor.name == $s) | .state.stream.stream_state' \
    "$work/out.jsonl" | tail -n 1 | wc -c)
  printf '%s final state: %s bytes\n' "$stream" "$bytes"
done
state_bytes=$(grep '"type":"STATE"' "$work/out.jsonl" | wc -c)
echo "states emitted: $(grep -c '"type":"STATE"' "$work/out.jsonl"), their bytes: $state_bytes, stdout bytes: $(wc -c < "$work/out.jsonl")"
pairs=$(grep -c '"stream":"user_activity"' "$work/out.jsonl" || true)
echo "user_activity records (one per pair on a first read): $pairs"
