//! `atlassian-sandbox`: a faithful, deterministic fake of the Atlassian Cloud
//! Organizations (Admin) REST API for tests, demos and benchmarks.
//!
//! [`Sandbox::start`] generates a synthetic organization from a seed
//! ([`generate_org`]) and serves it on `127.0.0.1` from its own thread and
//! tokio runtime, so plain `#[test]` functions can use it:
//!
//! ```no_run
//! use atlassian_sandbox::{Sandbox, SandboxOptions, Endpoint};
//! let sb = Sandbox::start(SandboxOptions { users: 250, ..Default::default() }).unwrap();
//! let url = format!("{}/admin/v1/orgs/{}", sb.base_url(), sb.org_id());
//! // ... call it with `Authorization: Bearer {sb.api_key()}` ...
//! assert_eq!(sb.request_count(Endpoint::Org), 0);
//! sb.with_org_mut(|org| org.users[0].name = "Renamed".into());
//! ```
//!
//! Routes (all `/admin/...` need `Authorization: Bearer <api_key>`):
//! - `GET  /admin/v1/orgs` and `GET /admin/v1/orgs/{orgId}`
//! - `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search`
//! - `GET  /admin/v2/orgs/{orgId}/directories/{directoryId}/users/count`
//! - `POST /admin/v2/orgs/{orgId}/workspaces`
//! - `GET  /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates`
//! - control, no auth: `GET /__sandbox/stats`, `POST /__sandbox/stats/reset`,
//!   `GET /__sandbox/truth`.
//!
//! Misbehaviour on demand (see [`faults`]): [`Sandbox::set_faults`] /
//! [`Sandbox::with_faults_mut`] (429 bursts, 5xx, resets, slow and truncated
//! responses, repeated cursors, a key revoked mid-sync, redirects),
//! [`Sandbox::set_rate_limit`] (a real per-organization limit with the three
//! `X-RateLimit-*` headers) and [`Sandbox::revoke_key`]; the binary's `--fault`
//! and `--rate-limit` flags take the same rules as text.

#![allow(clippy::manual_is_multiple_of, clippy::result_large_err)]

pub mod cursor;
pub mod faults;
pub mod model;
pub mod org;
pub mod render;
pub mod rng;
mod server;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use faults::{FaultAction, FaultRule, FaultTrigger, Faults, RateLimit, ResetPrecision, Throttle};
pub use model::{
    AccountStatus, ClaimStatus, Entitlement, Group, ManagementSource, MembershipStatus, Org,
    ProductAccess, SiteRole, User, UserQuirks, UserStatus, Workspace, WorkspaceStatus,
    BILLABLE_ROLES,
};
pub use org::{default_now, generate_org, generate_org_at, OrgSpec};

/// How `expand: ["productAccess"]` behaves on the users search (unconfirmed upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductAccessMode {
    /// Accepted and returned (default).
    #[default]
    Supported,
    /// Rejected with `400 ADMIN-400-4`.
    Rejected,
    /// Accepted but the field is never returned.
    Omitted,
}

impl std::str::FromStr for ProductAccessMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "supported" => Ok(ProductAccessMode::Supported),
            "rejected" => Ok(ProductAccessMode::Rejected),
            "omitted" => Ok(ProductAccessMode::Omitted),
            o => Err(format!("unknown product access mode '{o}' (supported|rejected|omitted)")),
        }
    }
}

/// The `/admin` endpoints, for request counting and fault rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    UsersSearch = 0,
    Workspaces = 1,
    Org = 2,
    Orgs = 3,
    UsersCount = 4,
    LastActiveDates = 5,
}

impl Endpoint {
    pub const ALL: [Endpoint; 6] = [
        Endpoint::UsersSearch,
        Endpoint::Workspaces,
        Endpoint::Org,
        Endpoint::Orgs,
        Endpoint::UsersCount,
        Endpoint::LastActiveDates,
    ];
    /// Name used in `/__sandbox/stats`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::UsersSearch => "users_search",
            Endpoint::Workspaces => "workspaces",
            Endpoint::Org => "org",
            Endpoint::Orgs => "orgs",
            Endpoint::UsersCount => "users_count",
            Endpoint::LastActiveDates => "last_active_dates",
        }
    }
}

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
        }
    }
}

/// A running sandbox server. Dropping it shuts the server down.
pub struct Sandbox {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn random_salt() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

impl Sandbox {
    /// Generate the org from `opts.seed`/`opts.users` and start serving it.
    /// Blocks until the listener is bound.
    pub fn start(opts: SandboxOptions) -> std::io::Result<Sandbox> {
        let org = generate_org_at(&OrgSpec { seed: opts.seed, users: opts.users }, opts.now);
        Self::start_with_org(opts, org)
    }

