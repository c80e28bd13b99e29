//! The axum application: `/admin` routes mimicking the Atlassian Admin API and
//! the unauthenticated `/__sandbox` control routes.
//!
//! Every matched `/admin` route runs behind [`admin_gate`]: count the request,
//! add the configured latency, apply the first matching fault rule, check the
//! bearer key (gateway `401 {"code":401,"message":"Unauthorized"}`), apply the
//! per-organization rate limit, run the handler, then apply the faults that
//! alter a real response (truncation, a repeated cursor). Application errors
//! use the `{"errors":[{id,status,code,title,detail}]}` body. Bad input never
//! panics: bodies are parsed by hand from bytes so every failure maps to an API
//! error body.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::cursor::{CursorCodec, LastActiveCursor, UsersCursor, WorkspacesCursor};
use crate::faults::{format_retry_after, FaultAction, Faults, RateLimit, Throttle};
use crate::model::*;
use crate::render::{self, Expand, TruthView, UserView};
use crate::rng::{hash_str, mix64, uuid_from};
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
}

/// The org plus its search order index.
pub(crate) struct OrgState {
    pub org: Org,
    /// `(sort key, user index)` sorted by `(key, account id)`.
    pub order: Vec<(u64, u32)>,
    order_salt: u64,
}

impl OrgState {
    pub fn new(org: Org, order_salt: u64) -> Self {
        let mut s = OrgState { org, order: Vec::new(), order_salt };
        s.reindex();
        s
    }

    /// Rebuild the order after a mutation.
    pub fn reindex(&mut self) {
        let salt = self.order_salt;
        let users = &self.org.users;
        let mut order: Vec<(u64, u32)> = users
            .iter()
            .enumerate()
            .map(|(i, u)| (hash_str(salt, &u.account_id), i as u32))
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| users[a.1 as usize].account_id.cmp(&users[b.1 as usize].account_id))
        });
        self.order = order;
    }

    pub fn key_of(&self, account_id: &str) -> u64 {
        hash_str(self.order_salt, account_id)
    }

    /// First order position whose `(key, account id) >= (h, a)`.
    fn lower_bound(&self, h: u64, a: &str) -> usize {
        let users = &self.org.users;
        self.order
            .partition_point(|(k, i)| (*k, users[*i as usize].account_id.as_str()) < (h, a))
    }

    /// Index of the user with this account id.
    pub fn find_user(&self, account_id: &str) -> Option<usize> {
        let pos = self.lower_bound(self.key_of(account_id), account_id);
        let (_, i) = *self.order.get(pos)?;
        (self.org.users[i as usize].account_id == account_id).then_some(i as usize)
    }
}

