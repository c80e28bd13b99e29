"""The credential report (reports/credentials.sql, credential_counts.sql, site_policies.sql, and
the dbt package's marts of the same names; docs/credential-report.md) against the sandbox org's
truth.

One sandbox org (1,000 users, seed 42) is changed so that every flag occurs — owners removed
while their tokens still work (the org already has token owners suspended, deactivated and for
deletion), a token for an external user, never-used tokens and keys, a key made to expire in 7
days beside the one that expires in 12, a token revoked, a policy of a type the connector does
not know applied to the Service Management site, a disabled policy applied to Bitbucket — then
read by the connector (full refresh; and incrementally before and after the changes, appended).
Every row and flag of the three reports is compared with what GET /__sandbox/truth says,
computed here in Python, not from the SQL: on DuckDB and PostgreSQL, over the full refresh and
the appended tables; with the streams the report can do without left empty (unknown, never a
guess); and through `dbt build` over a DuckDB file where those streams' tables are missing. The
page's section and the summary's lines are checked too. Outcomes only, never wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import ROOT, Db, create_table, discover_schemas, read, sandbox_org, sql_type, ts, write_config

USERS = 1000
# What the credential report reads (docs/credential-report.md, "Tables it reads").
STREAMS = ("users", "user_activity", "workspaces", "domains", "api_tokens", "api_keys", "policies")
GONE = {"suspended", "deactivated", "for_deletion", "removed"}
APPLIES = {"applied", "enabled", "applying"}
REPORT_NAMES = ("credentials.sql", "credential_counts.sql", "site_policies.sql")
FLAGS = ("owner_gone", "external_owner", "never_used", "unused_for_inactive_days", "no_expiry_within_a_year", "expires_within_30_days")


def post(base_url: str, path: str, body: dict | None = None):
    import urllib.request
    req = urllib.request.Request(base_url + path, data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def truth_of(base_url: str) -> dict:
    import urllib.request
    with urllib.request.urlopen(base_url + "/__sandbox/truth", timeout=60) as r:
        return json.load(r)


# ---------------------------------------------------------------------------------------------
# the org, changed so that every flag occurs, and one read of it

def change(sandbox: dict) -> dict:
    """The mutations; returns what the checks need to find (ids)."""
    url, truth = sandbox["base_url"], sandbox["truth"]
    mutate = lambda name, body=None: post(url, f"/__sandbox/mutations/{name}", body)  # noqa: E731
    verified = {d["name"] for d in truth["domains"] if d["status"] == "verified"}
    outsider = next(u for u in truth["users"] if u["status"] == "active" and u.get("email")
                    and u["email"].split("@")[1] not in verified | {"serviceaccount.atlassian.com"})
    mutate("create_api_token", {"account_id": outsider["accountId"], "label": "contractor-cli"})
    insider = next(u for u in truth["users"] if u["status"] == "active" and u["email"].split("@")[1] in verified)
    mutate("create_api_token", {"account_id": insider["accountId"], "label": "new-this-week"})
    mutate("revoke_api_token", {})
    mutate("expire_api_key_soon", {})
    mutate("create_api_key", {"label": "rotation-spare"})
    sites = {w["attributes"]["typeKey"]: w["id"] for w in truth["workspaces"]}
    added = mutate("add_policy", {"type": "session-duration", "name": "Session limits"})
    new_policy = added["policies_added"][0]
    mutate("apply_policy", {"id": new_policy, "site": sites["jira-servicedesk"]})
    draft = next(p["id"] for p in truth["policies"] if p["status"] == "disabled" and not p["resources"])
    mutate("apply_policy", {"id": draft, "site": sites["bitbucket"]})
    mutate("remove_users", {"count": 60})
    return {"outsider": outsider["accountId"], "new_policy": new_policy}


# Incremental (change detection, deletion records), appended: every stream but workspaces (full refresh).
MODES = {s: "full_refresh" if s == "workspaces" else "incremental" for s in STREAMS}


@pytest.fixture(scope="session")
def cred_sync(tmp_path_factory):
    """(schemas, records, truth, ids, appended): one full-refresh read of the changed org, and
    the tables two incremental reads leave appended, one before the changes and one after."""
    d = tmp_path_factory.mktemp("credentials")
    with sandbox_org(USERS) as sandbox:
        config = write_config(d, sandbox)
        schemas = discover_schemas(config)
        before, state = read(d, config, MODES)
        ids = change(sandbox)
        truth = truth_of(sandbox["base_url"])
        after, _ = read(d, config, MODES, state)
        records, _ = read(d, config, {s: "full_refresh" for s in STREAMS})
    assert all(records[s] for s in STREAMS), {s: len(r) for s, r in records.items()}
    appended = {s: after[s] if s == "workspaces" else before[s] + after[s] for s in STREAMS}
    return schemas, records, truth, ids, appended


def load(db: Db, schemas: dict, records: dict, absent: tuple = ()) -> None:
    """One table per stream (columns = the schema's top-level fields, lists as JSON text); the
    streams in `absent` empty, as a stream not synced is in the plain SQL."""
    for stream in STREAMS:
        props = schemas[stream]["properties"]
        columns = list(props)
        cell = lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v  # noqa: E731
        rows = [] if stream in absent else [tuple(cell(r.get(c)) for c in columns) for r in records[stream]]
        create_table(db, stream, columns, [sql_type(props[c]) for c in columns], rows)


def run(db, name: str, **params) -> list[dict]:
    """reports/<name> unchanged but for its parameters line."""
    return _normalise(db.report(name, **params))


def _normalise(rows: list[dict]) -> list[dict]:
    """conftest.norm's rows (UTC times, numbers as float) with whole numbers as int (PostgreSQL's
    SUM is numeric)."""
    return [{k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in r.items()} for r in rows]


# ---------------------------------------------------------------------------------------------
# the truth: what each report must say, from /__sandbox/truth alone

def as_of_of(truth: dict):
    sites = {w["id"] for w in truth["workspaces"]}
    return max(ts(p["lastActiveTimestamp"]) for u in truth["users"] for p in u.get("productAccess") or []
               if p.get("lastActiveTimestamp") and p.get("id") in sites)


def expected(truth: dict, inactive_days: int = 90, absent: tuple = ()) -> dict:
    """{credentials: rows in the report's order, counts: {flag: row}, site_policies: rows}."""
    as_of = as_of_of(truth)
    users = {} if "users" in absent else {u["accountId"]: u for u in truth["users"]}
    verified = None if "domains" in absent else {d["name"].lower() for d in truth["domains"] if d["status"] == "verified"}
    creds = []
    tokens = [] if "api_tokens" in absent else [("api_token", t["id"], t["label"], t["owner"]["account_id"], t["status"], t)
                                                for t in truth["api_tokens"]]
    keys = [] if "api_keys" in absent else [("api_key", k["id"], k["label"], k["created_by"], None, k) for k in truth["api_keys"]]
    for kind, cid, label, owner, status, c in tokens + keys:
        u = users.get(owner)
        # The list gives the owner's name and email as the directory has them (none once removed).
        in_org = {x["accountId"]: x for x in truth["users"]}.get(owner)
        name, email = (in_org or {}).get("name"), (in_org or {}).get("email")
        owner_status = None if "users" in absent else (u["status"] if u else "removed")
        expires, used, created = ts(c["expires_at"]), ts(c["last_active_at"]), ts(c["created_at"])
        works = (status or "").lower() not in ("revoked", "expired") and (expires is None or expires > as_of)

        def flag(value):
            return False if not works else value

        domain = email.split("@")[1].lower() if email else None
        external = None if verified is None or email is None else \
            False if domain == "serviceaccount.atlassian.com" else domain not in verified
        row = {
            "credential_type": kind, "credential_id": cid, "label": label, "owner_account_id": owner,
            "owner_name": name, "owner_email": email, "owner_status": owner_status, "status": status,
            "created_at": created, "expires_at": expires,
            "days_to_expiry": None if expires is None else (expires.date() - as_of.date()).days,
            "last_active_at": used, "scopes": ",".join(sorted(c["scopes"])), "still_works": works,
            "owner_gone": flag(None if owner_status is None else owner_status in GONE),
            "external_owner": flag(external),
            "never_used": flag(used is None),
            "unused_for_inactive_days": flag((used or created) < as_of - timedelta(days=inactive_days)),
            "no_expiry_within_a_year": flag(expires is None or expires > as_of + timedelta(days=365)),
            "expires_within_30_days": flag(expires is not None and expires <= as_of + timedelta(days=30)),
            "as_of": as_of,
        }
        row["priority"] = 1 if kind == "api_key" and row["expires_within_30_days"] else 2 if row["owner_gone"] else 3 if works else 4
        creds.append(row)
    creds.sort(key=lambda r: (r["priority"], r["expires_at"] is None, r["expires_at"] or as_of, r["credential_type"], r["credential_id"]))

    counts = {}
    for flag in ("credentials", "still_works") + FLAGS:
        holds = (lambda r: True) if flag == "credentials" else (lambda r, f=flag: r[f])  # noqa: E731
        by = lambda kind: sum(1 for r in creds if r["credential_type"] == kind and holds(r))  # noqa: E731
        counts[flag] = {"flag": flag, "credentials": sum(1 for r in creds if holds(r)),
                        "api_tokens": by("api_token") if tokens else None, "api_keys": by("api_key") if keys else None,
                        "unknown": 0 if flag == "credentials" else sum(1 for r in creds if r[flag] is None),
                        "as_of": as_of if creds else None}

    sites = []
    for w in truth["workspaces"]:
        a = w["attributes"]
        plan = w["relationships"]["entitlement"][0]["attributes"].get("plan")
        if (a.get("sandbox") or {}).get("type") == "CHILD" or a.get("status") == "offline" or not plan or plan.lower() == "free":
            continue
        on = [] if "policies" in absent else [p for p in truth["policies"] if p["status"] == "enabled"
                                               and any(rid == w["id"] and st in APPLIES for rid, st in p["resources"])]
        sites.append({"product": a["typeKey"], "site_name": a["name"], "site_url": a["hostUrl"], "plan": plan,
                      "policy_types": ",".join(sorted({p["kind"] for p in on})) or None,
                      "policy_names": ", ".join(sorted(p["name"] for p in on)) or None,
                      "policies": None if "policies" in absent else len(on),
                      "uncovered": None if "policies" in absent else not on, "workspace_id": w["id"]})
    sites.sort(key=lambda s: (s["product"], s["site_url"], s["workspace_id"]))
    return {"credentials": creds, "counts": counts, "site_policies": sites}


def check(got: dict, want: dict, where: str) -> None:
    """Every row and column of the three reports equal to the truth's, in the report's order."""
    rows = got["credentials"]
    assert [r["credential_id"] for r in rows] == [r["credential_id"] for r in want["credentials"]], f"{where}: the credentials' order"
    for mine, theirs in zip(rows, want["credentials"]):
        diff = {k: (mine.get(k), v) for k, v in theirs.items() if mine.get(k) != v}
        assert not diff, f"{where}: {theirs['credential_type']} {theirs['label']!r} {theirs['credential_id']}: (report, truth) {diff}"
    assert set(rows[0]) == set(want["credentials"][0]) if rows else True, f"{where}: columns {sorted(rows[0])}"
    counts = {c["flag"]: c for c in got["counts"]}
    assert [c["flag"] for c in got["counts"]] == list(want["counts"]), f"{where}: the counts' rows"
    for flag, theirs in want["counts"].items():
        mine = {k: counts[flag][k] for k in theirs}
        assert mine == theirs, f"{where}: counts of {flag}: report {mine}, truth {theirs}"
    assert got["site_policies"] == want["site_policies"], f"{where}: site policies {got['site_policies']} != {want['site_policies']}"


def reports(db, **params) -> dict:
    """The three reports' rows, from a database (conftest.Db: the files of reports/) or from dbt's
    marts (test_dbt.Marts)."""
    got = {name: run(db, name, **({} if name == "site_policies.sql" else params)) for name in REPORT_NAMES}  # it has none
    return {"credentials": got["credentials.sql"], "counts": got["credential_counts.sql"], "site_policies": got["site_policies.sql"]}


# ---------------------------------------------------------------------------------------------
# the tests

def test_the_org_has_every_case(cred_sync):
    """The changes made every flag occur (else the comparisons below would prove little)."""
    _, _, truth, ids, _ = cred_sync
    want = expected(truth)
    rows = want["credentials"]
    for flag in FLAGS:
        assert any(r[flag] for r in rows), f"no credential with {flag}"
    statuses = {r["owner_status"] for r in rows if r["owner_gone"]}
    assert {"removed", "suspended", "deactivated", "for_deletion"} <= statuses, statuses
    assert any(not r["still_works"] for r in rows) and any(r["owner_status"] in GONE and not r["still_works"] for r in rows)
    assert len([r for r in rows if r["priority"] == 1]) >= 2, "two keys expiring within 30 days"
    assert any(r["never_used"] and not r["unused_for_inactive_days"] for r in rows), "a new credential not used yet"
    assert any(r["owner_account_id"] == ids["outsider"] and r["external_owner"] for r in rows)
    sites = {s["product"]: s for s in want["site_policies"]}
    assert sites["jira-servicedesk"]["policy_types"] == "session-duration", "the unknown type kept as it comes"
    assert sites["bitbucket"]["uncovered"], "a disabled policy covers nothing"


@pytest.mark.parametrize("inactive_days", [90, 30])
def test_every_row_and_flag_equals_the_truth(cred_sync, db, inactive_days):
    schemas, records, truth, _, _ = cred_sync
    load(db, schemas, records)
    got = reports(db, inactive_days=inactive_days)
    check(got, expected(truth, inactive_days=inactive_days), f"{db.kind}, inactive_days {inactive_days}")


def test_appended_incremental_syncs_give_the_same_report(cred_sync, db):
    """Two incremental reads appended (the second after the changes: tokens and keys added and
    revoked, users removed, policies applied) give the report of the truth, as a full refresh."""
    schemas, _, truth, _, appended = cred_sync
    deleted = {s for s in STREAMS if any(r.get("_ab_cdc_deleted_at") for r in appended[s])}
    assert {"users", "api_tokens"} <= deleted, deleted
    load(db, schemas, appended)
    check(reports(db), expected(truth), f"{db.kind}, appended")


def test_streams_not_synced_say_unknown(cred_sync):
    """users, domains, api_keys and policies empty (not synced): the owner's status, owner_gone,
    external_owner, the keys' counts and the policies are null — not 'removed', not zero."""
    duckdb = pytest.importorskip("duckdb")
    schemas, records, truth, _, _ = cred_sync
    for absent in (("users", "domains", "api_keys", "policies"), ("api_tokens",)):
        db = Db("duckdb", duckdb.connect())
        load(db, schemas, records, absent=absent)
        got = reports(db)
        check(got, expected(truth, absent=absent), f"without {', '.join(absent)}")
        counts = {c["flag"]: c for c in got["counts"]}
        if "users" in absent:
            assert all(r["owner_status"] is None for r in got["credentials"])
            assert counts["owner_gone"]["unknown"] == counts["still_works"]["credentials"] > 0
            assert counts["credentials"]["api_keys"] is None and all(s["uncovered"] is None for s in got["site_policies"])
        else:
            assert counts["credentials"]["api_tokens"] is None and {r["credential_type"] for r in got["credentials"]} == {"api_key"}
        # The page says which streams are not synced.
        from credential_section import report, section_html
        page = section_html(report(db.con))
        assert all(f"data-stream='{s}'" in page for s in absent), absent
        db.con.close()


def test_dbt_build_with_streams_missing_equals_the_truth(cred_sync, tmp_path):
    """The dbt package over a DuckDB file without the domains, api_keys and policies tables (the
    streams not synced): it builds, and its marts equal the truth with those unknown."""
    duckdb = pytest.importorskip("duckdb")
    from test_dbt import DBT, dbt, duckdb_marts, profile
    if not DBT.exists():
        pytest.fail(f"{DBT} is missing: bash .ci/run creates .venv-dbt")
    schemas, records, truth, _, _ = cred_sync
    absent = ("domains", "api_keys", "policies")
    where = tmp_path / "org.duckdb"
    con = duckdb.connect(str(where))
    db = Db("duckdb", con)
    load(db, schemas, records, absent=absent)
    for stream in absent:
        con.execute(f'DROP TABLE "{stream}"')
    con.close()
    d = profile(tmp_path, "duckdb", where)
    marts = ["atlassian_admin__credentials", "atlassian_admin__credential_counts", "atlassian_admin__site_policies"]
    out = dbt(d, "build", "--select", *(f"+{m}" for m in marts), "--indirect-selection", "cautious",
              atlassian_admin_schema="main", atlassian_admin_database="org")
    assert "ERROR=0" in out and "WARN=0" in out, out[-3000:]
    built = duckdb_marts(where)
    got = reports(built)
    built.db.con.close()
    check(got, expected(truth, absent=absent), "dbt without domains, api_keys, policies")


def test_the_page_lists_expiring_keys_first_and_every_credential(cred_sync, tmp_path):
    pytest.importorskip("duckdb")
    _, records, truth, _, _ = cred_sync
    rec = tmp_path / "records"
    rec.mkdir()
    for stream, rows in records.items():
        (rec / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "page.html"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "licence_report.py"), "--records-dir", str(rec), "-o", str(out)],
                   check=True, capture_output=True, env=env, timeout=120)
    page = out.read_text(encoding="utf-8")
    want = expected(truth)
    expiring = [r for r in want["credentials"] if r["priority"] == 1]
    top = page.index('id="keys-expiring"')
    assert top < page.index("<h2"), "the expiring keys come before anything else"
    block = page[top:page.index("</div>", top)]
    assert [r["credential_id"] for r in expiring] == [line.split('"')[1] for line in block.split("data-credential-id=")[1:]]
    listed = [p.split('"')[1] for p in page.split("<tr class=")[1:] if "data-credential-id" in p.split(">")[0]]
    assert len(listed) == len(want["credentials"])
    ids = [p.split('data-credential-id="')[1].split('"')[0] for p in page.split("<tr class=")[1:] if "data-credential-id" in p.split(">")[0]]
    assert ids == [r["credential_id"] for r in want["credentials"]]
    for flag in ("still_works",) + FLAGS:
        card = page.split(f"data-flag='{flag}'>")[1]
        assert card.split("data-field='credentials'>")[1].split("<")[0] == f"{want['counts'][flag]['credentials']:,}"
    uncovered = [s for s in want["site_policies"] if s["uncovered"]]
    assert f"<span id='uncovered-count'>{len(uncovered)}</span>" in page

    # The summary's lines, over the same records.
    messages = tmp_path / "messages.jsonl"
    messages.write_text("".join(json.dumps({"type": "RECORD", "record": {"stream": s, "data": r}}) + "\n"
                                for s, rows in records.items() for r in rows))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "summary.py"), str(messages)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    assert f"{want['counts']['credentials']['api_tokens']:,} API tokens, {want['counts']['credentials']['api_keys']:,} API keys" in text
    assert "API keys expiring within 30 days" in text and all(r["label"] in text for r in expiring)
    assert f"{want['counts']['owner_gone']['credentials']:,} owner gone" in text
    assert f"paid sites no enabled policy covers: {len(uncovered)} of {len(want['site_policies'])}" in text
