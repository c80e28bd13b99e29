//! Fault injection hooks.
//!
//! Every `/admin` request passes through [`Faults::check`] *before* the gateway
//! auth check, with its endpoint and its 1-based per-endpoint request number
//! (the stats counter, so [`crate::Sandbox::reset_counts`] restarts numbering).
//! The first matching [`FaultRule`] decides the response. This is deliberately
//! small for now; later work adds connection resets, truncated bodies, slow
//! bodies etc. as new [`FaultAction`] variants without changing the call site.

use serde_json::{json, Value};

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
}

impl FaultTrigger {
    pub fn matches(&self, n: u64) -> bool {
        match self {
            FaultTrigger::Always => true,
            FaultTrigger::FirstN(k) => n <= *k,
            FaultTrigger::Nth(v) => v.contains(&n),
            FaultTrigger::EveryNth(k) => *k > 0 && n % *k == 0,
        }
    }
}

/// What to do instead of serving the request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Reply with this status, JSON body and extra headers.
    Respond { status: u16, body: Value, headers: Vec<(String, String)> },
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
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults::default()
    }

    /// The action for request number `n` of `endpoint`, if any rule fires.
    pub fn check(&self, endpoint: Endpoint, n: u64) -> Option<&FaultAction> {
        self.rules
            .iter()
            .find(|r| r.endpoint.is_none_or(|e| e == endpoint) && r.when.matches(n))
            .map(|r| &r.action)
    }
}