/// State shared by all handlers and the [`crate::Sandbox`] handle.
pub(crate) struct Shared {
    pub cfg: Config,
    pub state: RwLock<OrgState>,
    pub counters: [AtomicU64; Endpoint::ALL.len()],
    pub faults: RwLock<Faults>,
    pub codec: CursorCodec,
    err_seq: AtomicU64,
    /// Set by [`FaultAction::RevokeKey`]: the configured key is refused from then on.
    pub revoked: AtomicBool,
    pub rate_limit: RwLock<Option<RateLimit>>,
    /// The current rate-limit window: its start and the requests counted in it.
    window: Mutex<(DateTime<Utc>, u64)>,
    /// 429s served, by the rate limit or a fault.
    pub throttled: AtomicU64,
    /// The `links.next` each endpoint handed out last (kept only while a rule may repeat it).
    last_next: Mutex<[Option<String>; Endpoint::ALL.len()]>,
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
            cfg,
            state: RwLock::new(OrgState::new(org, order_salt)),
            counters: Default::default(),
            faults: RwLock::new(faults),
            codec: CursorCodec::new(cursor_salt),
            err_seq: AtomicU64::new(0),
            revoked: AtomicBool::new(false),
            rate_limit: RwLock::new(rate_limit),
            window: Mutex::new((Utc::now(), 0)),
            throttled: AtomicU64::new(0),
            last_next: Mutex::new(Default::default()),
        }
    }

    pub fn faults(&self) -> std::sync::RwLockReadGuard<'_, Faults> {
        self.faults.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_rate_limit(&self, rate_limit: Option<RateLimit>) {
        *self.rate_limit.write().unwrap_or_else(|e| e.into_inner()) = rate_limit;
        *self.window.lock().unwrap_or_else(|e| e.into_inner()) = (Utc::now(), 0);
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        !self.revoked.load(Ordering::SeqCst)
            && headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let v = v.trim();
                    let (scheme, token) = v.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
                })
                .is_some_and(|t| t == self.cfg.api_key)
    }

    /// Counts one request against the rate limit: `Ok` with the headers to add, or the 429.
    fn take_quota(&self) -> Result<Vec<(&'static str, String)>, Response> {
        let Some(rl) = self.rate_limit.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Ok(Vec::new());
        };
        let now = Utc::now();
        let window = chrono::Duration::from_std(rl.window).unwrap_or(chrono::Duration::MAX);
        let (reset, used) = {
            let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            if now >= w.0 + window {
                *w = (now, 0);
            }
            w.1 += 1;
            (w.0 + window, w.1)
        };
        let headers = vec![
            ("X-RateLimit-Limit", rl.limit.to_string()),
            ("X-RateLimit-Remaining", rl.limit.saturating_sub(used).to_string()),
            ("X-RateLimit-Reset", rl.reset_precision.format(reset)),
        ];
        if used <= rl.limit {
            return Ok(headers);
        }
        let mut resp = throttled_response(headers);
        if rl.retry_after {
            let wait = (reset - now).to_std().unwrap_or(Duration::ZERO);
            add_header(&mut resp, "Retry-After", &format_retry_after(wait));
        }
        self.throttled.fetch_add(1, Ordering::Relaxed);
        Err(resp)
    }

    pub fn read(&self) -> RwLockReadGuard<'_, OrgState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, OrgState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// An application error response.
    fn error(&self, status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
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

    fn bad_request(&self, code: &str, detail: &str) -> Response {
        self.error(StatusCode::BAD_REQUEST, code, "Bad Request", detail)
    }

    fn org_not_found(&self) -> Response {
        self.error(StatusCode::NOT_FOUND, "ADMIN-404-2", "Not Found", "Organization not found")
    }
}

type AppState = std::sync::Arc<Shared>;

fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    json_bytes(status, serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

const ROUTES: [(&str, Endpoint, Method); 6] = [
    ("/admin/v1/orgs", Endpoint::Orgs, Method::GET),
    ("/admin/v1/orgs/{org_id}", Endpoint::Org, Method::GET),
    ("/admin/v2/orgs/{org_id}/directories/{dir_id}/users/search", Endpoint::UsersSearch, Method::POST),
    ("/admin/v2/orgs/{org_id}/directories/{dir_id}/users/count", Endpoint::UsersCount, Method::GET),
    ("/admin/v2/orgs/{org_id}/workspaces", Endpoint::Workspaces, Method::POST),
    ("/admin/v1/orgs/{org_id}/directory/users/{account_id}/last-active-dates", Endpoint::LastActiveDates, Method::GET),
];

/// Build the router.
pub(crate) fn router(shared: AppState) -> Router {
    let [orgs, org, search, count, ws, last] = ROUTES.map(|r| r.0);
    let admin = Router::new()
        .route(orgs, get(orgs_list))
        .route(org, get(org_get))
        .route(search, post(users_search))
        .route(count, get(users_count))
        .route(ws, post(workspaces))
        .route(last, get(last_active_dates))
        .route_layer(middleware::from_fn_with_state(shared.clone(), admin_gate));
    Router::new()
        .merge(admin)
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/stats/reset", post(stats_reset))
        .route("/__sandbox/truth", get(truth))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// Everything an `/admin` request meets before and after its handler (see the module doc).
async fn admin_gate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let Some(ep) = ROUTES.iter().find(|r| Some(r.0) == route.as_deref() && r.2 == req.method()).map(|r| r.1) else {
        // A wrong method on a known path: the handler's 405, uncounted.
        return next.run(req).await;
    };
    let n = s.counters[ep as usize].fetch_add(1, Ordering::SeqCst) + 1;
    if !s.cfg.latency.is_zero() {
        tokio::time::sleep(s.cfg.latency).await;
    }
    let (fault, remember_next) = {
        let f = s.faults();
        (f.check(ep, n).cloned(), f.repeats_cursor(ep))
    };
    match &fault {
        Some(FaultAction::Respond { status, body, headers }) => {
            if *status == 429 {
                s.throttled.fetch_add(1, Ordering::Relaxed);
            }
            let mut resp = json_response(StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body);
            for (k, v) in headers {
                add_header(&mut resp, k, v);
            }
            return resp;
        }
        Some(FaultAction::RespondRaw { status, body }) => {
            return json_bytes(StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body.clone());
        }
        Some(FaultAction::TooManyRequests(t)) => {
            s.throttled.fetch_add(1, Ordering::Relaxed);
            return throttle_fault(t);
        }
        Some(FaultAction::ResetConnection) => return Response::new(Body::new(Aborted)),
        Some(FaultAction::Redirect { status, location }) => {
            let mut resp = StatusCode::from_u16(*status).unwrap_or(StatusCode::TEMPORARY_REDIRECT).into_response();
            add_header(&mut resp, "Location", location);
            return resp;
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(*d).await,
        Some(FaultAction::RevokeKey) => s.revoked.store(true, Ordering::SeqCst),
        Some(FaultAction::Truncate { .. } | FaultAction::RepeatCursor) | None => {}
    }
    if !s.authorized(req.headers()) {
        return json_response(StatusCode::UNAUTHORIZED, &json!({"code": 401, "message": "Unauthorized"}));
    }
    let quota = match s.take_quota() {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let mut resp = next.run(req).await;
    match &fault {
        Some(FaultAction::Truncate { keep }) => {
            resp = rewrite_body(resp, |b| {
                let keep = keep.unwrap_or(b.len() / 2).min(b.len().saturating_sub(1));
                b[..keep].to_vec()
            })
            .await;
        }
        Some(FaultAction::RepeatCursor) => {
            let previous = s.last_next.lock().unwrap_or_else(|e| e.into_inner())[ep as usize].clone();
            resp = rewrite_body(resp, |b| match (serde_json::from_slice::<Value>(&b), previous) {
                (Ok(mut v), Some(prev)) if v.get("links").is_some_and(Value::is_object) => {
                    v["links"]["next"] = json!(prev);
                    serde_json::to_vec(&v).unwrap_or(b)
                }
                _ => b,
            })
            .await;
        }
        _ if remember_next && resp.status().is_success() => {
            let mut seen = None;
            resp = rewrite_body(resp, |b| {
                seen = serde_json::from_slice::<Value>(&b)
                    .ok()
                    .and_then(|v| v.pointer("/links/next").and_then(Value::as_str).map(str::to_owned));
                b
            })
            .await;
            s.last_next.lock().unwrap_or_else(|e| e.into_inner())[ep as usize] = seen;
        }
        _ => {}
    }
    for (k, v) in quota {
        add_header(&mut resp, k, &v);
    }
    resp
}

/// Replaces a response's body by `f(body)`, keeping status and headers (the length is reset).
async fn rewrite_body(resp: Response, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(f(bytes)))
}

fn add_header(resp: &mut Response, k: &str, v: &str) {
    if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
        resp.headers_mut().insert(k, v);
    }
}

/// The gateway's 429 (`ProxyError` body) with the given headers.
fn throttled_response(headers: Vec<(&str, String)>) -> Response {
    let mut resp = json_response(StatusCode::TOO_MANY_REQUESTS, &json!({"code": 429, "message": "Too many requests"}));
    for (k, v) in headers {
        add_header(&mut resp, k, &v);
    }
    resp
}

fn throttle_fault(t: &Throttle) -> Response {
    let mut headers = vec![("X-RateLimit-Remaining", "0".to_string())];
    if let Some(d) = t.reset_in {
        let at = Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
        headers.push(("X-RateLimit-Reset", t.reset_precision.format(at)));
    }
    if let Some(d) = t.retry_after {
        headers.push(("Retry-After", format_retry_after(d)));
    }
    throttled_response(headers)
}

/// A body that fails at once: hyper then drops the connection without completing the
/// response, which the client sees as a reset connection.
struct Aborted;

impl HttpBody for Aborted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "sandbox fault: connection reset"))))
    }
}

async fn not_found(State(s): State<AppState>) -> Response {
    s.error(StatusCode::NOT_FOUND, "ADMIN-404-1", "Not Found", "Unknown resource")
}

async fn method_not_allowed(State(s): State<AppState>) -> Response {
    s.error(StatusCode::METHOD_NOT_ALLOWED, "ADMIN-405-1", "Method Not Allowed", "Method not supported")
}

// ---------------------------------------------------------------- control

pub(crate) fn stats_json(s: &Shared) -> Value {
    let mut by = Map::new();
    let mut total = 0;
    for ep in Endpoint::ALL {
        let n = s.counters[ep as usize].load(Ordering::SeqCst);
        total += n;
        by.insert(ep.as_str().into(), json!(n));
    }
    json!({"total": total, "by_endpoint": by, "throttled": s.throttled.load(Ordering::Relaxed)})
}

