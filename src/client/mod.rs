//! The Atlassian Organizations API client: bearer auth, URLs, one explicit retry loop, and
//! typed calls for each endpoint the connector uses. It knows HTTP and Atlassian; it never
//! writes to stdout — anything a person should hear about (a wait, a retry) goes out as a
//! [`Notice`] on a channel the sync loop reads.
//!
//! Resilience lives here, in three parts that [`AtlassianClient::call`] combines:
//! - [`RetryPolicy`] says how long to wait: the server's `Retry-After` / `X-RateLimit-Reset`
//!   ([`retry_hint`]) when it gave one, else exponential backoff with full jitter and a cap;
//! - [`ApiError::is_retryable`] says whether to try again at all; 5xx, network errors and
//!   unreadable bodies spend `max_retries`, while 429s spend the rate-limit wait budget
//!   ([`WaitBudget`], `max_rate_limit_wait_seconds`) instead — a rate limit is the server
//!   saying "later", and the budget is how much later the user accepts;
//! - [`Pacer`] reads `X-RateLimit-Remaining`/`-Reset` from successful responses and slows
//!   down before the quota runs out, instead of running into 429s.

pub mod directory;
pub mod error;
pub mod frame;
pub mod models;
pub mod pagination;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use url::Url;

use crate::config::{ApiKey, Config};
pub use error::{ApiError, Endpoint};
use models::{ApiAccount, ApiWorkspace, FramedPage, Links, OrgResponse, Page, PageBody, PageMeta};

/// The largest page the workspaces endpoint serves.
pub const WORKSPACES_PAGE_LIMIT: u32 = 1000;
/// A response body larger than this is refused rather than buffered.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The longest connect phase, however long `request_timeout_seconds` is.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest wait after a 429: a `Retry-After: 0` must not turn into a busy loop.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_millis(100);
/// The longest proactive pause: pacing is an optimisation, the server's 429 is the authority.
const MAX_PACING_WAIT: Duration = Duration::from_secs(60);
/// Redirects followed within the API's own origin.
const MAX_REDIRECTS: usize = 5;

/// Something worth telling the person or platform while a call is in progress.
#[derive(Debug, Clone)]
pub struct Notice {
    pub endpoint: Endpoint,
    pub message: String,
    /// Set when the wait is a rate limit: when the quota resets, in ms since the epoch.
    pub rate_limited_until_ms: Option<i64>,
}

/// How often and how long to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts of one request that fails with 5xx, a network error or an unreadable body.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// What sets `max_attempts`, for the message of a call that gave up.
    pub limit: &'static str,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            limit: "'max_retries' sets how many",
        }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `retry` (1-based) of a failure that is not a
    /// rate limit: the server's hint when it gave one (capped), else [`RetryPolicy::backoff`].
    fn delay(&self, retry: u32, hint: Option<Duration>) -> Duration {
        match hint {
            Some(h) => h.min(self.max_delay),
            None => self.backoff(retry),
        }
    }

    /// How long to wait after the `throttled`-th 429 in a row: the server's hint, uncapped
    /// (the wait budget bounds it) but never below [`MIN_RATE_LIMIT_WAIT`]; else backoff.
    fn rate_limit_delay(&self, throttled: u32, hint: Option<Duration>) -> Duration {
        match hint {
            Some(h) => h.max(MIN_RATE_LIMIT_WAIT),
            None => self.backoff(throttled).max(MIN_RATE_LIMIT_WAIT),
        }
    }

    /// Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^(retry-1))], so
    /// clients that failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(20)).min(self.max_delay);
        ceiling.mul_f64(random_unit())
    }
}

/// A number in [0, 1), different on every call.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per thread and stepped per instance.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The total time a client may spend waiting out rate limits. Waits that overlap (two
/// streams paused by the same limit) count once: what is spent is wall-clock time.
#[derive(Debug)]
pub struct WaitBudget {
    limit: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug, Default)]
struct BudgetState {
    spent: Duration,
    /// The end of the latest wait granted so far.
    until: Option<Instant>,
}

impl WaitBudget {
    pub fn new(limit: Duration) -> Self {
        WaitBudget { limit, state: Mutex::new(BudgetState::default()) }
    }

