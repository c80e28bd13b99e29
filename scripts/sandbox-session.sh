# Sourced by the measuring scripts (measure-state.sh, bench-events.sh), after they set
# `script` (their name, for messages): checks the tools the caller names and the release
# binaries, makes a work directory ($work), and with `start_sandbox ARGS...` starts the
# sandbox — which exits when its stdin closes, so it cannot outlive the script — and reads
# its hello line into $hello. Everything is cleaned up when the script exits.
# Sets: root, connector, sandbox, work, hello.

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$script: '$tool' is needed and not found" >&2; exit 1; }
  done
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
connector="$root/target/release/source-atlassian-admin"
sandbox="$root/target/release/atlassian-sandbox"
for bin in "$connector" "$sandbox"; do
  [[ -x $bin ]] || { echo "$script: $bin is missing; run cargo build --release --workspace --locked" >&2; exit 1; }
done

work=$(mktemp -d)
sandbox_pid=""
cleanup() {
  if [[ -n $sandbox_pid ]]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_sandbox() {
  coproc SB { exec "$sandbox" "$@" --exit-on-stdin-eof; }
  sandbox_pid=$SB_PID
  read -r -t 60 hello <&"${SB[0]}" || { echo "$script: the sandbox did not start" >&2; exit 1; }
}
