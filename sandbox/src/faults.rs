//! Fault injection (the rate limit itself is in [`crate::ratelimit`]).
//!
//! Every `/admin` request passes through the server's gate with its endpoint and its 1-based
//! per-endpoint request number (the stats counter, so [`crate::Sandbox::reset_counts`] restarts
//! numbering). The first [`FaultRule`] whose endpoint and [`FaultTrigger`] match decides what
//! happens instead of (or on top of) the normal answer. Rules are switchable at run time from
//! tests ([`crate::Sandbox::set_faults`]) and from the command line: [`FaultRule`] and
//! [`RateLimit`] parse the compact forms `--fault` and `--rate-limit` take (see their
//! `FromStr` docs), so the binary and the library share one grammar.

use std::str::FromStr;
use std::time::Duration;

use serde_json::{json, Value};

pub use crate::ratelimit::{floor_minute, format_retry_after, RateLimit, ResetPrecision};
use crate::Endpoint;

/// The set of active fault rules (empty = no faults).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
}

/// One rule: where, when, what.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// `None` = every endpoint.
    pub endpoint: Option<Endpoint>,
    pub when: FaultTrigger,
    pub action: FaultAction,
}

/// When a rule fires, by per-endpoint request number `n` (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTrigger {
    Always,
    /// Requests `1..=k`.
    FirstN(u64),
    /// Exactly these request numbers.
    Nth(Vec<u64>),
    /// Every k-th request (k, 2k, ...).
    EveryNth(u64),
    /// Request `k` and every one after it.
    From(u64),
}

impl FaultTrigger {
    pub fn matches(&self, n: u64) -> bool {
        match self {
            FaultTrigger::Always => true,
            FaultTrigger::FirstN(k) => n <= *k,
            FaultTrigger::Nth(v) => v.contains(&n),
            FaultTrigger::EveryNth(k) => *k > 0 && n % *k == 0,
            FaultTrigger::From(k) => n >= *k,
        }
    }
}

/// A gateway 429 and the headers that come with it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Throttle {
    /// `Retry-After`, written in (possibly fractional) seconds; `None` = no header.
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Reset` = now + this, at `reset_precision`; `None` = no header.
    pub reset_in: Option<Duration>,
    pub reset_precision: ResetPrecision,
}

/// What to do instead of, or on top of, serving the request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Reply with this status, JSON body and extra headers.
    Respond { status: u16, body: Value, headers: Vec<(String, String)> },
    /// Reply with this status and these exact bytes (`application/json` claimed regardless).
    RespondRaw { status: u16, body: Vec<u8> },
    /// A gateway 429 (`{"code":429,...}`) with the headers `Throttle` describes.
    TooManyRequests(Throttle),
    /// Drop the connection without a complete response.
    ResetConnection,
    /// Wait this long, then serve normally (a response slower than a client's timeout).
    Delay(Duration),
    /// Serve normally but cut the body to `keep` bytes (`None` = half), with a matching
    /// `Content-Length`, so the client gets a well-framed but truncated JSON document.
    Truncate { keep: Option<usize> },
    /// Serve normally but point `links.next` at the cursor this endpoint handed out just
    /// before (the one the client just used): a repeated, non-advancing cursor.
    RepeatCursor,
    /// Revoke the API key now: this and every later request gets the gateway 401 until
    /// [`crate::Sandbox::restore_key`].
    RevokeKey,
    /// Answer `status` with `Location: location` (e.g. to another host).
    Redirect { status: u16, location: String },
    /// Serve normally but set `links.next` to this text (e.g. a URL on another host, which a
    /// client of a v1 list must not follow, or one without a cursor).
    NextLink(String),
    /// Serve normally but empty the page's list (`data` or `items`), its links kept: a page
    /// whose items are lost on the way (what a report checking seats against
    /// `users/count` must notice).
    DropItems,
    /// Serve normally but give `links.next`, a URL, this origin (`scheme://host:port`) instead
    /// of the sandbox's: what a client behind a reverse proxy sees, the links naming the upstream.
    NextLinkOrigin(String),
}

