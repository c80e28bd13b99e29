//! Typed API errors and the one table that classifies every HTTP outcome:
//! is it retryable, which protocol failure type, and what a person should do about it.
//!
//! Each variant describes one outcome; [`ApiError::Exhausted`] wraps the last one when the
//! client gave up retrying, so a message reads the same in a retry notice and in the final
//! error. No message contains the API key, a full URL or a response body: endpoints are
//! named by their path template, and body-derived text is shortened and stripped of quoted
//! values.

pub use super::endpoint::Endpoint;
use super::endpoint::NotFound;
use crate::protocol::FailureType;

/// Where a person finds the organization ID, for the messages that ask for it.
pub const ORG_ID_WHERE: &str = "The organization ID is the part after /o/ in the address of any admin.atlassian.com page of the organization (admin.atlassian.com/o/<organization ID>/overview); Settings → API keys shows it too";

/// What went wrong with one API call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{endpoint} answered 401 Unauthorized: the API key is wrong, expired or revoked. Create a new key under admin.atlassian.com → Settings → API keys and update the connector's config")]
    Unauthorized { endpoint: Endpoint },

    #[error("{endpoint} answered 403 Forbidden{detail}: the API key lacks a permission for this endpoint (a key created with scopes needs '{scope}'), or the organization's plan lacks the feature. Create a key with that scope, or one without scopes, under admin.atlassian.com → Settings → API keys", scope = endpoint.scope_advice())]
    Forbidden { endpoint: Endpoint, detail: String },

    #[error("{endpoint} answered 404 ADMIN-404-2: no organization with the configured org_id is visible to this API key. Check the 'org_id' field (admin.atlassian.com → Settings → API keys shows it next to the key)")]
    OrgNotFound { endpoint: Endpoint },

    /// A 404 that is not the API's "no such organization": nothing is at that address, so
    /// `base_url` is not the API's root.
    #[error("{endpoint} answered 404 Not Found{detail} under {base}: no such address there. Check that 'base_url' is the API root (https://api.atlassian.com, or your proxy's address for it) with nothing after it")]
    NotFound { endpoint: Endpoint, base: String, detail: String },

    /// A 404 from an API the organization or the key is not offered (an experimental one).
    #[error("{endpoint} answered 404 Not Found{detail}: this API is not available to the organization or to this API key (Atlassian marks it experimental and may not have enabled it), or a key created with scopes lacks '{scope}'. Create a key with that scope, or one without scopes, under admin.atlassian.com → Settings → API keys", scope = endpoint.scope_advice())]
    Unavailable { endpoint: Endpoint, detail: String },

    #[error("{endpoint} answered {status}{detail}")]
    Client { endpoint: Endpoint, status: u16, code: Option<String>, detail: String },

    /// A 429, or — with a `detail` saying so — a rate limit that would outlast
    /// `max_rate_limit_wait_seconds`.
    #[error("{endpoint} is rate limited{detail}")]
    RateLimited { endpoint: Endpoint, detail: String },

    #[error("{endpoint} answered {status} (server error){detail}")]
    Server { endpoint: Endpoint, status: u16, detail: String },

    #[error("{endpoint} could not be reached: {reason}")]
    Network { endpoint: Endpoint, reason: String },

    #[error("{endpoint} returned a response that is not the expected JSON: {reason}")]
    Decode { endpoint: Endpoint, reason: String },

    #[error("{endpoint} answered {status} redirecting to {target}; the connector does not follow a redirect away from the configured API origin (scheme, host and port), so the API key is never sent elsewhere. Check that 'base_url' points at the Atlassian API (https://api.atlassian.com)")]
    Redirected { endpoint: Endpoint, status: u16, target: String },

    #[error("{endpoint} returned the page cursor it had already returned; stopping instead of looping")]
    RepeatedCursor { endpoint: Endpoint },

    #[error("{endpoint} returned {pages} empty pages in a row, each pointing to yet another page; stopping instead of looping")]
    EmptyPages { endpoint: Endpoint, pages: u32 },

    /// `links.next` is a URL on this endpoint: only its `cursor` is taken, never the URL.
    #[error("{endpoint} returned a malformed page: its next-page link {what}, so the next page cannot be asked for (the connector takes only the page cursor from such a link). Report it")]
    BadNextLink { endpoint: Endpoint, what: String },

    #[error("{endpoint} lists no organization for this API key (a key created with scopes lists none), so the organization cannot be found from the key alone: set 'org_id' in the config. {ORG_ID_WHERE}")]
    NoOrgListed { endpoint: Endpoint },

    #[error("{endpoint} lists {count} organizations for this API key ({listed}): set 'org_id' in the config to the one to read. {ORG_ID_WHERE}")]
    SeveralOrgsListed { endpoint: Endpoint, count: String, listed: String },

    /// The last failure of a call whose retries ran out; `limit` says what sets the number
    /// of attempts (see [`super::RetryPolicy::limit`]).
    #[error("{last} (gave up after {attempts} {}; {limit})", if *attempts == 1 { "attempt" } else { "attempts" })]
    Exhausted { attempts: u32, last: Box<ApiError>, limit: &'static str },

    /// The configured key cannot be sent: it is not a valid HTTP header value.
    #[error("field 'api_key': the key contains characters an HTTP header cannot carry; copy the key again")]
    InvalidKey,
}

