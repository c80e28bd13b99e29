//! What every handler shares: the configuration, the org with its user order
//! index, what the gate keeps per endpoint (requests, 429s, its own rate limit, the
//! last `links.next`), fault rules, the org's rate-limit window, the scopes the key
//! lacks, and the helpers that write the API's error bodies.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::json;

use super::json_response;
use super::paging::Cursors;
use crate::cursor::{CursorCodec, UsersCursor};
use crate::events::sort_log;
use crate::faults::Faults;
use crate::ratelimit::{RateLimit, RateLimiter};
use crate::model::{Org, User};
use crate::mutations::named::NamedMutation;
use crate::mutations::{Mutation, MutationError, MutationReport, MutationState};
use crate::rng::{hash_str, mix64, uuid_from};
use crate::routes::{Scope, ROUTES};
use crate::{Endpoint, ProductAccessMode};

/// Settings the handlers read (immutable after start).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub api_key: String,
    pub product_access_mode: ProductAccessMode,
    pub search_max_limit: usize,
    pub orgs_list_empty: bool,
    pub last_active_page_size: usize,
    pub latency: Duration,
    pub base_url: String,
    pub extra_orgs: usize,
    pub negative_estimates: bool,
    /// The org's seed (places the real org among the extra ones).
    pub seed: u64,
    /// The last `events-stream` page answers `next: null` ([`crate::SandboxOptions::events_null_next`]).
    pub events_null_next: bool,
}

impl Config {
    /// An estimate as served: the true value, or `-1` with `negative_estimates`.
    pub fn estimate(&self, n: usize) -> i64 {
        if self.negative_estimates {
            -1
        } else {
            n as i64
        }
    }
}

/// The org plus its user order index (the order every users list pages in).
pub(crate) struct OrgState {
    pub org: Org,
    /// `(sort key, user index)` sorted by `(key, account id)`.
    pub order: Vec<(u64, u32)>,
    order_salt: u64,
    /// Managed accounts (v1 users `meta.total`), counted at each reindex.
    pub managed_total: usize,
    /// The seeded state of the named mutations.
    pub mutations: MutationState,
}

/// One page of users walked along the order index.
pub(crate) struct UserPage {
    /// User indexes of the page, in order.
    pub items: Vec<usize>,
    /// First user of the next page.
    pub next: Option<usize>,
    /// First user of the previous page.
    pub prev: Option<usize>,
}

impl OrgState {
    pub fn new(org: Org, order_salt: u64, seed: u64) -> Self {
        let mutations = MutationState::new(seed, &org);
        let mut s = OrgState { org, order: Vec::new(), order_salt, managed_total: 0, mutations };
        s.reindex();
        s
    }

    /// Rebuild the order after a mutation.
    pub fn reindex(&mut self) {
        let salt = self.order_salt;
        let users = &self.org.users;
        let mut order: Vec<(u64, u32)> =
            users.iter().enumerate().map(|(i, u)| (hash_str(salt, &u.account_id), i as u32)).collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| users[a.1 as usize].account_id.cmp(&users[b.1 as usize].account_id))
        });
        self.order = order;
        self.managed_total = users.iter().filter(|u| u.is_managed()).count();
        // The log in processing order, whatever `with_org_mut` did to it.
        sort_log(&mut self.org.events);
    }

    pub fn key_of(&self, account_id: &str) -> u64 {
        hash_str(self.order_salt, account_id)
    }

    /// First order position whose `(key, account id) >= (h, a)`.
    pub fn lower_bound(&self, h: u64, a: &str) -> usize {
        let users = &self.org.users;
        self.order.partition_point(|(k, i)| (*k, users[*i as usize].account_id.as_str()) < (h, a))
    }

    /// Index of the user with this account id.
    pub fn find_user(&self, account_id: &str) -> Option<usize> {
        let pos = self.lower_bound(self.key_of(account_id), account_id);
        let (_, i) = *self.order.get(pos)?;
        (self.org.users[i as usize].account_id == account_id).then_some(i as usize)
    }

    /// Up to `limit` users that `keep` accepts from order position `start` on, with the
    /// first users of the next and previous pages. Costs O(page), not O(org), when `keep`
    /// accepts a fair share of users.
    pub fn page(&self, start: usize, limit: usize, keep: impl Fn(&User) -> bool) -> UserPage {
        let users = &self.org.users;
        let start = start.min(self.order.len());
        let mut items = Vec::with_capacity(limit);
        let mut next = None;
        for &(_, i) in &self.order[start..] {
            if keep(&users[i as usize]) {
                if items.len() == limit {
                    next = Some(i as usize);
                    break;
                }
                items.push(i as usize);
            }
        }
        let mut prev = None;
        let mut found = 0;
        for &(_, i) in self.order[..start].iter().rev() {
            if found == limit {
                break;
            }
            if keep(&users[i as usize]) {
                prev = Some(i as usize);
                found += 1;
            }
        }
        UserPage { items, next, prev }
    }

    /// The cursor that starts a page at this user (also the v2 `links.self` of a user).
    pub fn cursor_at(&self, s: &Shared, cursors: &Cursors<UsersCursor>, u: &User) -> String {
        cursors.write(s, &UsersCursor { h: self.key_of(&u.account_id), a: u.account_id.clone() })
    }

    /// The order position a request's users cursor points at: 0 without one, the API's `400
    /// ADMIN-400-1` for one that is not of `cursors`.
    pub fn cursor_position(&self, s: &Shared, cursors: &Cursors<UsersCursor>, given: Option<&str>) -> Result<usize, Response> {
        Ok(cursors.read(s, given)?.map_or(0, |p| self.lower_bound(p.h, &p.a)))
    }
}

