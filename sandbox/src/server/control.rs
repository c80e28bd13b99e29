//! The unauthenticated `/__sandbox` control routes: request statistics, the whole
//! truth (the audit log and every resource's section included), the named org mutations,
//! the scopes the key lacks, and the expiry of every `events-stream` cursor issued so far.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{json_response, ok_json, AppState, Reply, Shared};
use crate::model::User;
use crate::mutations::{mutation_catalog, mutation_fields, named_mutation, Mutation};
use crate::render::TruthView;
use crate::resources::directory::SEARCH_CURSORS;
use crate::routes::{Scope, ROUTES};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/stats/reset", post(stats_reset))
        .route("/__sandbox/truth", get(truth))
        .route("/__sandbox/mutations", get(mutations_list))
        .route("/__sandbox/mutations/{name}", post(mutate))
        .route("/__sandbox/scopes", get(scopes_list))
        .route("/__sandbox/scopes/{scope}", post(set_scope))
        .route("/__sandbox/events/expire-cursors", post(expire_event_cursors))
}

pub(crate) fn stats_json(s: &Shared) -> Value {
    let by = |count: fn(&super::state::RouteState) -> u64| -> Map<String, Value> {
        s.routes().map(|(ep, r)| (ep.as_str().to_string(), json!(count(r)))).collect()
    };
    let total: u64 = s.routes().map(|(_, r)| r.requests.load(Ordering::SeqCst)).sum();
    json!({
        "total": total,
        "by_endpoint": by(|r| r.requests.load(Ordering::SeqCst)),
        "throttled": s.throttled(),
        "throttled_by_endpoint": by(|r| r.throttled.load(Ordering::Relaxed)),
    })
}

async fn stats(State(s): State<AppState>) -> Reply {
    ok_json(&stats_json(&s))
}

async fn stats_reset(State(s): State<AppState>) -> Reply {
    s.reset_counts();
    ok_json(&stats_json(&s))
}

async fn truth(State(s): State<AppState>) -> Reply {
    let st = s.read();
    let link = |u: &User| st.cursor_at(&s, &SEARCH_CURSORS, u);
    ok_json(&TruthView { org: &st.org, base_url: &s.cfg.base_url, self_link: &link })
}

/// `POST /__sandbox/events/expire-cursors`: every events cursor issued before is refused
/// (`400 ADMIN-400-1`); answers the new cursor epoch.
async fn expire_event_cursors(State(s): State<AppState>) -> Reply {
    let epoch = s.event_cursor_epoch.fetch_add(1, Ordering::SeqCst) + 1;
    ok_json(&json!({"cursor_epoch": epoch}))
}

async fn mutations_list() -> Reply {
    ok_json(&json!({"mutations": mutation_catalog()}))
}

/// A control route's refusal: `{"error"}` with this status.
fn refuse(status: StatusCode, msg: String) -> Reply {
    Err(json_response(status, &json!({"error": msg})))
}

/// `POST /__sandbox/mutations/{name}`: 200 with the report, 400 `{"error"}` for fields
/// that do not fit or a mutation that cannot apply, 404 for an unknown name.
async fn mutate(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> Reply {
    let applied = match Mutation::from_request(&name, &body) {
        Ok(Some(m)) => s.mutate(&m),
        Ok(None) => match named_mutation(&name) {
            Some(m) => mutation_fields(&body).and_then(|fields| s.mutate_named(m, Value::Object(fields))),
            None => {
                let names: Vec<&str> = mutation_catalog().iter().map(|m| m.name).collect();
                return refuse(StatusCode::NOT_FOUND, format!("no mutation '{name}' ({})", names.join("|")));
            }
        },
        Err(e) => Err(e),
    };
    match applied {
        Ok(report) => ok_json(&report),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.0),
    }
}

/// Every scope a route needs: whether the key lacks it, and the endpoints that need it.
fn scopes_json(s: &Shared) -> Value {
    let list: Vec<Value> = Scope::all()
        .iter()
        .map(|scope| {
            let endpoints: Vec<&str> = ROUTES.iter().filter(|r| r.scope.is_some_and(|x| x.name == scope.name)).map(|r| r.name).collect();
            json!({"scope": scope.name, "forbidden": s.forbids(scope), "endpoints": endpoints})
        })
        .collect();
    json!({"scopes": list})
}

async fn scopes_list(State(s): State<AppState>) -> Reply {
    ok_json(&scopes_json(&s))
}

/// `{"forbidden": true|false}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeSwitch {
    forbidden: bool,
}

/// `POST /__sandbox/scopes/{scope}` with `{"forbidden": bool}`: the key loses or gets back
/// the scope; answers every scope. 404 for a scope no route needs, 400 for another body.
async fn set_scope(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> Reply {
    let Some(scope) = Scope::named(&name) else {
        let names: Vec<&str> = Scope::all().iter().map(|s| s.name).collect();
        return refuse(StatusCode::NOT_FOUND, format!("no route needs a scope '{name}' ({})", names.join("|")));
    };
    let switch = serde_json::from_slice::<Value>(&body).and_then(|v| match v {
        Value::Object(_) => serde_json::from_value::<ScopeSwitch>(v),
        _ => Err(serde::de::Error::custom("not an object")),
    });
    match switch {
        Ok(switch) => {
            s.set_forbidden(&scope, switch.forbidden);
            ok_json(&scopes_json(&s))
        }
        Err(e) => refuse(StatusCode::BAD_REQUEST, format!("the body must be {{\"forbidden\": true|false}}: {e}")),
    }
}
