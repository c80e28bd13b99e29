"""The credential report's part of the page (scripts/licence_report.py) and of the summary
(scripts/summary.py): the org API keys expiring within 30 days at the top of the page, then
every user API token and org API key with its owner and flags, the counts per flag, and the
policies of each paid site. See docs/credential-report.md.

Runs reports/credentials.sql, credential_counts.sql and site_policies.sql (compiled from the dbt
package's marts) unchanged in DuckDB, over the tables licence_report.py opens (api_tokens,
api_keys, policies and domains among them; a stream not synced is an empty table, and the
report then says unknown, not zero). licence_report.py calls add_to_page; summary.py calls
print_summary.
"""

from __future__ import annotations

import html
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
FLAGS = (("owner_gone", "owner gone (suspended, deactivated, for deletion or removed)"),
         ("external_owner", "external owner (email domain not verified by the org)"),
         ("never_used", "never used"),
         ("unused_for_inactive_days", "unused for {inactive} days"),
         ("no_expiry_within_a_year", "no expiry within a year"),
         ("expires_within_30_days", "expires within 30 days"))
# What the report cannot tell without a stream's records (an empty table: the stream not read).
UNKNOWN = {"api_tokens": "no token is listed.", "api_keys": "no key is listed.",
           "users": "the owners' statuses, and so owner_gone, are unknown.",
           "domains": "whether an owner is external is unknown.",
           "policies": "which policies cover the paid sites is unknown."}
# The flags' short names, for the list's cells.
SHORT = {"owner_gone": "owner gone", "external_owner": "external owner", "never_used": "never used",
         "unused_for_inactive_days": "unused {inactive} d", "no_expiry_within_a_year": "no expiry within a year",
         "expires_within_30_days": "expires within 30 d"}
CSS = """
.cred-warn{background:#fde8e4;border:1px solid #e8a090;padding:8px 12px;border-radius:6px;margin:12px 0}
.cred-flag{display:inline-block;background:#eef1f6;border-radius:3px;padding:0 4px;margin:0 2px 2px 0;font-size:11.5px;white-space:nowrap}
#credential-list td.nw{white-space:nowrap;overflow-wrap:normal}#credential-list small{color:#5c6677}
tr.cred-gone td,tr.cred-expiring td{background:#fff3f0}tr.cred-dead td{color:#8a93a3}
"""


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


# ---------------------------------------------------------------------------------------------
# the reports

def rows(con, name: str, **params) -> list[dict]:
    """reports/<name> run in DuckDB with the given parameters (site_policies.sql has none)."""
    from licence_report import plain, report_sql
    cur = con.execute(report_sql(name, **params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, map(plain, row))) for row in cur.fetchall()]