    /// Grants a wait of `wait` from now if the budget allows it; else returns what was spent.
    pub fn reserve(&self, wait: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let end = now + wait;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let from = st.until.map_or(now, |u| u.max(now));
        let added = end.saturating_duration_since(from);
        if st.spent + added > self.limit {
            return Err(st.spent);
        }
        st.spent += added;
        st.until = Some(st.until.map_or(end, |u| u.max(end)));
        Ok(())
    }

    pub fn spent(&self) -> Duration {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).spent
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }
}

/// The quota the API last reported on a successful response.
#[derive(Debug, Clone, PartialEq)]
struct Quota {
    remaining: u64,
    limit: Option<u64>,
    reset: DateTime<Utc>,
}

/// Proactive pacing from `X-RateLimit-Remaining` / `X-RateLimit-Reset`, shared by every
/// request of the client. Concurrent requests are accounted for: what is still in flight is
/// subtracted from the reported quota, and when the quota runs low requests get evenly spaced
/// send slots until the reset instead of each computing the same pause.
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Debug, Default)]
struct PacerState {
    quota: Option<Quota>,
    in_flight: u64,
    next_slot: Option<DateTime<Utc>>,
}

/// What the pacer says to a request about to be sent.
#[derive(Debug, PartialEq)]
pub enum Admission {
    /// Send now.
    Go,
    /// Send after `wait`: the slot is reserved, no need to ask again.
    After { wait: Duration, reset: DateTime<Utc> },
    /// The quota is used up: wait until the reset, then ask again.
    UsedUp { wait: Duration, reset: DateTime<Utc> },
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers the quota a response reports. Responses arrive out of order, so within one
    /// window the lowest `remaining` wins; a later reset starts a new window. A response
    /// without the headers, or with a reset already past (minute precision), tells nothing.
    pub fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) {
        let num = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(parse_reset);
        let Some(new) = (match (num("x-ratelimit-remaining"), reset) {
            (Some(remaining), Some(reset)) if reset > now => Some(Quota { remaining, limit: num("x-ratelimit-limit"), reset }),
            _ => None,
        }) else {
            return;
        };
        let mut s = self.lock();
        s.quota = Some(match s.quota.take() {
            Some(old) if old.reset == new.reset => Quota { remaining: old.remaining.min(new.remaining), ..new },
            Some(old) if old.reset > new.reset => old,
            _ => new,
        });
    }

    /// Decides when the next request may go; `Go` and `After` count it as in flight until
    /// [`Pacer::done`].
    pub fn admit(&self, now: DateTime<Utc>) -> Admission {
        let mut s = self.lock();
        let quota = match &s.quota {
            Some(q) if q.reset > now => q.clone(),
            _ => {
                s.quota = None;
                s.next_slot = None;
                s.in_flight += 1;
                return Admission::Go;
            }
        };
        let left = quota.reset - now;
        let available = quota.remaining.saturating_sub(s.in_flight);
        if available == 0 {
            return Admission::UsedUp { wait: left.to_std().unwrap_or_default().min(MAX_PACING_WAIT), reset: quota.reset };
        }
        s.in_flight += 1;
        let low_water = quota.limit.map_or(1, |l| (l / 10).max(1));
        if available > low_water {
            return Admission::Go;
        }
        let interval = left / i32::try_from(available).unwrap_or(i32::MAX);
        let slot = s.next_slot.filter(|t| *t > now).unwrap_or(now);
        s.next_slot = Some(slot + interval);
        match (slot - now).to_std() {
            Ok(wait) if !wait.is_zero() => Admission::After { wait: wait.min(MAX_PACING_WAIT), reset: quota.reset },
            _ => Admission::Go,
        }
    }

    /// A request admitted earlier has its answer (or failed): it no longer counts in flight.
    pub fn done(&self) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

/// Marks a request in flight for the pacer until dropped.
struct InFlight<'a>(&'a Pacer);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// One failed attempt: the error and the server's hint of when to come back.
struct Failure {
    error: ApiError,
    hint: Option<Duration>,
}

pub struct AtlassianClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    key: ApiKey,
    org_id: String,
    directory_id: String,
    page_size: u32,
    request_timeout: Duration,
    retry: RetryPolicy,
    budget: WaitBudget,
    pacer: Pacer,
    notices: Option<mpsc::UnboundedSender<Notice>>,
    /// Requests sent, retries included (for progress lines).
    requests: AtomicU64,
}

