//! [`Sandbox`]: a running server on its own thread and tokio runtime, and the
//! handle tests use to read and change its org, counters, faults, limits and the
//! scopes its key lacks.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::events::{generate_events, Event, EventsAccess};
use crate::faults::{Faults, RateLimit};
use crate::ratelimit::RateLimitWindow;
use crate::model::Org;
use crate::org::{generate_org_at, OrgSpec};
use crate::resources::{directory, events, groups};
use crate::routes::Scope;
use crate::{rng, server, Endpoint, SandboxOptions};

/// A scope no route needs (so it cannot be forbidden).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScope(pub String);

impl std::fmt::Display for UnknownScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known: Vec<&str> = Scope::all().iter().map(|s| s.name).collect();
        write!(f, "no route needs a scope '{}' ({})", self.0, known.join("|"))
    }
}

impl std::error::Error for UnknownScope {}

fn scope_named(name: &str) -> Result<Scope, UnknownScope> {
    Scope::named(name).ok_or_else(|| UnknownScope(name.to_string()))
}

/// A running sandbox server. Dropping it shuts the server down.
pub struct Sandbox {
    pub(crate) shared: Arc<server::Shared>,
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
    /// except `seed`, which still salts the user order and draws the audit log's history
    /// when `opts.events > 0` and the org's log is empty).
    pub fn start_with_org(opts: SandboxOptions, mut org: Org) -> std::io::Result<Sandbox> {
        let mut forbidden: Vec<Scope> = opts
            .forbidden_scopes
            .iter()
            .map(|name| scope_named(name))
            .collect::<Result<_, _>>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        for (shorthand, scope) in [
            (opts.directory_forbidden, directory::SCOPE),
            (opts.groups_forbidden, groups::SCOPE),
            (opts.events_access == EventsAccess::Forbidden, events::SCOPE),
        ] {
            if shorthand {
                forbidden.push(scope);
            }
        }
        if opts.events > 0 && org.events.is_empty() {
            org.events = generate_events(&org, opts.seed, opts.events);
        }
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
            extra_orgs: opts.extra_orgs,
            negative_estimates: opts.negative_estimates,
            seed: opts.seed,
            events_null_next: opts.events_null_next,
        };
        let shared = Arc::new(server::Shared::new(
            cfg,
            org,
            rng::mix64(opts.seed ^ 0x0de5),
            opts.cursor_salt.unwrap_or_else(random_salt),
            opts.faults.clone(),
            opts.rate_limit.clone(),
        ));
        shared.route(Endpoint::EventsStream).limiter().set(opts.events_rate_limit.clone(), chrono::Utc::now());
        shared.events_empty.store(opts.events_access == EventsAccess::Empty, Ordering::SeqCst);
        for scope in &forbidden {
            shared.set_forbidden(scope, true);
        }
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
        self.shared.route(endpoint).requests.load(Ordering::SeqCst)
    }

    pub fn total_requests(&self) -> u64 {
        Endpoint::ALL.iter().map(|e| self.request_count(*e)).sum()
    }

    pub fn reset_counts(&self) {
        self.shared.reset_counts();
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
        self.shared.limiter().set(rate_limit, chrono::Utc::now());
    }

    /// The rate-limit window being counted (its true start and reset, and the requests in
    /// it), or `None` without a limit or before a `first-request` window opened.
    pub fn rate_limit_window(&self) -> Option<RateLimitWindow> {
        self.shared.limiter().window()
    }

    /// Refuse the API key from now on (every `/admin` request gets the gateway 401), as if
    /// an admin revoked it; [`crate::FaultAction::RevokeKey`] does the same from inside a request.
    pub fn revoke_key(&self) {
        self.shared.revoked.store(true, Ordering::SeqCst);
    }

    /// Accept the API key again.
    pub fn restore_key(&self) {
        self.shared.revoked.store(false, Ordering::SeqCst);
    }

    /// The key loses `scope` (e.g. `read:groups:admin`), as if an admin changed its scopes:
    /// every route needing it answers `403 ADMIN-403-3` until [`Sandbox::allow_scope`].
    /// `--forbid-scope` and `POST /__sandbox/scopes/{scope}` do the same.
    pub fn forbid_scope(&self, scope: &str) -> Result<(), UnknownScope> {
        self.shared.set_forbidden(&scope_named(scope)?, true);
        Ok(())
    }

    /// The key gets `scope` back.
    pub fn allow_scope(&self, scope: &str) -> Result<(), UnknownScope> {
        self.shared.set_forbidden(&scope_named(scope)?, false);
        Ok(())
    }

    /// Whether the key lacks `scope` (a scope no route needs is never forbidden).
    pub fn scope_forbidden(&self, scope: &str) -> bool {
        Scope::named(scope).is_some_and(|s| self.shared.forbids(&s))
    }

    /// `read:directories:admin` forbidden or allowed (see [`SandboxOptions::directory_forbidden`]).
    pub fn set_directory_forbidden(&self, forbidden: bool) {
        self.shared.set_forbidden(&directory::SCOPE, forbidden);
    }

    /// `read:groups:admin` forbidden or allowed ([`SandboxOptions::groups_forbidden`]).
    pub fn set_groups_forbidden(&self, forbidden: bool) {
        self.shared.set_forbidden(&groups::SCOPE, forbidden);
    }

    /// Switches what the audit-log endpoints answer ([`SandboxOptions::events_access`]), as
    /// if the key's scopes or the org's Atlassian Guard subscription changed.
    pub fn set_events_access(&self, access: EventsAccess) {
        self.shared.set_forbidden(&events::SCOPE, access == EventsAccess::Forbidden);
        self.shared.events_empty.store(access == EventsAccess::Empty, Ordering::SeqCst);
    }

    pub fn events_access(&self) -> EventsAccess {
        if self.shared.forbids(&events::SCOPE) {
            EventsAccess::Forbidden
        } else if self.shared.events_empty.load(Ordering::SeqCst) {
            EventsAccess::Empty
        } else {
            EventsAccess::Guard
        }
    }

    /// Replace `endpoint`'s own rate limit, counted after the org's (`None` = none); its
    /// window starts afresh. Its responses then carry its `X-RateLimit-*` headers.
    pub fn set_route_rate_limit(&self, endpoint: Endpoint, rate_limit: Option<RateLimit>) {
        self.shared.route(endpoint).limiter().set(rate_limit, chrono::Utc::now());
    }

    /// The window `endpoint`'s own limit is counting, like [`Sandbox::rate_limit_window`].
    pub fn route_rate_limit_window(&self, endpoint: Endpoint) -> Option<RateLimitWindow> {
        self.shared.route(endpoint).limiter().window()
    }

    /// Replace the per-path limit of `events-stream` (`None` = none); its window starts afresh.
    pub fn set_events_rate_limit(&self, rate_limit: Option<RateLimit>) {
        self.set_route_rate_limit(Endpoint::EventsStream, rate_limit);
    }

    /// The window the `events-stream` limit is counting, like [`Sandbox::rate_limit_window`].
    pub fn events_rate_limit_window(&self) -> Option<RateLimitWindow> {
        self.route_rate_limit_window(Endpoint::EventsStream)
    }

    /// Every `events-stream` cursor issued so far is refused from now on (`400 ADMIN-400-1`),
    /// as if it expired; later cursors work. `POST /__sandbox/events/expire-cursors` does the same.
    pub fn expire_event_cursors(&self) {
        self.shared.event_cursor_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The events `events-stream` serves now (processed within the 180-day retention), in
    /// processing order; [`Sandbox::truth`]'s `events` also holds the older ones.
    pub fn served_events(&self) -> Vec<Event> {
        self.with_org(|org| org.served_events().cloned().collect())
    }

    pub fn key_revoked(&self) -> bool {
        self.shared.revoked.load(Ordering::SeqCst)
    }

    /// 429 responses served so far, by the rate limit or a fault rule.
    pub fn throttled_count(&self) -> u64 {
        self.shared.throttled()
    }

    /// 429 responses served so far to `endpoint`, by the rate limit or a fault rule.
    pub fn throttled_count_for(&self, endpoint: Endpoint) -> u64 {
        self.shared.route(endpoint).throttled.load(Ordering::Relaxed)
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
