//! The axum application: the `/admin` routes of the registry ([`crate::routes::ROUTES`])
//! and the unauthenticated `/__sandbox` control routes, with what every handler shares.
//!
//! Every matched `/admin` route runs behind [`gate::admin_gate`]: count the
//! request, add the configured latency, apply the first matching fault rule,
//! check the bearer key (gateway `401 {"code":401,"message":"Unauthorized"}`),
//! apply the per-organization rate limit (and the route's own), refuse what the
//! key's scopes do not reach (403), run the handler, then apply the faults that alter a
//! real response (truncation, a repeated cursor). Application errors
//! use the `{"errors":[{id,status,code,title,detail}]}` body. Requests are decoded
//! by typed extractors ([`extract`]) whose rejections are such error bodies too,
//! so bad input never panics and never gets a plain-text answer; lists are written by
//! the one paging helper ([`paging`]).

mod control;
pub(crate) mod extract;
mod gate;
pub(crate) mod paging;
mod state;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;

pub(crate) use control::stats_json;
pub(crate) use state::{Config, Shared};

use crate::routes::ROUTES;

pub(crate) type AppState = std::sync::Arc<Shared>;

/// What a handler answers: an error response leaves through `?`.
pub(crate) type Reply = Result<Response, Response>;

/// Build the router.
pub(crate) fn router(shared: AppState) -> Router {
    let admin = ROUTES
        .iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.method_router()))
        .route_layer(middleware::from_fn_with_state(shared.clone(), gate::admin_gate));
    Router::new()
        .merge(admin)
        .merge(control::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

async fn not_found(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    s.error(StatusCode::NOT_FOUND, "ADMIN-404-1", "Not Found", "Unknown resource")
}

async fn method_not_allowed(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    s.error(StatusCode::METHOD_NOT_ALLOWED, "ADMIN-405-1", "Method Not Allowed", "Method not supported")
}

pub(crate) fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    json_bytes(status, serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

pub(crate) fn ok_json(v: &impl serde::Serialize) -> Reply {
    Ok(json_response(StatusCode::OK, v))
}

pub(crate) fn add_header(resp: &mut Response, k: &str, v: &str) {
    if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
        resp.headers_mut().insert(k, v);
    }
}
