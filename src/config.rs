//! Connector configuration in two phases: the raw JSON is validated against `schemas/spec.json`
//! (so every error names its field), then turned into a [`Config`] whose values are already
//! parsed and checked (URL, dates, secret), before any network call is made.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

/// The full SPEC payload, embedded at build time.
pub const SPEC_JSON: &str = include_str!("../schemas/spec.json");

pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(SPEC_JSON).expect("schemas/spec.json is valid JSON"))
}

/// Config fields that hold secrets: their values never appear in messages.
const SECRET_FIELDS: &[&str] = &["api_key"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the config file {path} is not valid JSON: {reason}")]
    NotJson { path: String, reason: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The organization API key. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    /// The only way to the secret: for the Authorization header.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Replaces any occurrence of the key in `text` (e.g. an error body echoing a header).
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) {
            text.replace(&self.0, "**********")
        } else {
            text.to_string()
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(**********)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**********")
    }
}

/// Phase one: the JSON as the user wrote it, after schema validation.
#[derive(Deserialize)]
struct RawConfig {
    api_key: String,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default = "default_directory")]
    directory_id: String,
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default = "default_page_size")]
    page_size: u32,
    #[serde(default = "default_base_url")]
    base_url: String,
    /// Accepted (configs written for earlier versions have it) and no longer used: incremental
    /// `user_activity` detects changes per pair instead of re-reading a window.
    #[serde(default, rename = "lookback_window_days")]
    _lookback_window_days: Option<u32>,
    #[serde(default = "default_checkpoint_interval")]
    checkpoint_interval_pages: u32,
    #[serde(default = "default_timeout")]
    request_timeout_seconds: u64,
    #[serde(default = "default_retries")]
    max_retries: u32,
    #[serde(default = "default_max_wait")]
    max_rate_limit_wait_seconds: u64,
    #[serde(default)]
    activity_source: ActivitySource,
    #[serde(default = "default_concurrency")]
    max_concurrency: u32,
}

/// Where `user_activity` (and `users.last_active`) come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// The bulk search; when it gives no activity, the managed accounts in bulk (per-user
    /// calls for the rest), or per-user calls for everyone.
    #[default]
    Auto,
    /// The users search with the productAccess expand only.
    Bulk,
    /// The managed accounts (v1 users) in bulk; one last-active-dates call per user for the
    /// users they do not cover.
    ManagedAccounts,
    /// One last-active-dates call per user.
    PerUser,
}

fn default_directory() -> String {
    "-".into()
}
fn default_page_size() -> u32 {
    100
}
fn default_base_url() -> String {
    "https://api.atlassian.com".into()
}
fn default_checkpoint_interval() -> u32 {
    1
}
fn default_timeout() -> u64 {
    60
}
fn default_retries() -> u32 {
    5
}
fn default_max_wait() -> u64 {
    1800
}
fn default_concurrency() -> u32 {
    8
}

/// Phase two: a config whose every value has been checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_key: ApiKey,
    /// `None`: found from the key (`GET /v1/orgs` must list exactly one organization).
    pub org_id: Option<String>,
    pub directory_id: String,
    pub start_date: Option<DateTime<Utc>>,
    pub page_size: u32,
    pub base_url: Url,
    pub checkpoint_interval_pages: u32,
    pub request_timeout: std::time::Duration,
    pub max_retries: u32,
    pub max_rate_limit_wait: std::time::Duration,
    pub activity_source: ActivitySource,
    pub max_concurrency: usize,
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| ConfigError::NotJson {
            path: path.display().to_string(),
            // serde_json's message names line and column only, never the content.
            reason: e.to_string(),
        })?;
        Config::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Config, ConfigError> {
        validate_against_spec(value)?;
        let raw: RawConfig =
            serde_json::from_value(value.clone()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let start_date = match raw.start_date.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "field 'start_date': '{s}' is not an RFC 3339 date-time such as 2025-01-01T00:00:00Z"
                        ))
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let api_key = raw.api_key.trim();
        if api_key.is_empty() {
            return Err(ConfigError::Invalid("field 'api_key': must not be empty".into()));
        }
        // The key travels in an HTTP header: only visible ASCII can. Never echo it.
        if !api_key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(ConfigError::Invalid(
                "field 'api_key': contains a line break, control or non-ASCII character; copy the key again".into(),
            ));
        }
        Ok(Config {
            api_key: ApiKey::new(api_key),
            org_id: raw.org_id.map(|o| non_blank("org_id", o)).transpose()?,
            directory_id: non_blank("directory_id", raw.directory_id)?,
            start_date,
            page_size: raw.page_size,
            base_url: parse_base_url(&raw.base_url)?,
            checkpoint_interval_pages: raw.checkpoint_interval_pages,
            request_timeout: std::time::Duration::from_secs(raw.request_timeout_seconds),
            max_retries: raw.max_retries,
            max_rate_limit_wait: std::time::Duration::from_secs(raw.max_rate_limit_wait_seconds),
            activity_source: raw.activity_source,
            max_concurrency: raw.max_concurrency as usize,
        })
    }
}

