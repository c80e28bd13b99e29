#!/usr/bin/env bash
# The integration test binary, RUNS times (default 10), with two busy loops beside it, as on a
# shared two-core CI machine: a test whose outcome depends on scheduling shows up here.
# Not part of .ci/run. Prints "N passed, M failed" (runs) and the names of the failing tests.
#   bash scripts/stress-tests.sh [RUNS] [-- extra arguments for the test binary]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
shift || true
[[ ${1:-} == "--" ]] && shift
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS] [-- test binary arguments]" >&2; exit 2; }

bin=$(cargo test --release --locked --test integration --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "integration":
        print(m["executable"])')
[[ -x $bin ]] || { echo "could not build the integration test binary (cargo test --release --test integration --no-run)" >&2; exit 1; }

busy=()
stop_busy() { ((${#busy[@]})) && kill "${busy[@]}" 2>/dev/null; wait "${busy[@]}" 2>/dev/null || true; }
trap stop_busy EXIT
for _ in 1 2; do
  sh -c 'while :; do :; done' &
  busy+=($!)
done

logs=$(mktemp -d)
passed=0 failed=0
declare -A failures=()
for ((i = 1; i <= runs; i++)); do
  log="$logs/run-$i.log"
  if "$bin" --test-threads 2 "$@" > "$log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i: passed"
  else
    failed=$((failed + 1))
    names=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log")
    echo "run $i: FAILED (${names//$'\n'/, }); log: $log"
    for n in $names; do failures[$n]=$((${failures[$n]:-0} + 1)); done
  fi
done
stop_busy
trap - EXIT

echo
for n in "${!failures[@]}"; do echo "failed ${failures[$n]}× of $runs: $n"; done
echo "$passed passed, $failed failed"
((failed == 0)) && rm -rf "$logs"
((failed == 0))
