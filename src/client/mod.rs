//! The Atlassian Organizations API client. It knows HTTP and Atlassian; it never writes to
//! stdout — anything a person should hear about (a wait, a retry) goes out as a [`Notice`] on
//! a channel the read loop reads. One file per job:
//!
//! - [`http`]: one attempt — the request, the body, and its classification ([`error`]);
//! - [`retry`]: the one retry loop — "may it be retried" is [`ApiError::is_retryable`], "how
//!   long to wait" is [`RetryPolicy`] or the server's hint; 429s spend the [`WaitBudget`];
//! - [`pacing`]: slowing down before the quota runs out ([`Pacer`]), and reading the server's
//!   `Retry-After` / `X-RateLimit-*` hints;
//! - [`endpoints`]: the typed calls, each named by its path template ([`Endpoint`]);
//! - [`endpoint`]: an endpoint as data (its page style, scope, 404 rule, rate limit);
//! - [`pagination`]: the request of a page and its next cursor, per page style, and cursor
//!   chains as producer tasks;
//! - the activity sources the users pass chooses among ([`managed`] for the managed accounts
//!   in bulk, [`per_user`] for one request per user);
//! - [`orgs`]: the organization found from the key, when the config names none.

pub mod endpoint;
pub mod endpoints;
pub mod error;
pub mod http;
pub mod managed;
pub mod models;
pub mod orgs;
pub mod pacing;
pub mod pagination;
pub mod per_user;
pub mod retry;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderValue;
use tokio::sync::mpsc;
use url::Url;

use crate::config::{ApiKey, Config};
pub use error::{ApiError, Endpoint};
pub use pacing::{Pacer, Pacers};
pub use retry::{RetryPolicy, WaitBudget};

/// What a key whose scopes do not reach the v2 directory (its users search answers 403) can
/// and cannot read: said by `check` and by a read's WARN.
pub const MANAGED_ONLY: &str = "the users search (POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search) answered 403 Forbidden: only managed accounts (the users of the organization's verified domains) and their activity are read, from GET /admin/v1/orgs/{orgId}/users, with only the fields that list gives (the others are null), and license_assignments cannot be read. A key with the scope 'read:directories:admin' (or a key without scopes) reads every user";

/// The largest page the workspaces endpoint serves.
pub const WORKSPACES_PAGE_LIMIT: u32 = 1000;

/// Something worth telling the person or platform while a call is in progress.
#[derive(Debug, Clone)]
pub struct Notice {
    pub endpoint: Endpoint,
    pub message: String,
    /// Set when the wait is a rate limit.
    pub pause: Option<Pause>,
}

/// A wait for a rate limit to lift: decided at `from_ms`, until `until_ms` (ms since the epoch),
/// so `until_ms - from_ms` is exactly the wait the client chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from_ms: i64,
    pub until_ms: i64,
}

impl Pause {
    /// A wait of `wait` from now, at millisecond precision: what `quota_reset` and messages show.
    pub(crate) fn from_now(wait: Duration) -> Pause {
        let from_ms = Utc::now().timestamp_millis();
        Pause { from_ms, until_ms: from_ms.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2)) }
    }

    pub(crate) fn until(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.until_ms).unwrap_or_else(Utc::now)
    }
}

pub struct AtlassianClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    key: ApiKey,
    /// Set from the config, or found from the key before the first other call
    /// ([`AtlassianClient::find_org`]).
    org_id: OnceLock<String>,
    directory_id: String,
    page_size: u32,
    request_timeout: Duration,
    retry: RetryPolicy,
    budget: WaitBudget,
    pacers: Pacers,
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

impl AtlassianClient {
    pub fn new(config: &Config) -> Result<Self, ApiError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose())).map_err(|_| ApiError::InvalidKey)?;
        auth.set_sensitive(true);
        Ok(AtlassianClient {
            http: http::client(config)?,
            base: config.base_url.clone(),
            auth,
            key: config.api_key.clone(),
            org_id: config.org_id.clone().map(OnceLock::from).unwrap_or_default(),
            directory_id: config.directory_id.clone(),
            page_size: config.page_size,
            request_timeout: config.request_timeout,
            retry: RetryPolicy { max_attempts: config.max_retries + 1, ..RetryPolicy::default() },
            budget: WaitBudget::new(config.max_rate_limit_wait),
            pacers: Pacers::default(),
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

    /// The organization read (empty until [`AtlassianClient::find_org`] found it, when the
    /// config has none).
    pub fn org_id(&self) -> &str {
        self.org_id.get().map_or("", String::as_str)
    }

    /// Time spent waiting on rate limits so far.
    pub fn rate_limit_waited(&self) -> Duration {
        self.budget.spent()
    }

    /// Requests sent so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn notify(&self, endpoint: Endpoint, message: String, pause: Option<Pause>) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(Notice { endpoint, message, pause });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_debug_and_errors_never_show_the_key() {
        let config = Config::from_value(&json!({"api_key": "k-3e1f0c2d9a8b7c6d5e4f", "org_id": "o"})).unwrap();
        let client = AtlassianClient::new(&config).unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("k-3e1f0c2d9a8b7c6d5e4f") && debug.contains("**********"), "{debug}");
        assert!(format!("{:?}", client.auth).contains("Sensitive"));
    }
}
