//! The unauthenticated `/__sandbox` control routes: request statistics and the
//! whole truth.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::directory::SEARCH_CURSOR;
use super::{ok_json, AppState, Reply, Shared};
use crate::model::User;
use crate::render::TruthView;
use crate::Endpoint;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/stats/reset", post(stats_reset))
        .route("/__sandbox/truth", get(truth))
}

pub(crate) fn stats_json(s: &Shared) -> Value {
    let by = |counters: &[std::sync::atomic::AtomicU64]| -> Map<String, Value> {
        Endpoint::ALL.iter().map(|ep| (ep.as_str().to_string(), json!(counters[*ep as usize].load(Ordering::SeqCst)))).collect()
    };
    let total: u64 = s.counters.iter().map(|c| c.load(Ordering::SeqCst)).sum();
    json!({
        "total": total,
        "by_endpoint": by(&s.counters),
        "throttled": s.throttled.load(Ordering::Relaxed),
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
