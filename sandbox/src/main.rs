//! `atlassian-sandbox` binary: serve a synthetic Atlassian organization.
//!
//! Prints one JSON line (`base_url`, `org_id`, `directory_id`, `api_key`,
//! `users`) to stdout once listening, then serves until SIGINT/SIGTERM, or
//! until stdin closes with `--exit-on-stdin-eof` (handy for parent processes
//! in other languages that may die without cleaning up).

use std::io::Write;
use std::time::Duration;

use atlassian_sandbox::routes::routes_help;
use atlassian_sandbox::{
    mutation_catalog, Endpoint, EventsAccess, FaultRule, Faults, ProductAccessMode, RateLimit, Sandbox, SandboxOptions, Scope,
};
use clap::{CommandFactory, FromArgMatches, Parser};

/// A fake Atlassian Organizations (Admin) REST API with a deterministic synthetic org.
#[derive(Parser, Debug)]
#[command(
    name = "atlassian-sandbox",
    version,
    about,
    long_about = None
)]
struct Cli {
    /// Seed of the synthetic organization (same seed + users = same org).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of users in the directory.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accepted bearer API key.
    #[arg(long = "api-key", default_value = "sandbox-key-7f3c9a1e5b2d4c6f")]
    api_key: String,
    /// How users search treats expand=productAccess: supported | rejected (400) | omitted (never returned).
    #[arg(long = "product-access", default_value = "supported")]
    product_access: ProductAccessMode,
    /// Maximum users search `limit` (larger → 400).
    #[arg(long = "search-max-limit", default_value_t = 100)]
    search_max_limit: usize,
    /// Entries per page of last-active-dates.
    #[arg(long = "last-active-page-size", default_value_t = 10)]
    last_active_page_size: usize,
    /// GET /v1/orgs returns an empty list (like a key created with scopes).
    #[arg(long = "orgs-list-empty")]
    orgs_list_empty: bool,
    /// GET /v1/orgs also lists N other organizations the key cannot read (pages of 20, links.next URLs).
    #[arg(long = "extra-orgs", default_value_t = 0, value_name = "N")]
    extra_orgs: usize,
    /// The key lacks SCOPE: every route needing it answers 403 ADMIN-403-3 (repeatable; the scopes
    /// are listed with the routes below).
    #[arg(long = "forbid-scope", value_name = "SCOPE", value_parser = known_scope)]
    forbid_scopes: Vec<String>,
    /// --forbid-scope read:directories:admin: the v2 directory endpoints (users search, users count,
    /// directories) answer 403 ADMIN-403-3; v1 users, orgs, workspaces, last-active-dates still work.
    #[arg(long = "v2-directory-forbidden")]
    v2_directory_forbidden: bool,
    /// --forbid-scope read:groups:admin: the groups search and role assignments answer 403 ADMIN-403-3.
    #[arg(long = "groups-forbidden")]
    groups_forbidden: bool,
    /// meta.total (v1 users, workspaces) and counts.resources (users search) answer -1.
    #[arg(long = "negative-estimates")]
    negative_estimates: bool,
    /// Latency added to every /admin response, in milliseconds.
    #[arg(long = "latency-ms", default_value_t = 0)]
    latency_ms: u64,
    /// Fixed cursor salt (default: random per run).
    #[arg(long = "cursor-salt")]
    cursor_salt: Option<u64>,
    /// Inject a fault: ENDPOINT:ACTION[:WHEN] (repeatable; see below).
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
    /// A real per-org rate limit: LIMIT/WINDOW[,retry-after][,start=..][,reset-precision=..][,reset-skew=DUR] (see below).
    #[arg(long = "rate-limit", value_name = "SPEC")]
    rate_limit: Option<RateLimit>,
    /// Events of generated audit-log history over the ~200 days before now (the oldest beyond the
    /// 180-day retention, never served).
    #[arg(long = "events", default_value_t = 0, value_name = "N")]
    events: usize,
    /// The last events-stream page answers meta.next: null (like third-party mocks) instead of a cursor to poll with.
    #[arg(long = "events-null-next")]
    events_null_next: bool,
    /// What events-stream and event-actions answer: guard (served) | forbidden (403 ADMIN-403-3, a key without
    /// read:events:admin or an org without Atlassian Guard: --forbid-scope read:events:admin) | empty (200, no
    /// data, next null).
    #[arg(long = "events-access", default_value = "guard", value_name = "ACCESS")]
    events_access: EventsAccess,
    /// A per-path rate limit of events-stream alone, apart from --rate-limit (same SPEC, e.g. 50/min).
    #[arg(long = "events-rate-limit", value_name = "SPEC")]
    events_rate_limit: Option<RateLimit>,
    /// Exit when stdin reaches EOF.
    #[arg(long = "exit-on-stdin-eof")]
    exit_on_stdin_eof: bool,
}