impl fmt::Debug for AtlassianClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlassianClient")
            .field("base", &self.base.as_str())
            .field("key", &self.key)
            .field("org_id", &self.org_id)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The API's origin (scheme, host, port): the only place a redirect may lead.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

impl AtlassianClient {
    pub fn new(config: &Config) -> Result<Self, ApiError> {
        let origin = config.base_url.clone();
        // Redirects are followed only within the API's own origin; one to anywhere else is
        // returned as is and reported, so the Authorization header never leaves for it.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS || !same_origin(attempt.url(), &origin) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .user_agent(concat!("source-atlassian-admin/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT.min(config.request_timeout))
            .timeout(config.request_timeout)
            .redirect(redirects)
            .https_only(config.base_url.scheme() == "https")
            .build()
            .map_err(|e| ApiError::Network { endpoint: Endpoint::Org, reason: config.api_key.redact(&e.without_url().to_string()) })?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose())).map_err(|_| ApiError::InvalidKey)?;
        auth.set_sensitive(true);
        Ok(AtlassianClient {
            http,
            base: config.base_url.clone(),
            auth,
            key: config.api_key.clone(),
            org_id: config.org_id.clone(),
            directory_id: config.directory_id.clone(),
            page_size: config.page_size,
            request_timeout: config.request_timeout,
            retry: RetryPolicy { max_attempts: config.max_retries + 1, ..RetryPolicy::default() },
            budget: WaitBudget::new(config.max_rate_limit_wait),
            pacer: Pacer::default(),
            notices: None,
            requests: AtomicU64::new(0),
        })
    }

    /// Replaces the retry policy (the rate-limit wait budget is kept).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the total rate-limit wait allowed (e.g. a short one for `check`).
    pub fn with_rate_limit_budget(mut self, limit: Duration) -> Self {
        self.budget = WaitBudget::new(limit);
        self
    }

    pub fn with_notices(mut self, tx: mpsc::UnboundedSender<Notice>) -> Self {
        self.notices = Some(tx);
        self
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Time spent waiting on rate limits so far.
    pub fn rate_limit_waited(&self) -> Duration {
        self.budget.spent()
    }

    /// Requests sent so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `base` + `/admin/...` segments, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // A validated http(s) base always has path segments; if not, the request fails visibly.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("admin").extend(segments);
        }
        url
    }

    /// `GET /admin/v1/orgs/{orgId}`: proves the key and the org id in one call.
    pub async fn get_org(&self) -> Result<OrgResponse, ApiError> {
        let url = self.url(&["v1", "orgs", &self.org_id]);
        self.call(Endpoint::Org, Method::GET, url, None).await
    }

    /// One page of the v2 users search, framed but not parsed: see [`pagination::users`].
    pub async fn search_users(&self, cursor: Option<&str>, limit: u32, expand: &[&str]) -> Result<FramedPage, ApiError> {
        let url = self.url(&["v2", "orgs", &self.org_id, "directories", &self.directory_id, "users", "search"]);
        let mut body = json!({"limit": limit});
        if !expand.is_empty() {
            body["expand"] = json!(expand);
        }
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        self.call_with(Endpoint::UsersSearch, Method::POST, url, Some(&body), framed_page).await
    }

    /// One page of the v2 users search filtered to the users holding one of `role_ids` on one of
    /// `resource_ids` (site ARIs): who holds a seat on a site. No expands are asked for.
    pub async fn search_users_with_roles(
        &self,
        cursor: Option<&str>,
        limit: u32,
        resource_ids: &[&str],
        role_ids: &[&str],
    ) -> Result<Page<ApiAccount>, ApiError> {
        let url = self.url(&["v2", "orgs", &self.org_id, "directories", &self.directory_id, "users", "search"]);
        let mut body = json!({"limit": limit, "resourceIds": resource_ids, "roleIds": role_ids});
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        self.call(Endpoint::UsersSearch, Method::POST, url, Some(&body)).await
    }

    /// One page of the v2 workspaces list; the next page is asked for with the cursor alone.
    pub async fn workspaces_page(&self, cursor: Option<&str>, limit: u32) -> Result<Page<ApiWorkspace>, ApiError> {
        let url = self.url(&["v2", "orgs", &self.org_id, "workspaces"]);
        let body = match cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({"limit": limit}),
        };
        self.call(Endpoint::Workspaces, Method::POST, url, Some(&body)).await
    }

    fn notify(&self, endpoint: Endpoint, message: String, rate_limited_until: Option<DateTime<Utc>>) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(Notice { endpoint, message, rate_limited_until_ms: rate_limited_until.map(|t| t.timestamp_millis()) });
        }
    }

    /// The retry loop: one attempt at a time; "may it be retried" is [`ApiError::is_retryable`],
    /// "how long to wait" is [`RetryPolicy`]; rate-limit waits are charged to the budget.
    async fn call<T: DeserializeOwned>(&self, endpoint: Endpoint, method: Method, url: Url, body: Option<&Value>) -> Result<T, ApiError> {
        self.call_with(endpoint, method, url, body, json_body).await
    }

    /// [`Self::call`] with the body decoded by `decode` (which says why a body is unreadable).
    async fn call_with<T>(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        body: Option<&Value>,
        decode: fn(String) -> Result<T, String>,
    ) -> Result<T, ApiError> {
        let mut failures = 0u32;
        let mut throttled = 0u32;
        loop {
            let in_flight = self.pace(endpoint).await;
            let outcome = self.attempt(endpoint, method.clone(), url.clone(), body, decode).await;
            drop(in_flight);
            let Failure { error, hint } = match outcome {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            if matches!(error, ApiError::RateLimited { .. }) {
                throttled += 1;
                let wait = self.retry.rate_limit_delay(throttled, hint);
                let why = if hint.is_some() { "as the API asked" } else { "backing off" };
                self.wait_for_quota(endpoint, wait, &format!("{error}; waiting {} ({why})", secs(wait))).await?;
                continue;
            }
            throttled = 0;
            failures += 1;
            if failures >= self.retry.max_attempts {
                return Err(ApiError::Exhausted { attempts: failures, last: Box::new(error), limit: self.retry.limit });
            }
            let wait = self.retry.delay(failures, hint);
            let message = format!("{error}; retrying in {} (retry {failures} of {})", secs(wait), self.retry.max_attempts - 1);
            self.notify(endpoint, message, None);
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits `wait` for a rate limit to lift, after charging it to the budget and telling the
    /// person why; fails when the budget cannot cover it.
    async fn wait_for_quota(&self, endpoint: Endpoint, wait: Duration, why: &str) -> Result<(), ApiError> {
        if let Err(spent) = self.budget.reserve(wait) {
            let detail = format!(
                ": after {} of waiting for the API's rate limit to lift, another {} would pass max_rate_limit_wait_seconds ({} s). \
                 The organization's API quota is used up (other tools using the same organization share it): run the sync again later, or raise max_rate_limit_wait_seconds",
                secs(spent),
                secs(wait),
                self.budget.limit().as_secs()
            );
            return Err(ApiError::RateLimited { endpoint, detail });
        }
        let until = after(wait);
        let message = format!(
            "{why}, until {}. Rate-limit waiting so far: {} of the {} s max_rate_limit_wait_seconds allows",
            crate::time::format(until),
            secs(self.budget.spent()),
            self.budget.limit().as_secs()
        );
        self.notify(endpoint, message, Some(until));
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Waits until the pacer admits the request (see [`Pacer`]); the returned guard keeps it
    /// counted in flight. A pause the budget cannot cover is skipped: the server's 429 decides.
    async fn pace(&self, endpoint: Endpoint) -> InFlight<'_> {
        loop {
            let (wait, reset, used_up) = match self.pacer.admit(Utc::now()) {
                Admission::Go => return InFlight(&self.pacer),
                Admission::After { wait, reset } => (wait, reset, false),
                Admission::UsedUp { wait, reset } => (wait, reset, true),
            };
            if self.budget.reserve(wait).is_err() {
                if used_up {
                    self.pacer.lock().in_flight += 1;
                }
                return InFlight(&self.pacer);
            }
            // Short pauses of a quota running low are routine; a used-up quota, or a long
            // pause, is worth a RATE_LIMITED status.
            if used_up || wait >= Duration::from_secs(1) {
                let how = if used_up { "is used up" } else { "is nearly used up" };
                let message = format!(
                    "{endpoint}: the API's rate-limit quota {how}; pausing {} so it is not exceeded (the quota resets at {}). Rate-limit waiting so far: {} of the {} s max_rate_limit_wait_seconds allows",
                    secs(wait),
                    crate::time::format(reset),
                    secs(self.budget.spent()),
                    self.budget.limit().as_secs()
                );
                self.notify(endpoint, message, Some(after(wait)));
            }
            tokio::time::sleep(wait).await;
            if !used_up {
                return InFlight(&self.pacer);
            }
        }
    }

    /// One request and its decoded body; on failure also the server's hint of when to retry.
    async fn attempt<T>(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        body: Option<&Value>,
        decode: fn(String) -> Result<T, String>,
    ) -> Result<T, Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self.http.request(method, url).header(AUTHORIZATION, self.auth.clone()).header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").json(b);
        }
        let network = |e: reqwest::Error| Failure {
            error: ApiError::Network { endpoint, reason: self.key.redact(&describe_network(e, self.request_timeout)) },
            hint: None,
        };
        let mut resp = req.send().await.map_err(network)?;
        let status = resp.status();
        if status.is_redirection() {
            let target = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| self.base.join(l).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "an unnamed location".into());
            return Err(Failure { error: ApiError::Redirected { endpoint, status: status.as_u16(), target }, hint: None });
        }
        let now = Utc::now();
        if status.is_success() || status == StatusCode::TOO_MANY_REQUESTS {
            self.pacer.observe(resp.headers(), now);
        }
        let hint = (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()).then(|| retry_hint(resp.headers())).flatten();
        let expected = resp.content_length().unwrap_or(0).min(MAX_BODY_BYTES as u64) as usize;
        let mut bytes = Vec::with_capacity(expected);
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                let reason = format!("the response body is larger than {MAX_BODY_BYTES} bytes");
                return Err(Failure { error: ApiError::Decode { endpoint, reason }, hint: None });
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            // One UTF-8 check of the whole body is much cheaper than serde_json's check of
            // every string it reads from a byte slice.
            let text = String::from_utf8(bytes).map_err(|_| Failure {
                error: ApiError::Decode { endpoint, reason: "the response body is not UTF-8 text".into() },
                hint: None,
            })?;
            return decode(text).map_err(|reason| Failure { error: ApiError::Decode { endpoint, reason: self.key.redact(&reason) }, hint: None });
        }
        let mut parsed = error::ErrorBody::parse(&bytes);
        parsed.text = parsed.text.map(|t| self.key.redact(&t));
        parsed.code = parsed.code.map(|c| self.key.redact(&c));
        Err(Failure { error: error::classify(endpoint, status.as_u16(), &parsed), hint })
    }
}