impl FaultAction {
    /// Gateway 429 with rate-limit headers (`Retry-After` optional, seconds).
    pub fn rate_limited(retry_after: Option<u64>) -> Self {
        let mut headers = vec![
            ("X-RateLimit-Limit".to_string(), "200".to_string()),
            ("X-RateLimit-Remaining".to_string(), "0".to_string()),
        ];
        if let Some(s) = retry_after {
            headers.push(("Retry-After".to_string(), s.to_string()));
        }
        FaultAction::Respond {
            status: 429,
            body: json!({"code": 429, "message": "Too many requests"}),
            headers,
        }
    }

    /// Gateway 429 whose headers are computed when it fires.
    pub fn throttle(retry_after: Option<Duration>, reset_in: Option<Duration>, reset_precision: ResetPrecision) -> Self {
        FaultAction::TooManyRequests(Throttle { retry_after, reset_in, reset_precision })
    }

    /// Application 5xx error (`ADMIN-500-1`).
    pub fn server_error(status: u16) -> Self {
        FaultAction::Respond {
            status,
            body: json!({"errors": [{
                "id": "00000000-0000-4000-8000-000000000500",
                "status": status.to_string(),
                "code": "ADMIN-500-1",
                "title": "Internal Server Error",
                "detail": "Internal error"
            }]}),
            headers: vec![],
        }
    }

    /// A 5xx as a proxy or load balancer in front of the API answers it: an HTML page.
    pub fn gateway_page(status: u16) -> Self {
        let reason = axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Server Error");
        let body = format!("<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n");
        FaultAction::RespondRaw { status, body: body.into_bytes() }
    }

    /// A 200 whose body is not JSON at all.
    pub fn malformed() -> Self {
        FaultAction::RespondRaw { status: 200, body: b"<html><body>Service Unavailable</body></html>".to_vec() }
    }

    /// A 200 whose body is JSON of the wrong shape (`data` is an object, not a list).
    pub fn wrong_shape() -> Self {
        FaultAction::Respond { status: 200, body: json!({"data": {"unexpected": true}, "links": {}}), headers: vec![] }
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults::default()
    }

    /// One rule.
    pub fn one(endpoint: Option<Endpoint>, when: FaultTrigger, action: FaultAction) -> Self {
        Faults { rules: vec![FaultRule { endpoint, when, action }] }
    }

    /// The action for request number `n` of `endpoint`, if any rule fires.
    pub fn check(&self, endpoint: Endpoint, n: u64) -> Option<&FaultAction> {
        self.rules
            .iter()
            .find(|r| r.endpoint.is_none_or(|e| e == endpoint) && r.when.matches(n))
            .map(|r| &r.action)
    }

    /// Whether some rule may repeat this endpoint's cursor (the server then remembers the
    /// cursors it hands out; otherwise it does not look at bodies at all).
    pub fn repeats_cursor(&self, endpoint: Endpoint) -> bool {
        self.rules.iter().any(|r| r.endpoint.is_none_or(|e| e == endpoint) && r.action == FaultAction::RepeatCursor)
    }
}

/// `200ms`, `1.5s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not a duration such as 200ms, 1.5s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (ms|s|m|h)")),
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(crate) fn parse_u64(s: &str, what: &str) -> Result<u64, String> {
    s.trim().parse().map_err(|_| format!("{what}: '{s}' is not a whole number"))
}

impl FromStr for FaultTrigger {
    type Err = String;
    /// `always` | `first=N` | `nth=A+B+C` | `every=N` | `from=N`
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = s.split_once('=').map_or((s, None), |(a, b)| (a, Some(b)));
        let need = || arg.ok_or_else(|| format!("trigger '{name}' needs a value, e.g. {name}=3"));
        match name {
            "always" => Ok(FaultTrigger::Always),
            "first" => Ok(FaultTrigger::FirstN(parse_u64(need()?, "first")?)),
            "every" => Ok(FaultTrigger::EveryNth(parse_u64(need()?, "every")?)),
            "from" => Ok(FaultTrigger::From(parse_u64(need()?, "from")?)),
            "nth" => Ok(FaultTrigger::Nth(need()?.split('+').map(|x| parse_u64(x, "nth")).collect::<Result<_, _>>()?)),
            o => Err(format!("unknown trigger '{o}' (always|first=N|nth=A+B|every=N|from=N)")),
        }
    }
}

