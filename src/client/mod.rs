//! The Atlassian Organizations API client: bearer auth, URLs, one explicit retry loop, and
//! typed calls for each endpoint the connector uses. It knows HTTP and Atlassian; it never
//! writes to stdout — anything a person should hear about (a wait, a retry) goes out as a
//! [`Notice`] on a channel the sync loop reads.

pub mod error;
pub mod models;
pub mod pagination;

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use url::Url;

use crate::config::{ApiKey, Config};
pub use error::{ApiError, Endpoint};
use models::{ApiUser, ApiWorkspace, OrgResponse, Page};

/// The largest page the workspaces endpoint serves.
pub const WORKSPACES_PAGE_LIMIT: u32 = 1000;
/// A response body larger than this is refused rather than buffered.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

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
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1`: the server's hint when it gave one,
    /// else exponential backoff with full jitter.
    fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        if let Some(h) = hint {
            return h.min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16)).min(self.max_delay);
        exp.mul_f64(jitter())
    }
}

/// A number in [0.5, 1.0) from the clock's nanoseconds: enough to spread retries apart.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    0.5 + (nanos % 1000) as f64 / 2000.0
}

pub struct AtlassianClient {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    org_id: String,
    directory_id: String,
    page_size: u32,
    retry: RetryPolicy,
    notices: Option<mpsc::UnboundedSender<Notice>>,
}

impl AtlassianClient {
    pub fn new(config: &Config) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("source-atlassian-admin/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(config.request_timeout)
            // The API does not redirect; following one could carry the key to another host.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(config.base_url.scheme() == "https")
            .build()
            .map_err(|e| ApiError::Network { endpoint: Endpoint::Org, reason: e.to_string() })?;
        Ok(AtlassianClient {
            http,
            base: config.base_url.clone(),
            key: config.api_key.clone(),
            org_id: config.org_id.clone(),
            directory_id: config.directory_id.clone(),
            page_size: config.page_size,
            retry: RetryPolicy { max_attempts: config.max_retries + 1, ..RetryPolicy::default() },
            notices: None,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
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

    /// `base` + `/admin/...` segments, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("a validated http(s) base URL has a path")
            .pop_if_empty()
            .push("admin")
            .extend(segments);
        url
    }

    /// `GET /admin/v1/orgs/{orgId}`: proves the key and the org id in one call.
    pub async fn get_org(&self) -> Result<OrgResponse, ApiError> {
        let url = self.url(&["v1", "orgs", &self.org_id]);
        self.call(Endpoint::Org, Method::GET, url, None).await
    }

    /// One page of the v2 users search.
    pub async fn search_users(&self, cursor: Option<&str>, limit: u32, expand: &[&str]) -> Result<Page<ApiUser>, ApiError> {
        let url = self.url(&["v2", "orgs", &self.org_id, "directories", &self.directory_id, "users", "search"]);
        let mut body = json!({"limit": limit});
        if !expand.is_empty() {
            body["expand"] = json!(expand);
        }
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

    fn notify(&self, notice: Notice) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(notice);
        }
    }

    /// The retry loop: one attempt at a time; "may it be retried" is [`ApiError::is_retryable`],
    /// "how long to wait" is [`RetryPolicy::delay`].
    async fn call<T: DeserializeOwned>(&self, endpoint: Endpoint, method: Method, url: Url, body: Option<&Value>) -> Result<T, ApiError> {
        let mut attempt = 1;
        loop {
            let (error, hint) = match self.attempt(endpoint, method.clone(), url.clone(), body).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !error.is_retryable() || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let wait = self.retry.delay(attempt, hint);
            let rate_limited = matches!(error, ApiError::RateLimited { .. });
            self.notify(Notice {
                endpoint,
                message: format!(
                    "{error}; retrying in {:.1} s (attempt {} of {})",
                    wait.as_secs_f64(),
                    attempt + 1,
                    self.retry.max_attempts
                )
                .replace(" and retries ran out", ""),
                rate_limited_until_ms: rate_limited
                    .then(|| chrono::Utc::now().timestamp_millis() + wait.as_millis() as i64),
            });
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request and its decoded body; on failure also the server's hint of when to retry.
    async fn attempt<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<T, (ApiError, Option<Duration>)> {
        let mut req = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, format!("Bearer {}", self.key.expose()))
            .header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").json(b);
        }
        let network = |e: reqwest::Error| {
            // reqwest errors name the URL; strip it, the endpoint template says enough.
            let reason = self.key.redact(&e.without_url().to_string());
            (ApiError::Network { endpoint, reason }, None)
        };
        let mut resp = req.send().await.map_err(network)?;
        let status = resp.status();
        let hint = retry_hint(resp.headers());
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                let reason = format!("the response body is larger than {MAX_BODY_BYTES} bytes");
                return Err((ApiError::Decode { endpoint, reason }, None));
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                (ApiError::Decode { endpoint, reason: self.key.redact(&e.to_string()) }, None)
            });
        }
        let mut parsed = error::ErrorBody::parse(&bytes);
        parsed.text = parsed.text.map(|t| self.key.redact(&t));
        let err = error::classify(endpoint, status.as_u16(), &parsed);
        let hint = if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() { hint } else { None };
        Err((err, hint))
    }
}

/// When the server says to come back: `Retry-After` (seconds or an HTTP date), else
/// `X-RateLimit-Reset` (ISO-8601, possibly at minute precision).
pub fn retry_hint(headers: &HeaderMap) -> Option<Duration> {
    let now = chrono::Utc::now();
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs.min(86_400.0)));
            }
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc2822(v) {
            return Some((t.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO));
        }
    }
    let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok())?;
    let t = crate::time::parse_lenient(reset)?;
    Some((t - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_reset_time() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_hint(&h), Some(Duration::from_secs(2)));
        let mut h = HeaderMap::new();
        let soon = (chrono::Utc::now() + chrono::Duration::minutes(2)).format("%Y-%m-%dT%H:%MZ").to_string();
        h.insert("x-ratelimit-reset", soon.parse().unwrap());
        let d = retry_hint(&h).unwrap();
        assert!(d > Duration::from_secs(50) && d <= Duration::from_secs(120), "{d:?}");
        assert_eq!(retry_hint(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        assert!(p.delay(1, None) <= Duration::from_millis(200));
        assert!(p.delay(10, None) <= Duration::from_secs(1));
        assert_eq!(p.delay(1, Some(Duration::from_secs(30))), Duration::from_secs(1));
    }
}