/// A JSON body as `T`.
fn json_body<T: DeserializeOwned>(text: String) -> Result<T, String> {
    serde_json::from_str(&text).map_err(|e| error::describe_decode(&e, text.len()))
}

/// A list page whose items are left unparsed: its members located, its links read.
fn framed_page(text: String) -> Result<FramedPage, String> {
    let (body, frame) = PageBody::frame(text).map_err(|e| e.to_string())?;
    let links: Option<Links> = frame.links.map(|r| member(&body.text, r)).transpose()?.flatten();
    let meta: Option<PageMeta> = frame.meta.map(|r| member(&body.text, r)).transpose()?.flatten();
    Ok(FramedPage { body, links: links.unwrap_or_default(), meta })
}

/// One small member of a body (`null` is `None`).
fn member<T: DeserializeOwned>(text: &str, range: std::ops::Range<usize>) -> Result<Option<T>, String> {
    serde_json::from_str(&text[range]).map_err(|e| error::describe_decode(&e, text.len()))
}

/// `now + wait` at millisecond precision: what `quota_reset` and messages show.
fn after(wait: Duration) -> DateTime<Utc> {
    let ms = Utc::now().timestamp_millis().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
    DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

/// `1.2 s`, for messages.
fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// What went wrong on the wire, without the URL reqwest would name: a timeout says which
/// setting bounds it; anything else lists the error's causes (e.g. "connection closed before
/// message completed").
fn describe_network(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no complete response within {} s (request_timeout_seconds)", timeout.as_secs());
    }
    let what = if e.is_connect() { "could not connect" } else { "the connection failed" };
    let e = e.without_url();
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        // hyper-util's "client error (Connect)" only wraps the cause that follows it.
        if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    format!("{what}: {}", parts.join(": "))
}