async fn stats(State(s): State<AppState>) -> Response {
    json_response(StatusCode::OK, &stats_json(&s))
}

async fn stats_reset(State(s): State<AppState>) -> Response {
    for c in &s.counters {
        c.store(0, Ordering::SeqCst);
    }
    json_response(StatusCode::OK, &stats_json(&s))
}

async fn truth(State(s): State<AppState>) -> Response {
    let st = s.read();
    let link = |u: &User| user_self_link(&s, &st, u);
    let view = TruthView { org: &st.org, base_url: &s.cfg.base_url, self_link: &link };
    json_response(StatusCode::OK, &view)
}

fn user_self_link(s: &Shared, st: &OrgState, u: &User) -> String {
    s.codec.encode(&UsersCursor { t: "u".into(), h: st.key_of(&u.account_id), a: u.account_id.clone() })
}

// ---------------------------------------------------------------- orgs

fn query_params(q: &Option<String>) -> Vec<(String, String)> {
    let Some(q) = q else { return vec![] };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c))) {
                    out.push(h * 16 + l);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn cursor_param(params: &[(String, String)]) -> Option<&str> {
    params.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

async fn orgs_list(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let params = query_params(&q);
    if cursor_param(&params).is_some() {
        // This sandbox never issues org-list cursors (one page only).
        return s.bad_request("ADMIN-400-1", "Invalid page cursor");
    }
    let st = s.read();
    let data = if s.cfg.orgs_list_empty {
        vec![]
    } else {
        vec![render::org_json(&st.org, &s.cfg.base_url, false)]
    };
    json_response(
        StatusCode::OK,
        &json!({"data": data, "links": {"self": format!("{}/admin/v1/orgs", s.cfg.base_url), "next": null}}),
    )
}

async fn org_get(State(s): State<AppState>, Path(org_id): Path<String>) -> Response {
    let st = s.read();
    if st.org.id != org_id {
        return s.org_not_found();
    }
    json_response(StatusCode::OK, &json!({"data": render::org_json(&st.org, &s.cfg.base_url, true)}))
}

// ---------------------------------------------------------------- users

/// Compiled users filter (shared by search and count).
#[derive(Default)]
struct UserFilter {
    account_ids: Option<HashSet<String>>,
    statuses: Option<Vec<UserStatus>>,
    account_statuses: Option<Vec<AccountStatus>>,
    membership_statuses: Option<Vec<MembershipStatus>>,
    claim_statuses: Option<Vec<ClaimStatus>>,
    /// Resolved workspace indexes (unknown ARIs resolve to nothing).
    resources: Option<Vec<usize>>,
    roles: Option<Vec<String>>,
    groups: Option<Vec<usize>>,
    email_domains: Option<Vec<String>>,
    emails: Option<HashSet<String>>,
    search_term: Option<String>,
    /// `directoryIds` given and not naming our directory.
    no_directory: bool,
}

impl UserFilter {
    fn matches(&self, u: &User) -> bool {
        if self.no_directory {
            return false;
        }
        /// An absent filter allows everything; a present one, only its values.
        fn allows<T: PartialEq>(filter: &Option<Vec<T>>, value: &T) -> bool {
            filter.as_ref().is_none_or(|f| f.contains(value))
        }
        let listed = self.account_ids.as_ref().is_none_or(|a| a.contains(&u.account_id))
            && allows(&self.statuses, &u.status)
            && allows(&self.account_statuses, &u.account_status)
            && allows(&self.membership_statuses, &u.membership_status)
            && allows(&self.claim_statuses, &u.claim_status);
        if !listed {
            return false;
        }
        match (&self.resources, &self.roles) {
            (Some(res), None) => {
                if !res.iter().any(|w| u.touches_workspace(*w)) {
                    return false;
                }
            }
            (Some(res), Some(roles)) => {
                if !u
                    .site_roles
                    .iter()
                    .any(|r| res.contains(&r.workspace) && roles.iter().any(|x| *x == r.role_id))
                {
                    return false;
                }
            }
            (None, Some(roles)) => {
                let site = u.site_roles.iter().any(|r| roles.iter().any(|x| *x == r.role_id));
                let platform = u.platform_roles.iter().any(|r| roles.iter().any(|x| x == r));
                if !site && !platform {
                    return false;
                }
            }
            (None, None) => {}
        }
        if let Some(g) = &self.groups {
            if !u.groups.iter().any(|x| g.contains(x)) {
                return false;
            }
        }
        if let Some(d) = &self.email_domains {
            let Some(e) = &u.email else { return false };
            let dom = e.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
            if !d.contains(&dom) {
                return false;
            }
        }
        if let Some(es) = &self.emails {
            let Some(e) = &u.email else { return false };
            if !es.contains(&e.to_ascii_lowercase()) {
                return false;
            }
        }
        if let Some(t) = &self.search_term {
            let hit = u.name.to_lowercase().contains(t)
                || u.email.as_ref().is_some_and(|e| e.to_lowercase().contains(t))
                || u.nickname.as_ref().is_some_and(|n| n.to_lowercase().contains(t));
            if !hit {
                return false;
            }
        }
        true
    }
}

/// A string or an array of strings (query params arrive as arrays).
fn str_list(v: &Value, key: &str) -> Result<Option<Vec<String>>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| format!("'{key}' must contain strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("'{key}' must be an array of strings")),
    }
}

fn enum_list<T: Copy>(v: &Value, key: &str, all: &[T], name: impl Fn(T) -> &'static str) -> Result<Option<Vec<T>>, String> {
    let Some(list) = str_list(v, key)? else { return Ok(None) };
    list.iter()
        .map(|s| all.iter().copied().find(|x| name(*x) == s).ok_or_else(|| format!("Invalid value '{s}' for '{key}'")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Build a filter from a JSON object. `Err((code, detail))`.
fn parse_filter(v: &Value, org: &Org) -> Result<UserFilter, (&'static str, String)> {
    let bad = |d: String| ("ADMIN-400-24", d);
    let mut f = UserFilter {
        account_ids: str_list(v, "accountIds").map_err(bad)?.map(|l| l.into_iter().collect()),
        statuses: enum_list(v, "status", &UserStatus::ALL, UserStatus::as_str).map_err(bad)?,
        account_statuses: enum_list(
            v,
            "accountStatus",
            &[AccountStatus::Active, AccountStatus::Inactive, AccountStatus::Closed],
            AccountStatus::as_str,
        )
        .map_err(bad)?,
        membership_statuses: enum_list(
            v,
            "membershipStatus",
            &[MembershipStatus::Active, MembershipStatus::Suspended, MembershipStatus::NoMembership],
            MembershipStatus::as_str,
        )
        .map_err(bad)?,
        claim_statuses: enum_list(v, "claimStatus", &[ClaimStatus::Managed, ClaimStatus::Unmanaged], ClaimStatus::as_str)
            .map_err(bad)?,
        roles: str_list(v, "roleIds").map_err(bad)?,
        email_domains: str_list(v, "emailDomains")
            .map_err(bad)?
            .map(|l| l.into_iter().map(|d| d.trim_start_matches('@').to_ascii_lowercase()).collect()),
        emails: str_list(v, "emails").map_err(bad)?.map(|l| l.into_iter().map(|e| e.to_ascii_lowercase()).collect()),
        ..Default::default()
    };
    if let Some(res) = str_list(v, "resourceIds").map_err(bad)? {
        let mut idx = Vec::new();
        for r in &res {
            if !r.starts_with("ari:cloud:") {
                return Err(("ADMIN-400-4", format!("Invalid resource: {r}")));
            }
            if let Some(i) = org.workspace_index(r) {
                idx.push(i);
            }
        }
        f.resources = Some(idx);
    }
    if let Some(gs) = str_list(v, "groupIds").map_err(bad)? {
        f.groups = Some(
            gs.iter().filter_map(|g| org.groups.iter().position(|x| &x.id == g)).collect(),
        );
    }
    if let Some(ds) = str_list(v, "directoryIds").map_err(bad)? {
        f.no_directory = !ds.iter().any(|d| d == "-" || *d == org.directory_id);
    }
    match v.get("searchTerm") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) => {
            if !t.is_empty() {
                f.search_term = Some(t.to_lowercase())
            }
        }
        Some(_) => return Err(bad("'searchTerm' must be a string".into())),
    }
    Ok(f)
}

fn check_directory(s: &Shared, org: &Org, dir_id: &str) -> Result<(), Response> {
    if dir_id == "-" || dir_id == org.directory_id {
        Ok(())
    } else {
        Err(s.error(StatusCode::NOT_FOUND, "ADMIN-404-1", "Not Found", "Directory not found"))
    }
}

async fn users_search(
    State(s): State<AppState>,
    Path((org_id, dir_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let st = s.read();
    let org = &st.org;
    if org.id != org_id {
        return s.org_not_found();
    }
    if let Err(r) = check_directory(&s, org, &dir_id) {
        return r;
    }
    let req: Value = if body.iter().all(|b| b.is_ascii_whitespace()) {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return s.bad_request("ADMIN-400-24", "Invalid request body"),
        }
    };
    let limit = match req.get("limit") {
        None | Some(Value::Null) => 50,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 && n <= s.cfg.search_max_limit as u64 => n as usize,
            _ => {
                return s.bad_request(
                    "ADMIN-400-24",
                    &format!("'limit' must be an integer between 1 and {}", s.cfg.search_max_limit),
                )
            }
        },
    };
    let mut expand = Expand::default();
    match str_list(&req, "expand") {
        Err(d) => return s.bad_request("ADMIN-400-24", &d),
        Ok(list) => {
            for e in list.unwrap_or_default() {
                match e.as_str() {
                    "platformRoles" => expand.platform_roles = true,
                    "counts.resources" => expand.counts_resources = true,
                    "groups" => expand.groups = true,
                    "productAccess" => {
                        if s.cfg.product_access_mode == ProductAccessMode::Rejected {
                            return s.bad_request("ADMIN-400-4", "Invalid resource: expand value 'productAccess' is not supported");
                        }
                        expand.product_access = true;
                    }
                    other => return s.bad_request("ADMIN-400-24", &format!("Invalid expand value '{other}'")),
                }
            }
        }
    }
    let filter = match parse_filter(&req, org) {
        Ok(f) => f,
        Err((code, d)) => return s.bad_request(code, &d),
    };
    let (start, req_cursor) = match req.get("cursor") {
        None | Some(Value::Null) => (0, None),
        Some(Value::String(c)) if c.is_empty() => (0, None),
        Some(Value::String(c)) => match s.codec.decode::<UsersCursor>(c, "u") {
            Some(p) => (st.lower_bound(p.h, &p.a), Some(c.clone())),
            None => return s.bad_request("ADMIN-400-1", "Invalid page cursor"),
        },
        Some(_) => return s.bad_request("ADMIN-400-1", "Invalid page cursor"),
    };

    let users = &org.users;
    let mut page: Vec<usize> = Vec::with_capacity(limit);
    let mut next_user: Option<usize> = None;
    for &(_, i) in &st.order[start.min(st.order.len())..] {
        let u = &users[i as usize];
        if filter.matches(u) {
            if page.len() == limit {
                next_user = Some(i as usize);
                break;
            }
            page.push(i as usize);
        }
    }
    let mut prev_user = None;
    if start > 0 {
        let mut found = 0;
        for &(_, i) in st.order[..start.min(st.order.len())].iter().rev() {
            if filter.matches(&users[i as usize]) {
                prev_user = Some(i as usize);
                found += 1;
                if found == limit {
                    break;
                }
            }
        }
    }
    let link = |i: usize| user_self_link(&s, &st, &users[i]);
    let mut links = Map::new();
    if let Some(c) = req_cursor.or_else(|| page.first().map(|i| link(*i))) {
        links.insert("self".into(), json!(c));
    }
    if let Some(p) = prev_user {
        links.insert("prev".into(), json!(link(p)));
    }
    if let Some(n) = next_user {
        links.insert("next".into(), json!(link(n)));
    }
    let data: Vec<UserView> = page
        .iter()
        .map(|&i| UserView {
            org,
            user: &users[i],
            expand,
            product_access_mode: s.cfg.product_access_mode,
            self_link: link(i),
            truth: false,
        })
        .collect();
    json_response(StatusCode::OK, &json!({"data": data, "links": links}))
}

async fn users_count(
    State(s): State<AppState>,
    Path((org_id, dir_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let st = s.read();
    if st.org.id != org_id {
        return s.org_not_found();
    }
    if let Err(r) = check_directory(&s, &st.org, &dir_id) {
        return r;
    }
    // Query params -> {"key": [values...]}; repeated keys and comma lists both work.
    let mut obj = Map::new();
    for (k, v) in query_params(&q) {
        let entry = obj.entry(k.clone()).or_insert_with(|| json!([]));
        if let Value::Array(a) = entry {
            if k == "searchTerm" {
                *entry = json!(v);
            } else {
                a.extend(v.split(',').filter(|x| !x.is_empty()).map(|x| json!(x)));
            }
        }
    }
    let filter = match parse_filter(&Value::Object(obj), &st.org) {
        Ok(f) => f,
        Err((code, d)) => return s.bad_request(code, &d),
    };
    let n = st.org.users.iter().filter(|u| filter.matches(u)).count();
    json_response(StatusCode::OK, &json!({"count": n}))
}

async fn last_active_dates(
    State(s): State<AppState>,
    Path((org_id, account_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let st = s.read();
    let org = &st.org;
    if org.id != org_id {
        return s.org_not_found();
    }
    let Some(ui) = st.find_user(&account_id) else {
        return s.error(StatusCode::NOT_FOUND, "ADMIN-404-8", "Not Found", "User not found");
    };
    let u = &org.users[ui];
    let uh = hash_str(0x1a57, &u.account_id);
    let params = query_params(&q);
    let offset = match cursor_param(&params) {
        None => 0,
        Some(c) => match s.codec.decode::<LastActiveCursor>(c, "l") {
            Some(p) if p.u == uh => p.o,
            _ => return s.bad_request("ADMIN-400-1", "Invalid page cursor"),
        },
    };
    let entries: Vec<(&Workspace, &ProductAccess)> = u
        .product_access
        .iter()
        .filter_map(|p| org.workspaces.get(p.workspace).map(|w| (w, p)))
        .collect();
    let size = s.cfg.last_active_page_size.max(1);
    let page: Vec<Value> = entries
        .iter()
        .skip(offset)
        .take(size)
        .map(|(w, p)| {
            let mut e = json!({"id": w.id, "key": w.last_active_key, "last_active": render::date_only(&p.last_active)});
            if !u.quirks.omit_v1_timestamp {
                e["last_active_timestamp"] = json!(render::ts_secs(&p.last_active));
            }
            e
        })
        .collect();
    let mut links = Map::new();
    if offset + size < entries.len() {
        links.insert("next".into(), json!(s.codec.encode(&LastActiveCursor { t: "l".into(), u: uh, o: offset + size })));
    }
    json_response(
        StatusCode::OK,
        &json!({
            "data": {
                "product_access": page,
                "added_to_org": u.added_to_org.as_ref().map(render::date_only),
                "added_to_org_timestamp": u.added_to_org.as_ref().map(render::ts_millis),
            },
            "links": links,
        }),
    )
}

// ---------------------------------------------------------------- workspaces

const WS_FIELDS: [&str; 9] = [
    "id",
    "attributes.name",
    "attributes.type",
    "attributes.typeKey",
    "attributes.status",
    "attributes.hostUrl",
    "attributes.realm",
    "attributes.createdAt",
    "attributes.sandbox.type",
];

fn ws_field(w: &Workspace, f: &str) -> Option<String> {
    Some(match f {
        "id" => w.id.clone(),
        "attributes.name" => w.name.clone(),
        "attributes.type" => w.product_type.clone(),
        "attributes.typeKey" => w.type_key.clone(),
        "attributes.status" => w.status.as_str().to_string(),
        "attributes.hostUrl" => w.host_url.clone().unwrap_or_default(),
        "attributes.realm" => w.realm.clone(),
        "attributes.createdAt" => render::ts_millis(&w.created_at),
        "attributes.sandbox.type" => w.sandbox_type.clone(),
        _ => return None,
    })
}

fn ws_query_match(q: &Value, w: &Workspace) -> Result<bool, String> {
    let Value::Object(m) = q else {
        return if q.is_null() { Ok(true) } else { Err("query must be an object".into()) };
    };
    if m.is_empty() {
        return Ok(true);
    }
    let mut ok = true;
    for (k, v) in m {
        let hit = match k.as_str() {
            "and" => {
                let a = v.as_array().ok_or("'and' must be an array")?;
                let mut all = true;
                for x in a {
                    all &= ws_query_match(x, w)?;
                }
                all
            }
            "or" => {
                let a = v.as_array().ok_or("'or' must be an array")?;
                let mut any = false;
                for x in a {
                    any |= ws_query_match(x, w)?;
                }
                any
            }
            "field" => {
                let name = v.get("name").and_then(|n| n.as_str()).ok_or("'field.name' is required")?;
                let values = v.get("values").and_then(|n| n.as_array()).ok_or("'field.values' is required")?;
                let actual = ws_field(w, name).ok_or_else(|| format!("Unsupported field '{name}'"))?;
                values.iter().any(|x| x.as_str() == Some(actual.as_str()))
            }
            "searchWorkspaces" => {
                let t = v.as_str().ok_or("'searchWorkspaces' must be a string")?.to_lowercase();
                w.name.to_lowercase().contains(&t)
                    || w.host_url.as_deref().unwrap_or("").to_lowercase().contains(&t)
                    || w.id.to_lowercase().contains(&t)
            }
            // Features and policies are not modelled: they filter nothing.
            "features" | "policies" => true,
            other => return Err(format!("Unsupported query operator '{other}'")),
        };
        ok &= hit;
    }
    Ok(ok)
}

fn ws_select(org: &Org, sort: &Value, query: &Value) -> Result<Vec<usize>, String> {
    let mut idx = Vec::new();
    for (i, w) in org.workspaces.iter().enumerate() {
        if ws_query_match(query, w)? {
            idx.push(i);
        }
    }
    let keys: Vec<(String, bool)> = match sort {
        Value::Null => vec![],
        Value::Array(a) => a
            .iter()
            .map(|x| {
                let f = x.get("field").and_then(|f| f.as_str()).ok_or("sort field is required")?;
                if !WS_FIELDS.contains(&f) {
                    return Err(format!("Unsupported sort field '{f}'"));
                }
                let desc = match x.get("order").and_then(|o| o.as_str()) {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(o) => return Err(format!("Invalid sort order '{o}'")),
                };
                Ok((f.to_string(), desc))
            })
            .collect::<Result<_, String>>()?,
        _ => return Err("'sort' must be an array".into()),
    };
    idx.sort_by(|a, b| {
        for (f, desc) in &keys {
            let x = ws_field(&org.workspaces[*a], f);
            let y = ws_field(&org.workspaces[*b], f);
            let o = if *desc { y.cmp(&x) } else { x.cmp(&y) };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(idx)
}

async fn workspaces(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    body: Bytes,
) -> Response {
    let st = s.read();
    let org = &st.org;
    if org.id != org_id {
        return s.org_not_found();
    }
    let req: Map<String, Value> = if body.iter().all(|b| b.is_ascii_whitespace()) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => return s.bad_request("ADMIN-400-4", "Invalid request body"),
        }
    };
    let page = match req.get("cursor") {
        Some(c) if !c.is_null() => {
            if req.len() > 1 {
                return s.bad_request(
                    "ADMIN-400-4",
                    "When a cursor is provided in the request body, no other properties may be present",
                );
            }
            match c.as_str().and_then(|c| s.codec.decode::<WorkspacesCursor>(c, "w")) {
                Some(p) => p,
                None => return s.bad_request("ADMIN-400-1", "Invalid page cursor"),
            }
        }
        _ => {
            let limit = match req.get("limit") {
                None | Some(Value::Null) => 20,
                Some(v) => match v.as_u64() {
                    Some(n) if (1..=1000).contains(&n) => n as usize,
                    _ => return s.bad_request("ADMIN-400-4", "'limit' must be an integer between 1 and 1000"),
                },
            };
            WorkspacesCursor {
                t: "w".into(),
                o: 0,
                l: limit,
                s: req.get("sort").cloned().unwrap_or(Value::Null),
                q: req.get("query").cloned().unwrap_or(Value::Null),
            }
        }
    };
    let idx = match ws_select(org, &page.s, &page.q) {
        Ok(v) => v,
        Err(d) => return s.bad_request("ADMIN-400-4", &d),
    };
    let total = idx.len();
    let start = page.o.min(total);
    let end = (start + page.l).min(total);
    let data: Vec<Value> = idx[start..end]
        .iter()
        .map(|i| render::workspace_json(&org.workspaces[*i], &s.cfg.base_url, &org.id))
        .collect();
    let at = |o: usize| s.codec.encode(&WorkspacesCursor { o, ..page.clone() });
    let mut links = Map::new();
    links.insert("self".into(), json!(at(start)));
    if start > 0 {
        links.insert("prev".into(), json!(at(start.saturating_sub(page.l))));
    }
    if end < total {
        links.insert("next".into(), json!(at(end)));
    }
    let (si, ei) = if end > start { (json!(start), json!(end - 1)) } else { (Value::Null, Value::Null) };
    json_response(
        StatusCode::OK,
        &json!({
            "data": data,
            "links": links,
            "meta": {"pageSize": page.l, "startIndex": si, "endIndex": ei, "total": total},
        }),
    )
}
