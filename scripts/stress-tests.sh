#!/usr/bin/env bash
# The integration test binary and the sandbox's test binaries (its unit tests and every file of
# sandbox/tests), RUNS times (default 10), with two busy loops beside them, as on a shared
# two-core CI machine: a test whose outcome depends on scheduling shows up here.
# Not part of .ci/run. Prints "N passed, M failed" (runs) and the names of the failing tests.
#   bash scripts/stress-tests.sh [RUNS] [-- extra arguments for every test binary]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
shift || true
[[ ${1:-} == "--" ]] && shift
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS] [-- test binary arguments]" >&2; exit 2; }

# The workspace's own build (its feature set), so nothing is compiled again.
mapfile -t bins < <(cargo test --release --locked --workspace --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    name, kinds = m["target"]["name"], m["target"]["kind"]
    if name == "integration" or ("atlassian-sandbox" in m["package_id"] and "bin" not in kinds):
        print(m["executable"])' | sort)
((${#bins[@]} > 1)) && [[ -x ${bins[0]} ]] || { echo "could not build the test binaries (cargo test --release --workspace --no-run)" >&2; exit 1; }
echo "${#bins[@]} test binaries: $(for b in "${bins[@]}"; do basename "${b%-*}"; done | tr '\n' ' ')"

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
  failed_here=()
  for bin in "${bins[@]}"; do
    name=$(basename "${bin%-*}")
    log="$logs/run-$i-$name.log"
    if ! "$bin" --test-threads 2 "$@" > "$log" 2>&1; then
      tests=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log")
      [[ -n $tests ]] || tests="(exit-without-a-failing-test)"
      for t in $tests; do
        failed_here+=("$name::$t")
        failures[$name::$t]=$((${failures[$name::$t]:-0} + 1))
      done
    fi
  done
  if ((${#failed_here[@]} == 0)); then
    passed=$((passed + 1))
    echo "run $i: passed"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED (${failed_here[*]}); logs: $logs/run-$i-*.log"
  fi
done
stop_busy
trap - EXIT

echo
for n in "${!failures[@]}"; do echo "failed ${failures[$n]}× of $runs: $n"; done
echo "$passed passed, $failed failed"
((failed == 0)) && rm -rf "$logs"
((failed == 0))