    /// Serve a caller-provided org (`opts.seed`/`users`/`now` are then unused
    /// except `seed`, which still salts the user order).
    pub fn start_with_org(opts: SandboxOptions, org: Org) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(("127.0.0.1", opts.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let cfg = server::Config {
            api_key: opts.api_key.clone(),
            product_access_mode: opts.product_access_mode,
            search_max_limit: opts.search_max_limit.max(1),
            orgs_list_empty: opts.orgs_list_empty,
            last_active_page_size: opts.last_active_page_size.max(1),
            latency: opts.latency,
            base_url: format!("http://{addr}"),
        };
        let shared = Arc::new(server::Shared::new(
            cfg,
            org,
            rng::mix64(opts.seed ^ 0x0de5),
            opts.cursor_salt.unwrap_or_else(random_salt),
            opts.faults.clone(),
            opts.rate_limit.clone(),
        ));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let app = server::router(shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("atlassian-sandbox-{}", addr.port()))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("atlassian-sandbox-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    // Like any production HTTP front end: no Nagle delay on responses.
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => axum::serve::ListenerExt::tap_io(l, |tcp| {
                            let _ = tcp.set_nodelay(true);
                        }),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let notify = Arc::new(tokio::sync::Notify::new());
                    let n2 = notify.clone();
                    let serve = axum::serve(listener, app)
                        .with_graceful_shutdown(async move { n2.notified().await });
                    let handle = tokio::spawn(async move {
                        let _ = serve.await;
                    });
                    let _ = ready_tx.send(Ok(()));
                    let _ = stop_rx.await;
                    notify.notify_one();
                    let _ = tokio::time::timeout(Duration::from_secs(2), handle).await;
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(std::io::Error::other("sandbox server thread exited"));
            }
        }
        Ok(Sandbox { shared, addr, shutdown: Some(stop_tx), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn org_id(&self) -> String {
        self.shared.read().org.id.clone()
    }

    pub fn directory_id(&self) -> String {
        self.shared.read().org.directory_id.clone()
    }

    pub fn api_key(&self) -> &str {
        &self.shared.cfg.api_key
    }

    /// Snapshot (clone) of the current organization.
    pub fn truth(&self) -> Org {
        self.shared.read().org.clone()
    }

    /// Run `f` on the org read-only without cloning it.
    pub fn with_org<R>(&self, f: impl FnOnce(&Org) -> R) -> R {
        f(&self.shared.read().org)
    }

    /// Mutate the org; later responses see the change (the user order index
    /// is rebuilt afterwards, existing cursors stay valid).
    pub fn with_org_mut<R>(&self, f: impl FnOnce(&mut Org) -> R) -> R {
        let mut st = self.shared.write();
        let r = f(&mut st.org);
        st.reindex();
        r
    }

    /// Requests that reached `endpoint` (including errors) since the last reset.
    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        self.shared.counters[endpoint as usize].load(Ordering::SeqCst)
    }

    pub fn total_requests(&self) -> u64 {
        Endpoint::ALL.iter().map(|e| self.request_count(*e)).sum()
    }

    pub fn reset_counts(&self) {
        for c in &self.shared.counters {
            c.store(0, Ordering::SeqCst);
        }
    }

    /// Replace the fault rules.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Mutate the fault rules in place.
    pub fn with_faults_mut<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut self.shared.faults.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replace the rate limit (`None` = unlimited); the current window starts afresh.
    pub fn set_rate_limit(&self, rate_limit: Option<RateLimit>) {
        self.shared.set_rate_limit(rate_limit);
    }

    /// Refuse the API key from now on (every `/admin` request gets the gateway 401), as if
    /// an admin revoked it; [`FaultAction::RevokeKey`] does the same from inside a request.
    pub fn revoke_key(&self) {
        self.shared.revoked.store(true, Ordering::SeqCst);
    }

    /// Accept the API key again.
    pub fn restore_key(&self) {
        self.shared.revoked.store(false, Ordering::SeqCst);
    }

    pub fn key_revoked(&self) -> bool {
        self.shared.revoked.load(Ordering::SeqCst)
    }

    /// 429 responses served so far, by the rate limit or a fault rule.
    pub fn throttled_count(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// The same JSON as `GET /__sandbox/stats`.
    pub fn stats_json(&self) -> serde_json::Value {
        server::stats_json(&self.shared)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