/// When the server says to come back: `Retry-After` (seconds, possibly fractional, or an HTTP
/// date), else `X-RateLimit-Reset` (ISO-8601, possibly at minute precision). A reset time
/// already past (a truncated minute, a skewed clock) gives no hint: backoff decides.
pub fn retry_hint(headers: &HeaderMap) -> Option<Duration> {
    let now = Utc::now();
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs.min(86_400.0)));
            }
        }
        if let Ok(t) = DateTime::parse_from_rfc2822(v) {
            return Some((t.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO).min(Duration::from_secs(86_400)));
        }
    }
    let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(parse_reset)?;
    (reset - now).to_std().ok().filter(|d| !d.is_zero()).map(|d| d.min(Duration::from_secs(86_400)))
}

/// `X-RateLimit-Reset` as an instant: ISO-8601 at any precision (`2023-10-11T12:34Z`), or
/// epoch seconds (possibly fractional) as some gateways send.
fn parse_reset(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Some(at) = crate::time::parse_lenient(t) {
        return Some(at);
    }
    let secs: f64 = t.parse().ok().filter(|s: &f64| s.is_finite() && *s > 1e9 && *s < 1e11)?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn minute(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%dT%H:%MZ").to_string()
    }

    #[test]
    fn retry_after_wins_then_reset_time() {
        assert_eq!(retry_hint(&headers(&[("retry-after", "2")])), Some(Duration::from_secs(2)));
        assert_eq!(retry_hint(&headers(&[("retry-after", "0.2")])), Some(Duration::from_millis(200)));
        let later = minute(Utc::now() + chrono::Duration::minutes(10));
        assert_eq!(retry_hint(&headers(&[("retry-after", "1"), ("x-ratelimit-reset", &later)])), Some(Duration::from_secs(1)));
        let soon = minute(Utc::now() + chrono::Duration::minutes(2));
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &soon)])).unwrap();
        assert!(d > Duration::from_secs(50) && d <= Duration::from_secs(120), "{d:?}");
        let secs = (Utc::now() + chrono::Duration::seconds(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &secs)])).unwrap();
        assert!(d > Duration::from_secs(28) && d <= Duration::from_secs(30), "{d:?}");
        let frac = (Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &frac)])).unwrap();
        assert!(d > Duration::from_millis(1300) && d <= Duration::from_millis(1500), "{d:?}");
        let epoch = format!("{:.3}", (Utc::now().timestamp_millis() + 5000) as f64 / 1000.0);
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &epoch)])).unwrap();
        assert!(d > Duration::from_secs(4) && d <= Duration::from_secs(5), "{d:?}");
        let date = (Utc::now() + chrono::Duration::seconds(20)).to_rfc2822();
        assert!(retry_hint(&headers(&[("retry-after", &date)])).unwrap() > Duration::from_secs(15));
        assert_eq!(retry_hint(&HeaderMap::new()), None);
    }

    #[test]
    fn a_reset_already_past_gives_no_hint() {
        // Minute precision truncates: "this minute" is usually in the past already.
        let past = minute(Utc::now() - chrono::Duration::minutes(1));
        assert_eq!(retry_hint(&headers(&[("x-ratelimit-reset", &past)])), None);
        for junk in ["soon", "", "-3", "NaN", "inf", "1e400"] {
            assert_eq!(retry_hint(&headers(&[("x-ratelimit-reset", junk)])), None, "{junk}");
        }
        assert_eq!(retry_hint(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_hint(&headers(&[("retry-after", "1e308")])), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn backoff_is_full_jitter_grows_and_is_capped() {
        let p = RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), ..RetryPolicy::default() };
        let samples: Vec<Duration> = (0..400).map(|_| p.backoff(3)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(400)));
        assert!(samples.iter().any(|d| *d < Duration::from_millis(100)), "full jitter reaches near zero");
        assert!(samples.iter().any(|d| *d > Duration::from_millis(300)));
        assert!((0..100).all(|_| p.backoff(1) <= Duration::from_millis(100)));
        assert!((0..100).all(|_| p.backoff(40) <= Duration::from_secs(1)));
        assert_eq!(p.delay(1, Some(Duration::from_secs(30))), Duration::from_secs(1), "5xx hints are capped");
        assert_eq!(p.rate_limit_delay(1, Some(Duration::from_secs(30))), Duration::from_secs(30), "429 hints are not");
        assert_eq!(p.rate_limit_delay(1, Some(Duration::ZERO)), MIN_RATE_LIMIT_WAIT);
    }

    #[test]
    fn wait_budget_counts_overlapping_waits_once() {
        let b = WaitBudget::new(Duration::from_secs(10));
        assert!(b.reserve(Duration::from_secs(4)).is_ok());
        assert!(b.reserve(Duration::from_secs(4)).is_ok(), "a parallel wait over the same time is free");
        assert!(b.spent() < Duration::from_millis(4100));
        assert!(b.reserve(Duration::from_secs(9)).is_ok(), "5 s beyond the first wait");
        let spent = b.reserve(Duration::from_secs(12)).unwrap_err();
        assert!(spent >= Duration::from_secs(8), "{spent:?}");
        let zero = WaitBudget::new(Duration::ZERO);
        assert!(zero.reserve(Duration::from_millis(100)).is_err());
    }

    #[test]
    fn pacer_spaces_requests_as_the_quota_runs_out() {
        let now = Utc::now();
        let reset_at = now + chrono::Duration::seconds(10);
        let reset = reset_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let quota = |remaining: &str| headers(&[("x-ratelimit-limit", "100"), ("x-ratelimit-remaining", remaining), ("x-ratelimit-reset", &reset)]);
        let p = Pacer::default();
        p.observe(&quota("50"), now);
        assert_eq!(p.admit(now), Admission::Go, "plenty left");
        p.done();
        // Nine left for ten seconds: the first goes now, the next ones ~1.1 s apart.
        p.observe(&quota("9"), now);
        assert_eq!(p.admit(now), Admission::Go);
        let Admission::After { wait, .. } = p.admit(now) else { panic!("spaced") };
        assert!(wait >= Duration::from_millis(1000) && wait <= Duration::from_millis(1300), "{wait:?}");
        let Admission::After { wait: second, .. } = p.admit(now) else { panic!("spaced") };
        assert!(second > wait, "slots are reserved one after another");
        // Out-of-order answers of the same window cannot raise the estimate.
        p.observe(&quota("40"), now);
        assert!(matches!(p.admit(now), Admission::After { .. }));
        // Requests in flight use up the rest: wait for the reset.
        p.observe(&quota("4"), now);
        let Admission::UsedUp { wait, reset } = p.admit(now) else { panic!("used up by 4 in flight") };
        assert!(wait > Duration::from_millis(9900) && wait <= Duration::from_secs(10), "{wait:?}");
        assert_eq!(reset, parse_reset(&reset_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap());
        for _ in 0..4 {
            p.done();
        }
        p.observe(&quota("0"), now);
        assert!(matches!(p.admit(now), Admission::UsedUp { .. }));
        assert_eq!(p.admit(reset_at + chrono::Duration::milliseconds(1)), Admission::Go, "a new window after the reset");
        // A minute-precision reset already past says nothing about when to resume.
        let q = Pacer::default();
        q.observe(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &minute(now - chrono::Duration::minutes(1)))]), now);
        assert_eq!(q.admit(now), Admission::Go);
    }

    #[test]
    fn client_debug_and_errors_never_show_the_key() {
        let config = Config::from_value(&json!({"api_key": "k-3e1f0c2d9a8b7c6d5e4f", "org_id": "o"})).unwrap();
        let client = AtlassianClient::new(&config).unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("k-3e1f0c2d9a8b7c6d5e4f") && debug.contains("**********"), "{debug}");
        assert!(format!("{:?}", client.auth).contains("Sensitive"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn hints_from_any_header_text_never_panic(retry in "\\PC{0,40}", reset in "\\PC{0,40}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&retry) { h.insert(RETRY_AFTER, v); }
            if let Ok(v) = HeaderValue::from_str(&reset) { h.insert("x-ratelimit-reset", v.clone()); h.insert("x-ratelimit-remaining", v); }
            if let Some(d) = retry_hint(&h) {
                prop_assert!(d <= Duration::from_secs(86_400));
            }
            let p = Pacer::default();
            p.observe(&h, Utc::now());
            match p.admit(Utc::now()) {
                Admission::Go => {}
                Admission::After { wait, .. } | Admission::UsedUp { wait, .. } => prop_assert!(wait <= MAX_PACING_WAIT),
            }
        }

        #[test]
        fn reset_times_of_any_shape_parse_or_not_without_panic(y in 0i32..300_000, rest in "[-:T .Z0-9]{0,25}") {
            let _ = parse_reset(&format!("{y}{rest}"));
        }
    }
}
