//! One HTTP attempt: the request with the key, the body read (bounded), and the outcome
//! classified — a decoded value, or an [`ApiError`] with the server's hint of when to retry.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::error::{self, ApiError, Endpoint};
use super::pacing::{reset_wait, retry_after, retry_hint};
use super::AtlassianClient;
use crate::config::Config;

/// A response body larger than this is refused rather than buffered.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The longest connect phase, however long `request_timeout_seconds` is.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed within the API's own origin.
const MAX_REDIRECTS: usize = 5;

/// One call to make: where, what to send, and how to read the answer's body (`decode` says
/// why a body is unreadable, and that is retried like any other failed attempt).
pub(crate) struct Call<'a, T> {
    pub endpoint: Endpoint,
    pub method: Method,
    pub url: Url,
    pub body: Option<&'a Value>,
    pub decode: fn(String) -> Result<T, String>,
}

/// One failed attempt: the error and the server's hint of when to come back.
pub(crate) struct Failure {
    pub error: ApiError,
    pub hint: Option<Duration>,
    /// Where the hint comes from, for the message that announces the wait.
    pub hint_from: &'static str,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure { error, hint: None, hint_from: "" }
    }
}

/// The HTTP client: timeouts from the config, and redirects followed only within the API's
/// own origin — one to anywhere else is returned as is and reported, so the Authorization
/// header never leaves for it.
pub(crate) fn client(config: &Config) -> Result<reqwest::Client, ApiError> {
    let origin = config.base_url.clone();
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS || !same_origin(attempt.url(), &origin) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("source-atlassian-admin/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT.min(config.request_timeout))
        .timeout(config.request_timeout)
        .redirect(redirects)
        .https_only(config.base_url.scheme() == "https")
        .build()
        .map_err(|e| ApiError::Network { endpoint: super::endpoints::ORG, reason: config.api_key.redact(&e.without_url().to_string()) })
}

/// The API's origin (scheme, host, port): the only place a redirect may lead.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// A JSON body as `T`.
pub(crate) fn json_body<T: DeserializeOwned>(text: String) -> Result<T, String> {
    serde_json::from_str(&text).map_err(|e| error::describe_decode(&e, text.len()))
}

impl AtlassianClient {
    /// The `cursor` of a v1 list's `links.next`, which is a URL. The URL itself is never
    /// requested: the next page is asked of `base_url` with that cursor, so a link naming
    /// another origin (the upstream's, behind a reverse proxy) is fine; one that is not a URL,
    /// or has no cursor, is a malformed page.
    pub(crate) fn cursor_of_link(&self, endpoint: Endpoint, link: &str) -> Result<String, ApiError> {
        let bad = |what: &str| ApiError::BadNextLink { endpoint, what: what.into() };
        let url = self.base.join(link.trim()).map_err(|_| bad("is not a URL"))?;
        match url.query_pairs().find(|(k, _)| k == "cursor") {
            Some((_, c)) if !c.is_empty() => Ok(c.into_owned()),
            _ => Err(bad("has no cursor parameter")),
        }
    }

    /// The configured API root as messages name it: origin and path, nothing else.
    fn base_display(&self) -> String {
        format!("{}{}", self.base.origin().ascii_serialization(), self.base.path().trim_end_matches('/'))
    }

    /// `base` + `/admin/...` segments, each percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // A validated http(s) base always has path segments; if not, the request fails visibly.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("admin").extend(segments);
        }
        url
    }

    /// One request (sent at `sent`, as the pacer admitted it) and its decoded body; on failure
    /// also the hint of when to retry.
    pub(crate) async fn attempt<T>(&self, call: &Call<'_, T>, sent: chrono::DateTime<Utc>) -> Result<T, Failure> {
        let endpoint = call.endpoint;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req =
            self.http.request(call.method.clone(), call.url.clone()).header(AUTHORIZATION, self.auth.clone()).header(ACCEPT, "application/json");
        if let Some(b) = call.body {
            req = req.header(CONTENT_TYPE, "application/json").json(b);
        }
        let network = |e: reqwest::Error| Failure::from(ApiError::Network { endpoint, reason: self.key.redact(&describe_network(e, self.request_timeout)) });
        let mut resp = req.send().await.map_err(network)?;
        let status = resp.status();
        if status.is_redirection() {
            let target = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| self.base.join(l).ok())
                .map(|u| u.origin().ascii_serialization())
                .filter(|o| o != "null")
                .unwrap_or_else(|| "an unnamed location".into());
            return Err(ApiError::Redirected { endpoint, status: status.as_u16(), target }.into());
        }
        let throttled = status == StatusCode::TOO_MANY_REQUESTS;
        if status.is_success() || throttled {
            self.pacers.of(endpoint).observe(resp.headers(), sent, Utc::now(), throttled);
        }
        // After a 429: `Retry-After`; else the end of the window as the pacer knows it (a
        // reset header alone may be skewed or truncated); else the reset header.
        let (hint, hint_from) = if throttled {
            match retry_after(resp.headers()) {
                Some(h) => (Some(h), "as the API asked"),
                None => match self.pacers.of(endpoint).retry_wait(Utc::now()) {
                    Some(h) => (Some(h), "until the rate-limit window ends, as the API's answers tell"),
                    None => (reset_wait(resp.headers()), "as the API asked"),
                },
            }
        } else {
            (status.is_server_error().then(|| retry_hint(resp.headers())).flatten(), "as the API asked")
        };
        let expected = resp.content_length().unwrap_or(0).min(MAX_BODY_BYTES as u64) as usize;
        let mut bytes = Vec::with_capacity(expected);
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                let reason = format!("the response body is larger than {MAX_BODY_BYTES} bytes");
                return Err(ApiError::Decode { endpoint, reason }.into());
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            // One UTF-8 check of the whole body is much cheaper than serde_json's check of
            // every string it reads from a byte slice.
            let text = String::from_utf8(bytes)
                .map_err(|_| Failure::from(ApiError::Decode { endpoint, reason: "the response body is not UTF-8 text".into() }))?;
            return (call.decode)(text).map_err(|reason| ApiError::Decode { endpoint, reason: self.key.redact(&reason) }.into());
        }
        let mut parsed = error::ErrorBody::parse(&bytes);
        parsed.text = parsed.text.map(|t| self.key.redact(&t));
        parsed.code = parsed.code.map(|c| self.key.redact(&c));
        Err(Failure { error: error::classify(endpoint, status.as_u16(), &parsed, &self.base_display()), hint, hint_from })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> AtlassianClient {
        let config = Config::from_value(&serde_json::json!({"api_key": "k-12345678", "base_url": base})).unwrap();
        AtlassianClient::new(&config).unwrap()
    }

    #[test]
    fn a_next_link_gives_its_cursor_whatever_its_origin() {
        let e = super::super::endpoints::MANAGED_USERS;
        let api = client("https://api.atlassian.com");
        assert_eq!(api.cursor_of_link(e, "https://api.atlassian.com/admin/v1/orgs/o/users?cursor=a%2Bb").unwrap(), "a+b");
        assert_eq!(api.cursor_of_link(e, "/admin/v1/orgs/o/users?x=1&cursor=c2").unwrap(), "c2", "relative");
        let proxy = client("https://proxy.example.com/atlassian");
        assert_eq!(proxy.cursor_of_link(e, "https://api.atlassian.com/admin/v1/orgs/o/users?cursor=c3").unwrap(), "c3", "the upstream's links");
        assert_eq!(proxy.cursor_of_link(e, "http://10.0.0.7:8080/admin/v1/orgs/o/users?cursor=c4").unwrap(), "c4", "any origin: never requested");
        for (link, what) in [
            ("https://api.atlassian.com/admin/v1/orgs/o/users", "has no cursor parameter"),
            ("https://api.atlassian.com/admin/v1/orgs/o/users?cursor=", "has no cursor parameter"),
            ("http://[::1/x?cursor=c", "is not a URL"),
        ] {
            match api.cursor_of_link(e, link) {
                Err(ApiError::BadNextLink { what: w, .. }) => assert_eq!(w, what, "{link}"),
                other => panic!("{link}: {other:?}"),
            }
        }
    }
}