def report(con, params: dict | None = None) -> dict:
    """{credentials, counts, site_policies, not_synced}: the three reports' rows, and the streams
    with no row (not synced, or none in the org)."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    empty = [s for s in ("api_tokens", "api_keys", "policies", "domains", "users")
             if not con.execute(f'SELECT COUNT(*) FROM "{s}"').fetchone()[0]]
    return {"credentials": rows(con, "credentials.sql", **params), "counts": rows(con, "credential_counts.sql", **params),
            "site_policies": rows(con, "site_policies.sql"), "not_synced": empty}


# ---------------------------------------------------------------------------------------------
# the page

def _flags_of(r: dict) -> list[str]:
    return [k for k, _ in FLAGS if r.get(k)]


def _day(v) -> str:
    return "" if v is None else str(v)[:10]


def top_html(rep: dict) -> str:
    """The keys expiring within 30 days, for the top of the page ('' when there is none)."""
    keys = [r for r in rep["credentials"] if r["credential_type"] == "api_key" and r["expires_within_30_days"]]
    if not keys:
        return ""
    items = "".join(f"<li data-credential-id=\"{_esc(r['credential_id'])}\"><b>{_esc(r['label'])}</b> expires "
                    f"{_esc(_day(r['expires_at']))} (in {_esc(r['days_to_expiry'])} days), created by "
                    f"{_esc(r['owner_name'] or r['owner_account_id'])}</li>" for r in keys)
    return (f'<div class="cred-warn" id="keys-expiring"><b>Organization API keys expiring within 30 days: '
            f'{len(keys)}</b> — rotate them before they stop working (a second key, then check, then revoke the '
            f"first: docs/setup.md, \"Rotate the key without a gap\").<ul>{items}</ul></div>")


def section_html(rep: dict, inactive_days: int = 90) -> str:
    """The credential report's section: counts per flag, every credential, policies per paid site."""
    creds, counts, sites = rep["credentials"], rep["counts"], rep["site_policies"]
    as_of = next((r["as_of"] for r in counts if r.get("as_of")), None)
    labels = {k: v.format(inactive=inactive_days) for k, v in FLAGS}
    out = [f"<style>{CSS}</style>", "<section id='credentials'>",
           f"<h2>Credentials: <span id='credentials-count'>{len(creds):,}</span></h2>",
           f"<p class='meta'>Every user API token of a managed account and every organization API key, with its owner (a "
           f"token's account, a key's creator), as of {_esc(as_of)}. Only a credential that still works (not revoked or "
           f"expired) is flagged; keys expiring within 30 days first, then credentials of gone owners, then by expiry. "
           f"See docs/credential-report.md.</p>"]
    for s in rep["not_synced"]:
        out.append(f"<div class='note cred-not-synced' data-stream='{_esc(s)}'>No {_esc(s)} record (the stream is not read, "
                   f"or holds none): {_esc(UNKNOWN[s])}</div>")
    out.append("<div class='cards' id='credential-counts'>")
    for c in counts:
        if c["flag"] == "credentials":
            continue
        label = "still work" if c["flag"] == "still_works" else labels[c["flag"]]
        extra = f" ({c['unknown']:,} unknown)" if c["unknown"] else ""
        out.append(f"<div class='card' data-flag='{_esc(c['flag'])}'><div class='v' data-field='credentials'>{c['credentials']:,}</div>"
                   f"<div class='k'>{_esc(label)}{_esc(extra)}</div></div>")
    out.append("</div>")
    heads = (("type", "nw"), ("label", ""), ("owner", ""), ("owner status", "nw"), ("status", "nw"), ("created", "nw"),
             ("expires", "nw"), ("days to expiry", "n"), ("last used", "nw"), ("scopes", ""), ("flags", ""))
    short = {k: v.format(inactive=inactive_days) for k, v in SHORT.items()}
    out.append("<table class='list sortable' id='credential-list'><thead><tr>"
               + "".join(f"<th class='{c}'>{_esc(h)}</th>" for h, c in heads) + "</tr></thead><tbody>")
    for r in creds:
        kind = {1: "cred-expiring", 2: "cred-gone", 4: "cred-dead"}.get(r["priority"], "")
        flags = _flags_of(r)
        owner = r["owner_name"] or r["owner_account_id"]
        cells = [("key" if r["credential_type"] == "api_key" else "token",) * 2, (r["label"],) * 2,
                 (owner, f"{_esc(owner)}<br><small>{_esc(r['owner_email'] or '')}</small>"),
                 (r["owner_status"] or "unknown",) * 2,
                 (r["status"] or {True: "works", False: "expired"}.get(r["still_works"], "unknown"),) * 2,
                 (_day(r["created_at"]),) * 2, (_day(r["expires_at"]) or "never",) * 2,
                 ("" if r["days_to_expiry"] is None else r["days_to_expiry"],) * 2,
                 (_day(r["last_active_at"]) or "never",) * 2, (r["scopes"] or "(none)",) * 2,
                 (",".join(flags), "".join(f"<span class='cred-flag'>{_esc(short[f])}</span>" for f in flags))]
        tds = [f"<td data-v=\"{_esc(v)}\" class='{heads[i][1]}'>{t if i in (2, 10) else _esc(t)}</td>"
               for i, (v, t) in enumerate(cells)]
        out.append(f"<tr class='{kind}' data-credential-id=\"{_esc(r['credential_id'])}\" data-priority='{r['priority']}' "
                   f"data-flags=\"{_esc(','.join(flags))}\">" + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    uncovered = [s for s in sites if s["uncovered"]]
    if any(s["uncovered"] is None for s in sites):
        out.append("<h2>Policies per paid site: unknown (no policies record)</h2>")
    else:
        out.append(f"<h2>Policies per paid site: <span id='uncovered-count'>{len(uncovered)}</span> covered by none</h2>")
    if uncovered:
        out.append("<p class='meta' id='uncovered-sites'>No enabled policy applies to: "
                   + ", ".join(f"{_esc(s['site_name'])} ({_esc(s['product'])})" for s in uncovered) + ".</p>")
    out.append("<table class='list' id='site-policies'><thead><tr><th>site</th><th>product</th><th>plan</th>"
               "<th>policy types</th><th>policies</th><th>covered</th></tr></thead><tbody>")
    for s in sites:
        covered = "unknown" if s["uncovered"] is None else "no" if s["uncovered"] else "yes"
        out.append(f"<tr data-workspace-id=\"{_esc(s['workspace_id'])}\" data-uncovered='{_esc(s['uncovered'])}'><td>{_esc(s['site_name'])}</td>"
                   f"<td>{_esc(s['product'])}</td><td>{_esc(s['plan'])}</td><td>{_esc(s['policy_types'] or '')}</td>"
                   f"<td>{_esc(s['policy_names'] or '')}</td><td>{covered}</td></tr>")
    out.append("</tbody></table></section>")
    return "\n".join(out)


def add_to_page(page: str, con, params: dict | None = None) -> str:
    """The page with the credential report: the expiring keys right after the page's heading
    line (the first `<div class="meta">`), the section before the page's script."""
    params = params or {}
    rep = report(con, params)
    top = top_html(rep)
    if top:
        at = page.find('<div class="meta">')
        at = page.find("</div>", at) + len("</div>") if at >= 0 else page.find("</h1>") + len("</h1>")
        page = page[:at] + "\n" + top + page[at:]
    at = page.rfind("<script>")
    at = at if at >= 0 else page.rfind("</body>")
    return page[:at] + section_html(rep, params.get("inactive_days") or 90) + "\n" + page[at:]


# ---------------------------------------------------------------------------------------------
# the summary

def summary_lines(rep: dict, inactive_days: int = 90) -> list[str]:
    counts = {c["flag"]: c for c in rep["counts"]}
    total = counts.get("credentials", {})
    n = lambda v: "n/a" if v is None else f"{v:,}"  # noqa: E731
    lines = [f"Credentials (reports/credentials.sql): {n(total.get('api_tokens'))} API tokens, {n(total.get('api_keys'))} API keys"
             + (f" (as of {str(total['as_of'])[:10]})" if total.get("as_of") else "")]
    keys = [r for r in rep["credentials"] if r["credential_type"] == "api_key" and r["expires_within_30_days"]]
    if keys:
        lines.append("    API keys expiring within 30 days (rotate: docs/setup.md): "
                     + "; ".join(f"{r['label']} on {_day(r['expires_at'])} (in {r['days_to_expiry']} days)" for r in keys))
    parts = []
    for flag, label in (("still_works", "still work"),) + FLAGS:
        c = counts.get(flag)
        if c:
            unknown = f" ({c['unknown']:,} unknown)" if c["unknown"] else ""
            parts.append(f"{c['credentials']:,} {label.format(inactive=inactive_days)}{unknown}")
    lines.append("    " + "; ".join(parts))
    gone = [r for r in rep["credentials"] if r["owner_gone"]]
    if gone:
        lines.append(f"    working credentials of gone owners: "
                     + "; ".join(f"{r['label']} ({r['owner_name'] or r['owner_account_id']}, {r['owner_status']})" for r in gone[:5])
                     + (f"; … {len(gone) - 5:,} more" if len(gone) > 5 else ""))
    sites = rep["site_policies"]
    if sites and sites[0]["uncovered"] is None:
        lines.append("    policies per paid site: unknown (no policies record)")
    elif sites:
        uncovered = [s for s in sites if s["uncovered"]]
        lines.append(f"    paid sites no enabled policy covers: {len(uncovered)} of {len(sites)}"
                     + (": " + ", ".join(f"{s['site_name']} ({s['product']})" for s in uncovered) if uncovered else ""))
    for s in rep["not_synced"]:
        if s != "policies":
            lines.append(f"    no {s} record (the stream is not read, or holds none): {UNKNOWN[s]}")
    return lines


def print_summary(con) -> None:
    """The credential report's lines of scripts/summary.py, over the connection its seat summary
    used (summary.records_connection)."""
    print("\n".join(summary_lines(report(con))))