impl FromStr for FaultAction {
    type Err = String;
    /// `429[,retry-after=SECS][,reset-in=DUR][,reset-precision=ms|s|minute]`, any other
    /// 4xx/5xx status (`5xx,html`: a proxy's HTML page), `reset`, `delay=DUR`, `truncate[=BYTES]`, `malformed`, `wrong-shape`,
    /// `repeat-cursor`, `revoke-key`, `redirect=URL`, `next-link=TEXT`, `drop-items`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let head = parts.next().unwrap_or_default();
        let opts: Vec<&str> = parts.collect();
        let (name, arg) = head.split_once('=').map_or((head, None), |(a, b)| (a, Some(b)));
        let no_opts = |a: FaultAction| if opts.is_empty() { Ok(a) } else { Err(format!("action '{name}' takes no options")) };
        match name {
            "429" => {
                let mut t = Throttle::default();
                for o in opts {
                    let (k, v) = o.split_once('=').ok_or_else(|| format!("429 option '{o}' needs a value"))?;
                    match k {
                        "retry-after" => t.retry_after = Some(parse_duration(v)?),
                        "reset-in" => t.reset_in = Some(parse_duration(v)?),
                        "reset-precision" => t.reset_precision = v.parse()?,
                        _ => return Err(format!("unknown 429 option '{k}' (retry-after|reset-in|reset-precision)")),
                    }
                }
                Ok(FaultAction::TooManyRequests(t))
            }
            "reset" => no_opts(FaultAction::ResetConnection),
            "delay" => no_opts(FaultAction::Delay(parse_duration(arg.ok_or("delay needs a duration, e.g. delay=3s")?)?)),
            "truncate" => no_opts(FaultAction::Truncate {
                keep: arg.map(|a| parse_u64(a, "truncate").map(|n| n as usize)).transpose()?,
            }),
            "malformed" => no_opts(FaultAction::malformed()),
            "wrong-shape" => no_opts(FaultAction::wrong_shape()),
            "repeat-cursor" => no_opts(FaultAction::RepeatCursor),
            "drop-items" => no_opts(FaultAction::DropItems),
            "revoke-key" => no_opts(FaultAction::RevokeKey),
            "redirect" => no_opts(FaultAction::Redirect {
                status: 307,
                location: arg.ok_or("redirect needs a URL, e.g. redirect=http://127.0.0.2:9/")?.to_string(),
            }),
            "next-link" => no_opts(FaultAction::NextLink(
                arg.ok_or("next-link needs the text, e.g. next-link=http://127.0.0.2:9/x?cursor=c")?.to_string(),
            )),
            "next-link-origin" => no_opts(FaultAction::NextLinkOrigin(
                arg.ok_or("next-link-origin needs an origin, e.g. next-link-origin=http://127.0.0.2:9")?.to_string(),
            )),
            code => match code.parse::<u16>() {
                Ok(status) if (500..=599).contains(&status) && opts == ["html"] => Ok(FaultAction::gateway_page(status)),
                Ok(status) if (500..=599).contains(&status) => no_opts(FaultAction::server_error(status)),
                Ok(status) if (400..=499).contains(&status) => no_opts(FaultAction::Respond {
                    status,
                    body: json!({"errors": [{"id": "00000000-0000-4000-8000-000000000400", "status": status.to_string(),
                        "code": format!("ADMIN-{status}-1"), "title": "Injected error", "detail": "Injected by a sandbox fault"}]}),
                    headers: vec![],
                }),
                _ => Err(format!(
                    "unknown action '{code}' (429|4xx|5xx|reset|delay=DUR|truncate[=BYTES]|malformed|wrong-shape|repeat-cursor|revoke-key|redirect=URL|next-link=TEXT|drop-items)"
                )),
            },
        }
    }
}