impl ApiError {
    /// The outcome itself: the last failure of a call whose retries ran out.
    pub fn last(&self) -> &ApiError {
        match self {
            ApiError::Exhausted { last, .. } => last.last(),
            other => other,
        }
    }

    /// The key or the plan may not use the endpoint (401 or 403): on an optional stream's
    /// endpoint, that stream is not readable while the others are.
    pub fn is_refused(&self) -> bool {
        matches!(self.last(), ApiError::Forbidden { .. } | ApiError::Unauthorized { .. } | ApiError::Unavailable { .. })
    }

    /// A 403 answered by `endpoint` itself (not a retry's last word on another).
    pub fn is_forbidden_at(&self, endpoint: Endpoint) -> bool {
        matches!(self, ApiError::Forbidden { endpoint: e, .. } if *e == endpoint)
    }

    /// A 404 that is not the API's "no such organization".
    pub fn is_not_found(&self) -> bool {
        matches!(self.last(), ApiError::NotFound { .. } | ApiError::Client { status: 404, .. })
    }

    /// Should the same request be tried again?
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::RateLimited { .. } | ApiError::Server { .. } | ApiError::Network { .. } | ApiError::Decode { .. } => true,
            ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
            | ApiError::Unavailable { .. }
            | ApiError::OrgNotFound { .. }
            | ApiError::NotFound { .. }
            | ApiError::Client { .. }
            | ApiError::Redirected { .. }
            | ApiError::RepeatedCursor { .. }
            | ApiError::EmptyPages { .. }
            | ApiError::BadNextLink { .. }
            | ApiError::NoOrgListed { .. }
            | ApiError::SeveralOrgsListed { .. }
            | ApiError::Exhausted { .. }
            | ApiError::InvalidKey => false,
        }
    }

    /// The protocol failure type: the one place errors are classified.
    pub fn failure_type(&self) -> FailureType {
        match self {
            ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
            | ApiError::Unavailable { .. }
            | ApiError::OrgNotFound { .. }
            | ApiError::NotFound { .. }
            | ApiError::NoOrgListed { .. }
            | ApiError::SeveralOrgsListed { .. }
            | ApiError::InvalidKey => FailureType::ConfigError,
            ApiError::RateLimited { .. } | ApiError::Server { .. } | ApiError::Network { .. } => {
                FailureType::TransientError
            }
            ApiError::Client { .. }
            | ApiError::Decode { .. }
            | ApiError::Redirected { .. }
            | ApiError::RepeatedCursor { .. }
            | ApiError::EmptyPages { .. }
            | ApiError::BadNextLink { .. } => FailureType::SystemError,
            ApiError::Exhausted { last, .. } => last.failure_type(),
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        match self {
            ApiError::Unauthorized { endpoint }
            | ApiError::Forbidden { endpoint, .. }
            | ApiError::Unavailable { endpoint, .. }
            | ApiError::OrgNotFound { endpoint }
            | ApiError::NotFound { endpoint, .. }
            | ApiError::Client { endpoint, .. }
            | ApiError::RateLimited { endpoint, .. }
            | ApiError::Server { endpoint, .. }
            | ApiError::Network { endpoint, .. }
            | ApiError::Decode { endpoint, .. }
            | ApiError::Redirected { endpoint, .. }
            | ApiError::RepeatedCursor { endpoint }
            | ApiError::EmptyPages { endpoint, .. }
            | ApiError::BadNextLink { endpoint, .. }
            | ApiError::NoOrgListed { endpoint }
            | ApiError::SeveralOrgsListed { endpoint, .. } => *endpoint,
            ApiError::Exhausted { last, .. } => last.endpoint(),
            ApiError::InvalidKey => super::endpoints::ORG,
        }
    }
}

/// Replaces every double-quoted string in a parser message by `"…"`: serde quotes values
/// from the body it read (`invalid type: string "jane@example.com"`), and bodies stay private.
pub fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_quote = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quote = false;
                out.push_str("…\"");
            }
        } else {
            out.push(c);
            in_quote = c == '"';
        }
    }
    if in_quote {
        out.push('…');
    }
    out.chars().take(300).collect()
}

