//! The unauthenticated `/__sandbox` control routes: request statistics, the whole
//! truth (the audit log included), the named org mutations, and the expiry of every
//! `events-stream` cursor issued so far.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::directory::SEARCH_CURSOR;
use super::{json_response, ok_json, AppState, Reply, Shared};
use crate::model::User;
use crate::mutations::{Mutation, MUTATIONS};
use crate::render::TruthView;
use crate::Endpoint;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/stats/reset", post(stats_reset))
        .route("/__sandbox/truth", get(truth))
        .route("/__sandbox/mutations", get(mutations_list))
        .route("/__sandbox/mutations/{name}", post(mutate))
        .route("/__sandbox/events/expire-cursors", post(expire_event_cursors))
}

pub(crate) fn stats_json(s: &Shared) -> Value {
    let by = |counters: &[std::sync::atomic::AtomicU64]| -> Map<String, Value> {
        Endpoint::ALL.iter().map(|ep| (ep.as_str().to_string(), json!(counters[*ep as usize].load(Ordering::SeqCst)))).collect()
    };
    let total: u64 = s.counters.iter().map(|c| c.load(Ordering::SeqCst)).sum();
    json!({
        "total": total,
        "by_endpoint": by(&s.counters),
        "throttled": s.throttled(),
        "throttled_by_endpoint": by(&s.throttled_by),
    })
}

async fn stats(State(s): State<AppState>) -> Reply {
    ok_json(&stats_json(&s))
}

async fn stats_reset(State(s): State<AppState>) -> Reply {
    for c in &s.counters {
        c.store(0, Ordering::SeqCst);
    }
    ok_json(&stats_json(&s))
}

async fn truth(State(s): State<AppState>) -> Reply {
    let st = s.read();
    let link = |u: &User| st.cursor_at(&s.codec, SEARCH_CURSOR, u);
    ok_json(&TruthView { org: &st.org, base_url: &s.cfg.base_url, self_link: &link })
}

/// `POST /__sandbox/events/expire-cursors`: every events cursor issued before is refused
/// (`400 ADMIN-400-1`); answers the new cursor epoch.
async fn expire_event_cursors(State(s): State<AppState>) -> Reply {
    let epoch = s.event_cursor_epoch.fetch_add(1, Ordering::SeqCst) + 1;
    ok_json(&json!({"cursor_epoch": epoch}))
}

async fn mutations_list() -> Reply {
    let list: Vec<Value> = MUTATIONS
        .iter()
        .map(|(name, fields, what)| {
            json!({"name": name, "defaults": serde_json::from_str::<Value>(fields).unwrap_or(Value::Null), "description": what})
        })
        .collect();
    ok_json(&json!({"mutations": list}))
}

/// `POST /__sandbox/mutations/{name}`: 200 with the report, 400 `{"error"}` for fields
/// that do not fit or a mutation that cannot apply, 404 for an unknown name.
async fn mutate(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> Reply {
    let bad = |status: StatusCode, msg: String| Err(json_response(status, &json!({"error": msg})));
    let m = match Mutation::from_request(&name, &body) {
        Ok(Some(m)) => m,
        Ok(None) => {
            let names: Vec<&str> = MUTATIONS.iter().map(|m| m.0).collect();
            return bad(StatusCode::NOT_FOUND, format!("no mutation '{name}' ({})", names.join("|")));
        }
        Err(e) => return bad(StatusCode::BAD_REQUEST, e.0),
    };
    match s.mutate(&m) {
        Ok(report) => ok_json(&report),
        Err(e) => bad(StatusCode::BAD_REQUEST, e.0),
    }
}
