"""The connector under PyAirbyte, as a data engineer would first try it.

Reads every stream from the bundled sandbox org through `airbyte` (PyAirbyte) into its default
DuckDB cache, checks the row counts against the sandbox's own truth, then reads again from the
state PyAirbyte kept and checks that nothing unchanged is read again.

Runs the released binary: target/release/source-atlassian-admin, built by .ci/run with the
Dockerfile's exact cargo command. Run it with `bash .ci/run` (which builds both binaries and
the virtualenv), or, after that, alone:

    .venv-ci/bin/python -m pytest -q integration_tests/pyairbyte

Everything PyAirbyte writes (cache, logs, temp files) goes to a temporary directory, and it runs
offline: no registry look-up, no telemetry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or PROJECT / "target")
CONNECTOR = (TARGET / "release" / "source-atlassian-admin").resolve()
SANDBOX = (TARGET / "release" / "atlassian-sandbox").resolve()
NAME = "source-atlassian-admin"
USERS = 2000  # 20 pages of the users search at the default page size

# PyAirbyte reads these when it is imported: set them first.
WORK = Path(tempfile.mkdtemp(prefix="pyairbyte-test-"))
os.environ.update(
    {
        "AIRBYTE_OFFLINE_MODE": "1",  # no registry look-up (the connector is not registered)
        "DO_NOT_TRACK": "1",  # no telemetry (offline mode implies it; belt and braces)
        "AIRBYTE_PROJECT_DIR": str(WORK / "project"),
        "AIRBYTE_INSTALL_DIR": str(WORK / "install"),
        "AIRBYTE_CACHE_ROOT": str(WORK / "cache"),  # the default DuckDB cache lives here
        "AIRBYTE_LOGGING_ROOT": str(WORK / "logs"),
        "AIRBYTE_TEMP_DIR": str(WORK / "tmp"),
    }
)
(WORK / "tmp").mkdir(parents=True, exist_ok=True)

import airbyte as ab  # noqa: E402
from airbyte import exceptions as ab_exc  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _cleanup_work_dir() -> Iterator[None]:
    yield
    shutil.rmtree(WORK, ignore_errors=True)


class Sandbox:
    """`atlassian-sandbox` as a child process; it exits when our end of its stdin closes."""

    def __init__(self, users: int) -> None:
        for binary in (CONNECTOR, SANDBOX):
            if not binary.is_file():
                pytest.fail(f"{binary} is missing: build with `bash .ci/run` (or cargo build --release --workspace)")
        self.proc = subprocess.Popen(
            [str(SANDBOX), "--users", str(users), "--port", "0", "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # the hello line holds the API key: never print it
        if not line:
            self.proc.kill()
            pytest.fail("the sandbox exited before it printed its hello line")
        hello = json.loads(line)
        self.base_url: str = hello["base_url"]
        self.org_id: str = hello["org_id"]
        self.api_key: str = hello["api_key"]

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
            return json.load(resp)

    def stop(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(USERS)
    try:
        yield sb
    finally:
        sb.stop()


def expected_counts(truth: dict) -> dict[str, int]:
    """What a full read must load, from the sandbox's own dump of the org."""
    users = truth["users"]
    return {
        "users": len(users),
        "user_activity": sum(len(u.get("productAccess") or []) for u in users),
        "workspaces": len(truth["workspaces"]),
    }


def read_counts(result) -> dict[str, int]:
    """Records received per stream during one read (PyAirbyte's progress tally)."""
    tracker = getattr(result, "_progress_tracker", None)  # not public; see the total check too
    return dict(getattr(tracker, "stream_read_counts", {}) or {})


def read(source, cache, api_key: str):
    """One PyAirbyte read; if the connector fails, fail with the end of its log (key redacted)."""
    try:
        return source.read(cache=cache, force_full_refresh=False)
    except ab_exc.AirbyteConnectorFailedError as e:
        log = Path(e.log_file) if getattr(e, "log_file", None) else None
        text = log.read_text(errors="replace") if log and log.is_file() else "(no connector log)"
        tail = "\n".join(text.replace(api_key, "<api_key>").splitlines()[-25:])
        pytest.fail(f"the connector failed under PyAirbyte ({e.__class__.__name__}); its log ends with:\n{tail}")


