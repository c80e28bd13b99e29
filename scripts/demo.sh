#!/usr/bin/env bash
# One-command demo, from a fresh clone: build, start the bundled sandbox org, run spec / check /
# discover / a full read against it, write every message and the records under output/, stop the
# sandbox, print a summary (records per stream; per site seats paid vs assigned vs active, and what
# they cost: reports/license_utilization.sql) and write the licence report page,
# output/licence-report.html (scripts/licence_report.py).
# Needs: a Rust toolchain (cargo, 1.85+), python3 with venv, and PyPI the first time: the summary
# and the page run the report SQL in DuckDB, installed in .venv-demo/ (in the background while
# cargo builds; reused while scripts/requirements-demo.txt is unchanged).
# Usage: bash scripts/demo.sh [USERS]   (default 1000 users)
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000}"
out="output"

for tool in cargo python3; do
  command -v "$tool" >/dev/null || { echo "demo: '$tool' is needed and not on PATH" >&2; exit 1; }
done
[[ $users =~ ^[0-9]+$ ]] || { echo "usage: bash scripts/demo.sh [USERS]" >&2; exit 2; }

# The summary's and the page's virtualenv (DuckDB), set up while cargo builds.
venv=.venv-demo
venv_req=scripts/requirements-demo.txt
mkdir -p "$out"
setup_venv() {
  local want
  want="$(python3 -V 2>&1) $(sha256sum < "$venv_req" | cut -d' ' -f1)"
  [[ -x $venv/bin/python && "$(cat "$venv/.demo-stamp" 2>/dev/null)" == "$want" ]] && return 0
  rm -rf "$venv"
  python3 -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$venv_req" \
    && echo "$want" > "$venv/.demo-stamp"
}
setup_venv > "$out/venv.log" 2>&1 &
venv_pid=$!

echo "==> building (release; the first build takes 5-10 minutes on 2 cores, later ones seconds)"
# The Dockerfile's and CI's exact command: one profile and feature set, compiled once for all three.
cargo build --release --locked --workspace --quiet

bin=target/release/source-atlassian-admin
sandbox_bin=target/release/atlassian-sandbox
mkdir -p "$out/records"

echo "==> starting the sandbox org ($users users)"
# The sandbox exits when its stdin closes (--exit-on-stdin-eof): closing our end stops it, and it
# also stops if this script dies.
coproc SANDBOX { exec "$sandbox_bin" --users "$users" --events "$((users * 2))" --port 0 --exit-on-stdin-eof; }
sandbox_pid=$SANDBOX_PID
sandbox_in=${SANDBOX[1]}
stop_sandbox() {
  if [[ -n ${sandbox_pid:-} ]]; then
    exec {sandbox_in}>&- 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=""
  fi
}
trap 'if [[ -n ${sandbox_pid:-} ]]; then kill "$sandbox_pid" 2>/dev/null || true; fi; if [[ -n ${venv_pid:-} ]]; then kill "$venv_pid" 2>/dev/null || true; fi' EXIT
read -r -t 30 hello <&"${SANDBOX[0]}" || { echo "the sandbox did not start" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$hello" "$1"; }
base_url=$(field base_url); org_id=$(field org_id); api_key=$(field api_key)
echo "    listening on $base_url (org $org_id)"

# The config holds the (sandbox) API key: not printed, readable by this user only.
(umask 077; python3 -c 'import json,sys; print(json.dumps({"api_key": sys.argv[1], "org_id": sys.argv[2], "base_url": sys.argv[3]}, indent=2))' \
  "$api_key" "$org_id" "$base_url" > "$out/config.json")
cp integration_tests/sample_files/configured_catalog_report.json "$out/configured_catalog.json"
echo '[]' > "$out/state.json"

echo "==> spec / check / discover"
"$bin" spec > "$out/spec.jsonl"
"$bin" check --config "$out/config.json" > "$out/check.jsonl"
status=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m.get("type") == "CONNECTION_STATUS":
        s = m["connectionStatus"]; print(s["status"], s.get("message") or "")' "$out/check.jsonl")
echo "    check: $status"
[[ $status == SUCCEEDED* ]] || { echo "check failed; see $out/check.jsonl" >&2; exit 1; }
"$bin" discover --config "$out/config.json" > "$out/catalog.jsonl"
echo "    discover: $(python3 -c 'import json,sys; print(", ".join(s["name"] for s in json.load(open(sys.argv[1]))["catalog"]["streams"]))' "$out/catalog.jsonl")"

echo "==> read (full refresh of every stream)"
start=$(date +%s.%N)
"$bin" read --config "$out/config.json" --catalog "$out/configured_catalog.json" --state "$out/state.json" \
  > "$out/messages.jsonl" 2> "$out/read.stderr.log" || { echo "read failed; see $out/messages.jsonl and $out/read.stderr.log" >&2; exit 1; }
end=$(date +%s.%N)
seconds=$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$start" "$end")
grep '"type":"STATE"' "$out/messages.jsonl" > "$out/states.jsonl" || true

if ! wait "$venv_pid"; then
  cat "$out/venv.log" >&2
  echo "demo: could not set up $venv (python3 -m venv, pip install -r $venv_req; above)" >&2
  exit 1
fi
venv_pid=""
echo
"$venv/bin/python" scripts/summary.py "$out/messages.jsonl" --records-dir "$out/records" --sandbox-url "$base_url" --read-seconds "$seconds"
stop_sandbox
echo
"$venv/bin/python" scripts/licence_report.py --records-dir "$out/records" -o "$out/licence-report.html" > /dev/null
echo "    licence report page: $(cd "$out" && pwd)/licence-report.html  (open it in a browser; it loads nothing from the network)"
echo "    records: $out/records/<stream>.jsonl (one JSON object per line); every message: $out/messages.jsonl"
echo "    the sandbox is stopped. Next: bash .ci/run (the tests, including a PyAirbyte load into DuckDB)"