/// Why a body could not be decoded, for a person, without quoting the body.
pub fn describe_decode(e: &serde_json::Error, len: usize) -> String {
    use serde_json::error::Category;
    let what = without_quoted(&e.to_string());
    match e.classify() {
        Category::Eof => format!("the body ends early, as if cut off ({len} bytes; {what})"),
        Category::Syntax | Category::Io => format!("the body is not valid JSON ({what})"),
        Category::Data => format!("the JSON has an unexpected shape ({what})"),
    }
}

/// The interesting part of an Atlassian error body: either `{"errors":[{code,title,detail}]}`
/// (application) or `{"code":..,"message":..}` (gateway).
#[derive(Debug, Default, PartialEq)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub text: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return ErrorBody { code: None, text: what_answered(body) };
        };
        let short = |s: &str| s.chars().take(300).collect::<String>();
        if let Some(first) = v.get("errors").and_then(|e| e.as_array()).and_then(|a| a.first()) {
            let code = first.get("code").and_then(|c| c.as_str()).map(short);
            let text = [first.get("title"), first.get("detail")]
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .filter(|t| !t.is_empty())
                .map(short)
                .collect::<Vec<_>>()
                .join(": ");
            return ErrorBody { code, text: (!text.is_empty()).then_some(text) };
        }
        ErrorBody { code: None, text: v.get("message").and_then(|m| m.as_str()).map(short) }
    }

    fn suffix(&self) -> String {
        match (&self.code, &self.text) {
            (Some(c), Some(t)) => format!(" ({c}: {t})"),
            (Some(c), None) => format!(" ({c})"),
            (None, Some(t)) => format!(" ({t})"),
            (None, None) => String::new(),
        }
    }
}

/// What a body that is not an Atlassian error says it is (a proxy's or a load balancer's
/// page): its HTML `<title>`, else its first line that has text, tags dropped, at most
/// [`WHAT_ANSWERED_CHARS`] characters. The caller redacts it.
fn what_answered(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    let lower = text.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|start| {
        let open = start + lower[start..].find('>')? + 1;
        let close = open + lower[open..].find("</title")?;
        Some(&text[open..close])
    });
    let line = title.into_iter().chain(text.lines()).map(without_tags).find(|l| !l.is_empty())?;
    let mut short: String = line.chars().take(WHAT_ANSWERED_CHARS).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    Some(short)
}

const WHAT_ANSWERED_CHARS: usize = 120;