impl FromStr for FaultRule {
    type Err = String;
    /// `ENDPOINT:ACTION[:WHEN]`, e.g. `users_search:429,retry-after=0.2:first=3`.
    /// ENDPOINT is a stats name (`users_search`, `workspaces`, `org`, ...) or `*`; WHEN
    /// defaults to `always`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let ep = parts.next().unwrap_or_default();
        let action = parts.next().ok_or_else(|| format!("fault '{s}': expected ENDPOINT:ACTION[:WHEN]"))?;
        // A redirect or next-link URL contains ':' itself: everything after the last ':' is a
        // trigger only if it parses as one.
        let (action, when) = match parts.next() {
            None => (action.to_string(), FaultTrigger::Always),
            Some(rest) => match rest.rsplit_once(':').map(|(a, w)| (a, w.parse::<FaultTrigger>())) {
                Some((a, Ok(w))) => (format!("{action}:{a}"), w),
                _ => match rest.parse::<FaultTrigger>() {
                    Ok(w) => (action.to_string(), w),
                    Err(e) if !action.starts_with("redirect=") && !action.starts_with("next-link=") => return Err(e),
                    Err(_) => (format!("{action}:{rest}"), FaultTrigger::Always),
                },
            },
        };
        let endpoint = match ep {
            "*" | "all" => None,
            name => Some(Endpoint::find(name).ok_or_else(|| format!("unknown endpoint '{name}' ({}|*)", Endpoint::names().join("|")))?),
        };
        Ok(FaultRule { endpoint, when, action: action.parse()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fault_rules() {
        let r: FaultRule = "users_search:429,retry-after=0.2:first=3".parse().unwrap();
        assert_eq!(r.endpoint, Some(Endpoint::UsersSearch));
        assert_eq!(r.when, FaultTrigger::FirstN(3));
        assert_eq!(r.action, FaultAction::throttle(Some(Duration::from_millis(200)), None, ResetPrecision::Millis));
        let r: FaultRule = "*:503".parse().unwrap();
        assert_eq!((r.endpoint, r.when), (None, FaultTrigger::Always));
        let r: FaultRule = "workspaces:truncate:nth=1+3".parse().unwrap();
        assert_eq!(r.action, FaultAction::Truncate { keep: None });
        assert_eq!(r.when, FaultTrigger::Nth(vec![1, 3]));
        let r: FaultRule = "org:redirect=http://127.0.0.1:9/x:from=2".parse().unwrap();
        assert_eq!(r.action, FaultAction::Redirect { status: 307, location: "http://127.0.0.1:9/x".into() });
        assert_eq!(r.when, FaultTrigger::From(2));
        let r: FaultRule = "org:redirect=http://127.0.0.1:9/x".parse().unwrap();
        assert_eq!(r.when, FaultTrigger::Always);
        let r: FaultRule = "users_search:429,reset-in=30s,reset-precision=minute:every=2".parse().unwrap();
        assert_eq!(r.action, FaultAction::throttle(None, Some(Duration::from_secs(30)), ResetPrecision::Minutes));
        assert_eq!("users_search:delay=2s".parse::<FaultRule>().unwrap().action, FaultAction::Delay(Duration::from_secs(2)));
        assert_eq!("users_search:drop-items:nth=2".parse::<FaultRule>().unwrap().action, FaultAction::DropItems);
        for bad in ["", "users_search", "nope:500", "org:999", "org:500:sometimes", "org:delay", "org:429,bogus=1", "org:reset,x"] {
            assert!(bad.parse::<FaultRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn triggers() {
        assert!(FaultTrigger::From(3).matches(3) && FaultTrigger::From(3).matches(9) && !FaultTrigger::From(3).matches(2));
        assert!(!FaultTrigger::EveryNth(0).matches(0));
    }
}