def test_reads_every_stream_twice_and_the_second_read_is_incremental(sandbox: Sandbox, capfd) -> None:
    config = {"api_key": sandbox.api_key, "org_id": sandbox.org_id, "base_url": sandbox.base_url}
    source = ab.get_source(NAME, local_executable=str(CONNECTOR), config=config, streams="*")
    source.check()
    streams = set(source.get_available_streams())
    assert streams >= {"users", "user_activity", "workspaces"}, streams

    # PyAirbyte asks for incremental wherever it is not forced to full refresh. It does so for
    # every stream, even one that only supports full refresh (`workspaces`); the connector then
    # reads that stream in full, as the Python CDK does for a stream without a cursor.
    catalog = source.get_configured_catalog(force_full_refresh=False)
    assert {s.stream.name for s in catalog.streams} == streams
    incremental = {s.stream.name for s in catalog.streams if "incremental" in [m.value for m in s.stream.supported_sync_modes]}
    assert {"users", "user_activity"} <= incremental and "workspaces" not in incremental, incremental
    for s in catalog.streams:
        if s.stream.name in incremental:
            assert s.sync_mode.value == "incremental", (s.stream.name, s.sync_mode)

    expected = expected_counts(sandbox.get("/__sandbox/truth"))
    assert expected["user_activity"] > expected["users"] > 0 and expected["workspaces"] > 0, expected

    cache = ab.get_default_cache()
    assert Path(cache.db_path).is_relative_to(WORK), cache.db_path

    # ---- first read: everything
    first = read(source, cache, sandbox.api_key)
    loaded = {name: len(first[name]) for name in streams}
    assert {n: loaded[n] for n in expected} == expected, f"rows in the DuckDB cache {loaded} != sandbox truth {expected}"
    assert first.processed_records == sum(loaded.values()), (first.processed_records, loaded)
    counts = read_counts(first)
    if counts:
        assert {n: counts.get(n, 0) for n in streams} == loaded, counts

    # PyAirbyte kept a state for every stream (the connector emits one per stream).
    state = cache.get_state_provider(source_name=NAME)
    assert state.known_stream_names == streams, state.known_stream_names
    for name in incremental:
        assert state.get_stream_state(name).stream.stream_state is not None, name

    # ---- second read: from that state; nothing changed in the org
    full_refresh_rows = sum(loaded[n] for n in streams - incremental)
    requests_before = sandbox.get("/__sandbox/stats")
    second = read(source, cache, sandbox.api_key)
    counts = read_counts(second)
    if counts:
        for name in incremental:
            assert counts.get(name, 0) == 0, f"{name} read again although nothing changed: {counts}"
        for name in streams - incremental:
            assert counts.get(name, 0) == loaded[name], f"{name} (full refresh) not read in full: {counts}"
    # Public API only: the full-refresh streams are all that was read again.
    assert second.processed_records == full_refresh_rows, (
        f"second read processed {second.processed_records} records; only the {full_refresh_rows} "
        f"records of the full-refresh streams {sorted(streams - incremental)} should be read again"
    )
    again = {name: len(second[name]) for name in streams}
    assert again == loaded, f"rows after the incremental read {again} != after the first {loaded}"
    assert sandbox.get("/__sandbox/stats") != requests_before, "the second read did call the API"

    # Nothing secret in what PyAirbyte printed or logged.
    out, err = capfd.readouterr()
    sys.stdout.write(out)
    sys.stderr.write(err)
    assert sandbox.api_key not in out and sandbox.api_key not in err, "the API key leaked to stdout/stderr"
    for path in (WORK / "logs").rglob("*"):
        if path.is_file():
            assert sandbox.api_key not in path.read_text(errors="replace"), f"the API key leaked into {path}"


def test_spec_through_pyairbyte_marks_the_key_secret() -> None:
    source = ab.get_source(NAME, local_executable=str(CONNECTOR))
    spec = source.config_spec
    assert spec["properties"]["api_key"].get("airbyte_secret") is True
    # The key alone is a complete config: org_id is found from it when it lists one organization.
    assert spec["required"] == ["api_key"]
    assert "org_id" in spec["properties"]
