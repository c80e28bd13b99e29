#!/usr/bin/env bash
# Needs jq. Usage: bash scripts/measure-state.sh USERS (after cargo build --release --workspace).
# Measures the final STATE size per stream after an incremental read of a sandbox org.
set -euo pipefail
users=$1
root="$(cd "$(dirname "$0")/.." && pwd)"
coproc SB { exec $root/target/release/atlassian-sandbox --users "$users" --exit-on-stdin-eof; }
read -r hello <&"${SB[0]}"
base=$(jq -r .base_url <<<"$hello"); org=$(jq -r .org_id <<<"$hello"); key=$(jq -r .api_key <<<"$hello")
d=$(mktemp -d)
echo "{\"api_key\":\"$key\",\"org_id\":\"$org\",\"base_url\":\"$base\"}" > $d/config.json
jq '.streams |= map(if .stream.name != "workspaces" then .sync_mode="incremental" | .destination_sync_mode="append_dedup" else . end)' $root/integration_tests/sample_files/configured_catalog.json > $d/catalog.json
/usr/bin/time -f "wall %e s, maxrss %M KB" $root/target/release/source-atlassian-admin read --config $d/config.json --catalog $d/catalog.json --state <(echo '[]') > $d/out.jsonl
for s in users user_activity; do
  grep '"type":"STATE"' $d/out.jsonl | grep "\"name\":\"$s\"" | tail -1 | jq -c .state.stream.stream_state | wc -c | xargs printf "%s final state: %s bytes\n" $s
done
echo "states emitted: $(grep -c '"type":"STATE"' $d/out.jsonl), stdout bytes: $(wc -c < $d/out.jsonl)"
kill $SB_PID