/// `s` with `<...>` tags removed and runs of whitespace (and control characters) made one space.
fn without_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Maps a non-success HTTP status and its body to an error; `base` is the configured API
/// root, as messages name it. Whether to retry is [`ApiError::is_retryable`]; how long to
/// wait is the client's backoff policy.
pub fn classify(endpoint: Endpoint, status: u16, body: &ErrorBody, base: &str) -> ApiError {
    let detail = body.suffix();
    match status {
        401 => ApiError::Unauthorized { endpoint },
        403 => ApiError::Forbidden { endpoint, detail },
        404 if body.code.as_deref() == Some("ADMIN-404-2") => ApiError::OrgNotFound { endpoint },
        404 if endpoint.not_found() == NotFound::Unavailable => ApiError::Unavailable { endpoint, detail },
        // No Atlassian code, or "unknown resource": the address itself does not exist.
        404 if matches!(body.code.as_deref(), None | Some("ADMIN-404-1")) => ApiError::NotFound { endpoint, base: base.to_string(), detail },
        429 => {
            let what = body.text.as_deref().unwrap_or("Too Many Requests");
            ApiError::RateLimited { endpoint, detail: format!(" (429: {what})") }
        }
        500..=599 => ApiError::Server { endpoint, status, detail },
        _ => ApiError::Client { endpoint, status, code: body.code.clone(), detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let e = super::super::endpoints::USERS_SEARCH;
        let none = ErrorBody::default();
        let cases: &[(u16, Option<&str>, bool, FailureType)] = &[
            (401, None, false, FailureType::ConfigError),
            (403, None, false, FailureType::ConfigError),
            (404, Some("ADMIN-404-2"), false, FailureType::ConfigError),
            (404, Some("ADMIN-404-8"), false, FailureType::SystemError),
            (404, Some("ADMIN-404-1"), false, FailureType::ConfigError),
            (404, None, false, FailureType::ConfigError),
            (400, Some("ADMIN-400-1"), false, FailureType::SystemError),
            (429, None, true, FailureType::TransientError),
            (502, None, true, FailureType::TransientError),
            (500, None, true, FailureType::TransientError),
            (503, None, true, FailureType::TransientError),
        ];
        for (status, code, retry, ft) in cases {
            let body = ErrorBody { code: code.map(String::from), ..ErrorBody::default() };
            let err = classify(e, *status, if code.is_some() { &body } else { &none }, "https://api.atlassian.com");
            assert_eq!(err.is_retryable(), *retry, "{status}");
            assert_eq!(err.failure_type(), *ft, "{status}");
        }
    }

    #[test]
    fn parses_both_error_shapes() {
        let app = br#"{"errors":[{"id":"x","status":"404","code":"ADMIN-404-2","title":"Not Found","detail":"Organization not found"}]}"#;
        assert_eq!(
            ErrorBody::parse(app),
            ErrorBody { code: Some("ADMIN-404-2".into()), text: Some("Not Found: Organization not found".into()) }
        );
        let gw = br#"{"code":401,"message":"Unauthorized"}"#;
        assert_eq!(ErrorBody::parse(gw), ErrorBody { code: None, text: Some("Unauthorized".into()) });
        assert_eq!(ErrorBody::parse(b"<html>"), ErrorBody::default());
    }

    #[test]
    fn a_body_that_is_not_an_atlassian_error_is_named_by_its_title_or_first_line() {
        let text = |b: &[u8]| ErrorBody::parse(b).text;
        let nginx = b"<html>\r\n<head><TITLE>502 Bad Gateway</TITLE></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>";
        assert_eq!(text(nginx).as_deref(), Some("502 Bad Gateway"));
        assert_eq!(text(b"\n\n  upstream connect error or disconnect/reset before headers\nmore").as_deref(), Some("upstream connect error or disconnect/reset before headers"));
        assert_eq!(text(b"<html><body><p>Service   Unavailable</p></body></html>").as_deref(), Some("Service Unavailable"));
        let long = "x".repeat(500);
        let shortened = text(long.as_bytes()).unwrap();
        assert_eq!(shortened.chars().count(), WHAT_ANSWERED_CHARS + 1);
        assert!(shortened.ends_with('…'));
        assert_eq!(text(b"\xff\xfeoops").as_deref(), Some("\u{fffd}\u{fffd}oops"));
        assert_eq!(text(b"  \n\t"), None);
        let e = classify(super::super::endpoints::WORKSPACES, 502, &ErrorBody::parse(nginx), "https://api.atlassian.com");
        assert!(e.to_string().contains("(502 Bad Gateway)"), "{e}");
    }

    #[test]
    fn the_rest_of_the_table() {
        let e = super::super::endpoints::WORKSPACES;
        let net = || ApiError::Network { endpoint: e, reason: "x".into() };
        let cases: Vec<(ApiError, bool, FailureType)> = vec![
            (net(), true, FailureType::TransientError),
            (ApiError::Decode { endpoint: e, reason: "x".into() }, true, FailureType::SystemError),
            (ApiError::Redirected { endpoint: e, status: 307, target: "h".into() }, false, FailureType::SystemError),
            (ApiError::RepeatedCursor { endpoint: e }, false, FailureType::SystemError),
            (ApiError::EmptyPages { endpoint: e, pages: 20 }, false, FailureType::SystemError),
            (ApiError::BadNextLink { endpoint: e, what: "has no cursor parameter".into() }, false, FailureType::SystemError),
            (ApiError::NoOrgListed { endpoint: e }, false, FailureType::ConfigError),
            (ApiError::SeveralOrgsListed { endpoint: e, count: "2".into(), listed: "a, b".into() }, false, FailureType::ConfigError),
            (ApiError::Exhausted { attempts: 3, last: Box::new(net()), limit: "x" }, false, FailureType::TransientError),
            (
                ApiError::Exhausted { attempts: 3, last: Box::new(ApiError::Decode { endpoint: e, reason: "x".into() }), limit: "x" },
                false,
                FailureType::SystemError,
            ),
        ];
        for (err, retry, ft) in cases {
            assert_eq!(err.is_retryable(), retry, "{err}");
            assert_eq!(err.failure_type(), ft, "{err}");
            assert_eq!(err.endpoint(), e);
            assert!(err.to_string().contains(&e.to_string()), "{err}");
        }
    }

    #[test]
    fn decode_messages_never_quote_the_body() {
        #[derive(Debug, serde::Deserialize)]
        struct Shape {
            #[allow(dead_code)]
            data: Vec<u32>,
        }
        let secret = "jane.doe@example.com";
        for body in [
            format!(r#"{{"data": "{secret}"}}"#),
            format!(r#"{{"data": ["{secret}"]}}"#),
            r#"{"data": [1, 2"#.to_string(),
            format!(r#"<html>{secret}</html>"#),
        ] {
            let e = serde_json::from_str::<Shape>(&body).unwrap_err();
            let msg = describe_decode(&e, body.len());
            assert!(!msg.contains(secret), "{msg}");
        }
        assert_eq!(without_quoted(r#"string "a\"b", expected"#), r#"string "…", expected"#);
        assert_eq!(without_quoted(r#"open "abc"#), r#"open "…"#);
    }
}