/// What the gate keeps for one endpoint.
#[derive(Default)]
pub(crate) struct RouteState {
    /// Requests that reached it since the last reset (the fault rules' request numbers).
    pub requests: AtomicU64,
    /// 429s served to it, by a rate limit or a fault.
    pub throttled: AtomicU64,
    /// Its own rate limit, counted after the org's (Atlassian limits some paths apart).
    pub limiter: Mutex<RateLimiter>,
    /// The `links.next` it handed out last (kept only while a rule may repeat it).
    pub last_next: Mutex<Option<String>>,
}

impl RouteState {
    pub fn limiter(&self) -> std::sync::MutexGuard<'_, RateLimiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn last_next(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_next.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// State shared by all handlers and the [`crate::Sandbox`] handle.
pub(crate) struct Shared {
    pub cfg: Config,
    pub state: RwLock<OrgState>,
    /// Per endpoint, in [`ROUTES`] order ([`Shared::route`]).
    routes: Vec<RouteState>,
    pub faults: RwLock<Faults>,
    pub codec: CursorCodec,
    err_seq: AtomicU64,
    /// Set by [`crate::FaultAction::RevokeKey`]: the configured key is refused from then on.
    pub revoked: AtomicBool,
    /// The scopes the key lacks: their routes answer 403.
    forbidden: RwLock<Vec<&'static str>>,
    pub limiter: Mutex<RateLimiter>,
    /// `events-stream` answers an empty 200 ([`crate::EventsAccess::Empty`]).
    pub events_empty: AtomicBool,
    /// Bumped by [`crate::Sandbox::expire_event_cursors`]: events cursors of an older epoch are refused.
    pub event_cursor_epoch: AtomicU64,
}

impl Shared {
    pub fn new(
        cfg: Config,
        org: Org,
        order_salt: u64,
        cursor_salt: u64,
        faults: Faults,
        rate_limit: Option<RateLimit>,
    ) -> Self {
        Shared {
            state: RwLock::new(OrgState::new(org, order_salt, cfg.seed)),
            cfg,
            routes: ROUTES.iter().map(|_| RouteState::default()).collect(),
            faults: RwLock::new(faults),
            codec: CursorCodec::new(cursor_salt),
            err_seq: AtomicU64::new(0),
            revoked: AtomicBool::new(false),
            forbidden: RwLock::new(Vec::new()),
            limiter: Mutex::new(RateLimiter::new(rate_limit, Utc::now())),
            events_empty: AtomicBool::new(false),
            event_cursor_epoch: AtomicU64::new(0),
        }
    }

    /// What the gate keeps for `endpoint`.
    pub fn route(&self, endpoint: Endpoint) -> &RouteState {
        &self.routes[endpoint.index()]
    }

    /// Every endpoint's state, in [`Endpoint::ALL`] order.
    pub fn routes(&self) -> impl Iterator<Item = (Endpoint, &RouteState)> {
        Endpoint::ALL.iter().copied().zip(&self.routes)
    }