/// `--forbid-scope`'s value: a scope some route needs.
fn known_scope(name: &str) -> Result<String, String> {
    Scope::named(name).map(|s| s.name.to_string()).ok_or_else(|| {
        let known: Vec<&str> = Scope::all().iter().map(|s| s.name).collect();
        format!("no route needs this scope ({})", known.join("|"))
    })
}

/// The text after the options in `--help`: output, routes, faults, rate limits.
fn after_help() -> String {
    let mut h = String::from(
        "Once listening, prints ONE JSON line to stdout:\n  \
{\"base_url\":\"http://127.0.0.1:PORT\",\"org_id\":\"...\",\"directory_id\":\"...\",\"api_key\":\"...\",\"users\":N}\n\n\
Routes (Authorization: Bearer <api_key>; directoryId may be '-'; [the scope a key needs]):\n",
    );
    h.push_str(&routes_help());
    h.push_str(
        "  GET /v1/orgs/{orgId}/users lists managed accounts only, 50 a page, links as URLs; a product\n  \
instance without a host URL is listed without 'url'.\n  \
GET /v1/orgs/{orgId}/events-stream: the audit log processed in the last 180 days, in processedAt\n  \
order; ?cursor, ?from and ?to (epoch ms, on processedAt), ?limit (default 200, at most 500),\n  \
?sortOrder=asc|desc; {data, meta: {next, page_size}, links}. The last page still answers a cursor\n  \
(poll it for what is appended later) unless --events-null-next; a bad or expired cursor is\n  \
400 ADMIN-400-1. GET /v1/orgs/{orgId}/event-actions lists every action the log holds.\n\
Control (no auth): GET /__sandbox/stats, POST /__sandbox/stats/reset, GET /__sandbox/truth (with\n  \
the whole audit log), POST /__sandbox/events/expire-cursors (every events cursor issued so far\n  \
answers 400 ADMIN-400-1), GET /__sandbox/scopes, POST /__sandbox/scopes/{scope} with\n  \
{\"forbidden\": true|false} (the key loses or gets back a scope)\n\n\
Mutations (no auth): POST /__sandbox/mutations/{name} with a JSON object of fields (absent = the\n  \
default shown), answers what changed (users_added, users_removed, users_changed, workspaces_added,\n  \
workspaces_changed, groups_changed, activity, events_added, now); GET /__sandbox/mutations lists\n  \
them. Targets are drawn from the seed, times are relative to the org's now; every endpoint and the\n  \
truth see the change, and the audit log gets an event for each change Atlassian logs:\n",
    );
    for m in mutation_catalog() {
        h.push_str(&format!("  {:<14} {}\n  {:<14} {}\n", m.name, m.defaults, "", m.description));
    }
    h.push('\n');
    h.push_str(&format!(
        "Faults (--fault ENDPOINT:ACTION[:WHEN], repeatable; the first matching rule wins):\n  \
ENDPOINT  {} | *\n",
        Endpoint::names().join(" | ")
    ));
    h.push_str(FAULTS_HELP);
    h
}

