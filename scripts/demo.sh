#!/usr/bin/env bash
# One-command demo: build, start the bundled sandbox org, run spec/check/discover/read against
# it, write every message under output/, stop the sandbox, and print a summary.
# Usage: bash scripts/demo.sh [USERS]   (default 1000 users)
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000}"
out="output"
mkdir -p "$out/records"

echo "==> building (release)"
cargo build --release --workspace --quiet

bin=target/release/source-atlassian-admin
sandbox_bin=target/release/atlassian-sandbox

echo "==> starting the sandbox org ($users users)"
coproc SANDBOX { exec "$sandbox_bin" --users "$users" --port 0 --exit-on-stdin-eof; }
sandbox_pid=$SANDBOX_PID
trap 'kill "$sandbox_pid" 2>/dev/null || true' EXIT
read -r -t 30 hello <&"${SANDBOX[0]}" || { echo "the sandbox did not start" >&2; exit 1; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$hello"; }
base_url=$(field base_url); org_id=$(field org_id); api_key=$(field api_key)
echo "    listening on $base_url (org $org_id)"

cat > "$out/config.json" <<JSON
{"api_key": "$api_key", "org_id": "$org_id", "base_url": "$base_url"}
JSON
cp integration_tests/sample_files/configured_catalog.json "$out/configured_catalog.json"
echo '[]' > "$out/state.json"

echo "==> spec / check / discover"
"$bin" spec > "$out/spec.jsonl"
"$bin" check --config "$out/config.json" | tee "$out/check.jsonl"
"$bin" discover --config "$out/config.json" > "$out/catalog.jsonl"

echo "==> read (full refresh of every stream)"
start=$(date +%s.%N)
"$bin" read --config "$out/config.json" --catalog "$out/configured_catalog.json" --state "$out/state.json" > "$out/messages.jsonl"
end=$(date +%s.%N)

for stream in users user_activity workspaces; do
  grep "^{\"type\":\"RECORD\",\"record\":{\"stream\":\"$stream\"" "$out/messages.jsonl" > "$out/records/$stream.jsonl" || true
done
grep '"type":"STATE"' "$out/messages.jsonl" | tail -n 3 > "$out/state_after.jsonl" || true

echo
echo "==> summary"
printf '    %-15s %8s\n' stream records
for stream in users user_activity workspaces; do
  printf '    %-15s %8d\n' "$stream" "$(wc -l < "$out/records/$stream.jsonl")"
done
requests=$(curl -s "$base_url/__sandbox/stats" 2>/dev/null | sed -n 's/.*"total":\([0-9]*\).*/\1/p' || true)
awk -v s="$start" -v e="$end" -v r="${requests:-?}" 'BEGIN { printf "    read took %.2f s; %s requests served by the sandbox\n", e - s, r }'
echo "    records are in $out/records/*.jsonl, every message in $out/messages.jsonl"