fn non_blank(field: &str, value: String) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ConfigError::Invalid(format!("field '{field}': must not be blank")));
    }
    Ok(v.to_string())
}

fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::Invalid(format!("field 'base_url': {why}"));
    let url = Url::parse(raw.trim()).map_err(|e| bad(&format!("'{raw}' is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not contain a query or fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(bad(
            "plain http is refused because the API key would travel unencrypted; use https (http is allowed only for a loopback host such as 127.0.0.1)",
        )),
        other => Err(bad(&format!("scheme '{other}' is not supported; use https"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn validate_against_spec(value: &Value) -> Result<(), ConfigError> {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&spec()["connectionSpecification"])
            .expect("the connection specification is a valid JSON Schema")
    });
    if !value.is_object() {
        return Err(ConfigError::Invalid("the config must be a JSON object".into()));
    }
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|err| {
            let path = err.instance_path().to_string();
            let field = path.trim_start_matches('/').replace('/', ".");
            if let jsonschema::error::ValidationErrorKind::Required { property } = err.kind() {
                let missing = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
                let missing = if field.is_empty() { missing } else { format!("{field}.{missing}") };
                format!("field '{missing}' is missing: it is required")
            } else if field.is_empty() {
                err.to_string()
            } else if SECRET_FIELDS.iter().any(|s| field == *s || field.starts_with(&format!("{s}."))) {
                format!("field '{field}': must be a non-empty string")
            } else {
                format!("field '{field}': {err}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"api_key": "secret-key-123", "org_id": "org-1"})
    }

    #[test]
    fn defaults_apply() {
        let c = Config::from_value(&base()).unwrap();
        assert_eq!(c.directory_id, "-");
        assert_eq!(c.page_size, 100);
        assert_eq!(c.base_url.as_str(), "https://api.atlassian.com/");
        assert!(c.start_date.is_none());
        assert_eq!(c.checkpoint_interval_pages, 1);
        assert_eq!(c.max_retries, 5);
    }

    #[test]
    fn org_id_may_be_left_out_but_not_blank() {
        assert_eq!(Config::from_value(&json!({"api_key": "k"})).unwrap().org_id, None);
        assert_eq!(Config::from_value(&base()).unwrap().org_id.as_deref(), Some("org-1"));
        let err = Config::from_value(&json!({"api_key": "k", "org_id": "  "})).unwrap_err().to_string();
        assert!(err.contains("org_id"), "{err}");
    }

    #[test]
    fn missing_api_key_names_the_field() {
        let err = Config::from_value(&json!({"org_id": "o"})).unwrap_err().to_string();
        assert!(err.contains("api_key"), "{err}");
    }

    #[test]
    fn wrong_type_of_secret_does_not_echo_it() {
        let err = Config::from_value(&json!({"api_key": 123456789, "org_id": "o"})).unwrap_err().to_string();
        assert!(err.contains("api_key") && !err.contains("123456789"), "{err}");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        let mut v = base();
        v["base_url"] = json!("http://127.0.0.1:8080");
        assert!(Config::from_value(&v).is_ok());
        v["base_url"] = json!("http://localhost:8080/");
        assert!(Config::from_value(&v).is_ok());
        v["base_url"] = json!("http://example.com");
        let err = Config::from_value(&v).unwrap_err().to_string();
        assert!(err.contains("base_url") && err.contains("https"), "{err}");
    }

    #[test]
    fn bad_start_date_names_the_field() {
        let mut v = base();
        v["start_date"] = json!("yesterday");
        let err = Config::from_value(&v).unwrap_err().to_string();
        assert!(err.contains("start_date"), "{err}");
    }

    #[test]
    fn page_size_bounds() {
        let mut v = base();
        v["page_size"] = json!(500);
        assert!(Config::from_value(&v).unwrap_err().to_string().contains("page_size"));
    }

    #[test]
    fn api_key_with_unsendable_characters_is_refused_without_echo() {
        for key in ["abc\ndef-secret", "clé-secret", "a\u{7f}b-secret"] {
            let err = Config::from_value(&json!({"api_key": key, "org_id": "o"})).unwrap_err().to_string();
            assert!(err.contains("api_key") && !err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let c = Config::from_value(&base()).unwrap();
        assert!(!format!("{c:?}").contains("secret-key-123"));
        assert_eq!(c.api_key.redact("x secret-key-123 y"), "x ********** y");
    }
}