const FAULTS_HELP: &str = "  \
ACTION    429[,retry-after=SECS][,reset-in=DUR][,reset-precision=us|ms|s|minute]\n            \
gateway 429; Retry-After may be fractional (0.2); X-RateLimit-Reset = now + reset-in,\n            \
truncated to the precision (minute: 2023-10-11T12:34Z, which may lie in the past)\n            \
400..599  an error with that status (5xx: ADMIN-500-1)\n            \
reset           drop the connection without a complete response\n            \
delay=DUR       answer normally after DUR (e.g. longer than the client's timeout)\n            \
truncate[=N]    answer normally, body cut to N bytes (default: half)\n            \
malformed       200 with a body that is not JSON\n            \
wrong-shape     200 with JSON of the wrong shape (data is an object)\n            \
repeat-cursor   answer normally, links.next = the cursor handed out before\n            \
drop-items      answer normally, the page's list (data or items) emptied, links kept: items lost\n            \
revoke-key      revoke the API key: 401 for this and every later request\n            \
redirect=URL    307 to URL\n            \
next-link=TEXT  answer normally, links.next = TEXT (e.g. a URL on another host)\n            \
next-link-origin=ORIGIN  answer normally, links.next on ORIGIN (scheme://host:port), as behind a proxy\n  \
WHEN      always (default) | first=N | nth=A+B+C | every=N | from=N   (per-endpoint request number)\n  \
DUR       200ms | 1.5s | 2m | 1h\n\
Examples: --fault users_search:429,retry-after=0.2:first=3   --fault '*:503:nth=2+4'\n          \
--fault users_search:revoke-key:nth=5   --fault workspaces:truncate:first=1\n\n\
Rate limit (--rate-limit LIMIT/WINDOW[,OPTION]...): LIMIT requests per WINDOW over all /admin\n  \
endpoints of the org; every response carries X-RateLimit-Limit, X-RateLimit-Remaining and\n  \
X-RateLimit-Reset; requests over the limit get the gateway 429. OPTIONs:\n  \
retry-after                  429s carry Retry-After (until the reported reset)\n  \
start=set|first-request|aligned\n                               \
when a window opens: set = at start, then at the first request after the\n                               \
previous window ended (default); first-request = every window, the first too,\n                               \
at the first request after the previous one ended; aligned = at wall-clock\n                               \
multiples of WINDOW (100/min resets every whole minute)\n  \
reset-precision=us|ms|s|minute  how X-RateLimit-Reset is written (truncated; default ms);\n                               \
minute (2023-10-11T12:34Z) may lie in the past\n  \
reset-skew=DUR               each response reports the true reset plus its own skew of up to\n                               \
+/-DUR, like gateway nodes computing the header per response\n  \
skew-seed=N                  seed of the skew sequence (default 0; deterministic)\n  \
Examples: 100/s, 200/min, 5/500ms,retry-after, 100/s,start=first-request,reset-precision=us,reset-skew=1s,\n            \
100/s,start=first-request,reset-precision=minute\n\
--events-rate-limit SPEC: the same grammar, counted for events-stream alone (Atlassian limits per\n  \
path), after --rate-limit lets a request through; that path's X-RateLimit-* headers are its own.";

fn main() {
    let matches = Cli::command().after_help(after_help()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let opts = SandboxOptions {
        seed: cli.seed,
        users: cli.users,
        api_key: cli.api_key,
        port: cli.port,
        product_access_mode: cli.product_access,
        search_max_limit: cli.search_max_limit,
        orgs_list_empty: cli.orgs_list_empty,
        last_active_page_size: cli.last_active_page_size,
        latency: Duration::from_millis(cli.latency_ms),
        cursor_salt: cli.cursor_salt,
        faults: Faults { rules: cli.faults },
        rate_limit: cli.rate_limit,
        extra_orgs: cli.extra_orgs,
        forbidden_scopes: cli.forbid_scopes,
        directory_forbidden: cli.v2_directory_forbidden,
        groups_forbidden: cli.groups_forbidden,
        negative_estimates: cli.negative_estimates,
        events: cli.events,
        events_null_next: cli.events_null_next,
        events_access: cli.events_access,
        events_rate_limit: cli.events_rate_limit,
        ..Default::default()
    };
    let sandbox = match Sandbox::start(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("atlassian-sandbox: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let line = serde_json::json!({
        "base_url": sandbox.base_url(),
        "org_id": sandbox.org_id(),
        "directory_id": sandbox.directory_id(),
        "api_key": sandbox.api_key(),
        "users": cli.users,
    });
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("atlassian-sandbox: runtime: {e}");
            std::process::exit(1);
        }
    };
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    if cli.exit_on_stdin_eof {
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let mut stdin = std::io::stdin();
            loop {
                match std::io::Read::read(&mut stdin, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            let _ = eof_tx.send(());
        });
    } else {
        std::mem::forget(eof_tx);
    }
    rt.block_on(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
            _ = eof_rx => {}
        }
    });
    drop(sandbox);
}