    pub fn faults(&self) -> RwLockReadGuard<'_, Faults> {
        self.faults.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn limiter(&self) -> std::sync::MutexGuard<'_, RateLimiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the key lacks `scope`.
    pub fn forbids(&self, scope: &Scope) -> bool {
        self.forbidden.read().unwrap_or_else(|e| e.into_inner()).contains(&scope.name)
    }

    /// The key loses (or gets back) `scope`.
    pub fn set_forbidden(&self, scope: &Scope, forbidden: bool) {
        let mut set = self.forbidden.write().unwrap_or_else(|e| e.into_inner());
        set.retain(|s| *s != scope.name);
        if forbidden {
            set.push(scope.name);
        }
    }

    /// Request numbering starts afresh (the 429 counts stay).
    pub fn reset_counts(&self) {
        for r in &self.routes {
            r.requests.store(0, Ordering::SeqCst);
        }
    }

    /// 429s served in all.
    pub fn throttled(&self) -> u64 {
        self.routes.iter().map(|r| r.throttled.load(Ordering::Relaxed)).sum()
    }

    /// Counts a 429 served to `endpoint`.
    pub fn count_throttled(&self, endpoint: Endpoint) {
        self.route(endpoint).throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        !self.revoked.load(Ordering::SeqCst)
            && headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, token) = v.trim().split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
                })
                .is_some_and(|t| t == self.cfg.api_key)
    }

    pub fn read(&self) -> RwLockReadGuard<'_, OrgState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, OrgState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Apply a [`Mutation`] to the org and reindex.
    pub fn mutate(&self, m: &Mutation) -> Result<MutationReport, MutationError> {
        let mut st = self.write();
        let st = &mut *st;
        let report = st.mutations.apply(&mut st.org, m)?;
        st.reindex();
        Ok(report)
    }

    /// Apply a resource's named mutation with these fields to the org and reindex.
    pub fn mutate_named(&self, m: &NamedMutation, fields: serde_json::Value) -> Result<MutationReport, MutationError> {
        let mut st = self.write();
        let st = &mut *st;
        let report = st.mutations.apply_named(&mut st.org, m, fields)?;
        st.reindex();
        Ok(report)
    }

    /// An application error response.
    pub fn error(&self, status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
        let n = self.err_seq.fetch_add(1, Ordering::Relaxed);
        let id = uuid_from(mix64(n ^ 0xe11), mix64(n.wrapping_add(0x5eed)));
        json_response(
            status,
            &json!({"errors": [{
                "id": id,
                "status": status.as_u16().to_string(),
                "code": code,
                "title": title,
                "detail": detail,
            }]}),
        )
    }

    pub fn bad_request(&self, code: &str, detail: &str) -> Response {
        self.error(StatusCode::BAD_REQUEST, code, "Bad Request", detail)
    }

    pub fn invalid_cursor(&self) -> Response {
        self.bad_request("ADMIN-400-1", "Invalid page cursor")
    }

    /// `Ok` for our org id, else the API's 404.
    pub fn check_org(&self, org: &Org, org_id: &str) -> Result<(), Response> {
        if org.id == org_id {
            Ok(())
        } else {
            Err(self.error(StatusCode::NOT_FOUND, "ADMIN-404-2", "Not Found", "Organization not found"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::OrgState;
    use crate::{generate_org, OrgSpec};

    /// A page looks at O(page) users, not O(org): counted, whatever the org's size.
    #[test]
    fn a_page_looks_at_the_users_around_it_only() {
        let st = OrgState::new(generate_org(&OrgSpec { seed: 42, users: 50_000 }), 7, 42);
        for keep_every in [1u64, 2, 3] {
            let looked = Cell::new(0usize);
            let keep = |u: &crate::User| {
                looked.set(looked.get() + 1);
                crate::rng::hash_str(1, &u.account_id) % keep_every == 0
            };
            let page = st.page(25_000, 100, keep);
            assert_eq!(page.items.len(), 100);
            assert!(page.next.is_some() && page.prev.is_some());
            // 100 kept and the next one ahead, 100 kept behind: about that many times `keep_every`.
            assert!(looked.get() < 300 * keep_every as usize, "{} users looked at to keep 1 in {keep_every}", looked.get());
        }
    }
}
