//! [`SandboxOptions`]: everything a sandbox is started with.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::events::EventsAccess;
use crate::faults::{Faults, RateLimit};
use crate::org::default_now;
use crate::ProductAccessMode;

/// Sandbox configuration. Use `..Default::default()` for forward compatibility.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub seed: u64,
    pub users: usize,
    pub api_key: String,
    /// 0 = pick a free port.
    pub port: u16,
    pub product_access_mode: ProductAccessMode,
    /// Maximum `limit` of the users search (larger -> 400).
    pub search_max_limit: usize,
    /// `GET /v1/orgs` returns 200 with an empty list (scoped keys).
    pub orgs_list_empty: bool,
    /// Entries per page of last-active-dates.
    pub last_active_page_size: usize,
    /// Added to every `/admin` response.
    pub latency: Duration,
    /// Fixed "now" of the generated org (default 2026-11-01T00:00:00Z).
    pub now: DateTime<Utc>,
    /// Salt of the opaque cursors; `None` = random per server instance.
    pub cursor_salt: Option<u64>,
    /// Initial fault rules (none by default).
    pub faults: Faults,
    /// A real per-organization rate limit over all `/admin` endpoints (none by default).
    pub rate_limit: Option<RateLimit>,
    /// Scopes the key lacks (`read:groups:admin`, ...; [`crate::Scope::all`] lists them): every
    /// route needing one answers `403 ADMIN-403-3`, the others keep working. A scope no route
    /// needs fails [`crate::Sandbox::start`]. Switchable later with
    /// [`crate::Sandbox::forbid_scope`] / [`crate::Sandbox::allow_scope`].
    pub forbidden_scopes: Vec<String>,
    /// `read:directories:admin` forbidden: the v2 directory endpoints (users search, users
    /// count, directories) answer `403 ADMIN-403-3`; v1 users, orgs, workspaces and
    /// last-active-dates keep working. Switchable later with
    /// [`crate::Sandbox::set_directory_forbidden`].
    pub directory_forbidden: bool,
    /// `read:groups:admin` forbidden: the groups search and role assignments answer
    /// `403 ADMIN-403-3`. Switchable later with [`crate::Sandbox::set_groups_forbidden`].
    pub groups_forbidden: bool,
    /// `GET /v1/orgs` also lists this many other organizations, which the key cannot read
    /// (their `GET /v1/orgs/{orgId}` is a 404); the list pages 20 at a time with `links.next`
    /// URLs. `orgs_list_empty` still wins.
    pub extra_orgs: usize,
    /// The integer estimates the official schema types as plain `integer` answer `-1`:
    /// `meta.total` of v1 users and of workspaces, `counts.resources` of the users search.
    /// (`users/count`'s `count` is not an estimate and stays exact.)
    pub negative_estimates: bool,
    /// Events of generated audit-log history ([`crate::generate_events`]), spread over the
    /// ~200 days before `now` (the oldest beyond the 180-day retention, never served); 0 = an
    /// empty log that only mutations fill. With [`crate::Sandbox::start_with_org`], used only
    /// when the given org's log is empty.
    pub events: usize,
    /// The last page of `events-stream` answers `meta.next: null` (what third-party mocks
    /// show) instead of a cursor to poll with (what Atlassian documents).
    pub events_null_next: bool,
    /// Whether the key may read the audit log (default: served; [`EventsAccess::Forbidden`] is
    /// `read:events:admin` forbidden). Switchable later with [`crate::Sandbox::set_events_access`].
    pub events_access: EventsAccess,
    /// A rate limit of `events-stream` alone (Atlassian's is per path), counted apart from
    /// `rate_limit` (none by default). Switchable with [`crate::Sandbox::set_events_rate_limit`]
    /// ([`crate::Sandbox::set_route_rate_limit`] for any route).
    pub events_rate_limit: Option<RateLimit>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 42,
            users: 1000,
            api_key: "sandbox-key-7f3c9a1e5b2d4c6f".to_string(),
            port: 0,
            product_access_mode: ProductAccessMode::Supported,
            search_max_limit: 100,
            orgs_list_empty: false,
            last_active_page_size: 10,
            latency: Duration::ZERO,
            now: default_now(),
            cursor_salt: None,
            faults: Faults::none(),
            rate_limit: None,
            forbidden_scopes: Vec::new(),
            directory_forbidden: false,
            groups_forbidden: false,
            extra_orgs: 0,
            negative_estimates: false,
            events: 0,
            events_null_next: false,
            events_access: EventsAccess::Guard,
            events_rate_limit: None,
        }
    }
}
