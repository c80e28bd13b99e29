//! The gate in front of every `/admin` route: request counting, latency, fault
//! rules, the bearer key, the rate limits (the org's, and a route's own), the 403 of a
//! route whose scope the key lacks, the 500 of a route refusing a query parameter it does
//! not read, and the faults that rewrite a real response afterwards. It knows routes only
//! through the registry ([`crate::routes::ROUTES`]).

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

use super::{add_header, json_bytes, json_response, AppState, Shared};
use crate::faults::{format_retry_after, FaultAction, Throttle};
use crate::routes::Route;
use crate::Endpoint;

/// Everything an `/admin` request meets before and after its handler (see the module doc).
pub(super) async fn admin_gate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let Some(ep) = matched.and_then(|path| Endpoint::serving(req.method().as_str(), &path)) else {
        // A wrong method on a known path: the handler's 405, uncounted.
        return next.run(req).await;
    };
    let route = Route::of(ep);
    let n = s.route(ep).requests.fetch_add(1, Ordering::SeqCst) + 1;
    if !s.cfg.latency.is_zero() {
        tokio::time::sleep(s.cfg.latency).await;
    }
    let (fault, remember_next) = {
        let f = s.faults();
        (f.check(ep, n).cloned(), f.repeats_cursor(ep))
    };
    match &fault {
        Some(FaultAction::Respond { status, body, headers }) => {
            if *status == 429 {
                s.count_throttled(ep);
            }
            let mut resp = json_response(status_or_500(*status), body);
            for (k, v) in headers {
                add_header(&mut resp, k, v);
            }
            return resp;
        }
        Some(FaultAction::RespondRaw { status, body }) => return json_bytes(status_or_500(*status), body.clone()),
        Some(FaultAction::TooManyRequests(t)) => {
            s.count_throttled(ep);
            return throttle_fault(t);
        }
        Some(FaultAction::ResetConnection) => return Response::new(Body::new(Aborted)),
        Some(FaultAction::Redirect { status, location }) => {
            let mut resp = StatusCode::from_u16(*status).unwrap_or(StatusCode::TEMPORARY_REDIRECT).into_response();
            add_header(&mut resp, "Location", location);
            return resp;
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(*d).await,
        Some(FaultAction::RevokeKey) => s.revoked.store(true, Ordering::SeqCst),
        Some(FaultAction::Truncate { .. } | FaultAction::RepeatCursor | FaultAction::NextLink(_) | FaultAction::NextLinkOrigin(_) | FaultAction::DropItems) | None => {}
    }
    if !s.authorized(req.headers()) {
        return json_response(StatusCode::UNAUTHORIZED, &json!({"code": 401, "message": "Unauthorized"}));
    }
    let quota = match take_quota(&s, ep) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let mut resp = if let Some(scope) = route.scope.filter(|scope| s.forbids(scope)) {
        s.error(StatusCode::FORBIDDEN, "ADMIN-403-3", "Forbidden", &scope.refusal())
    } else if let Some(param) = route.refused_param(req.uri().query()) {
        s.error(StatusCode::INTERNAL_SERVER_ERROR, "ADMIN-500-1", "Internal Server Error", &format!("Unexpected query parameter '{param}'"))
    } else {
        next.run(req).await
    };
    match &fault {
        Some(FaultAction::Truncate { keep }) => {
            resp = rewrite_body(resp, |b| {
                let keep = keep.unwrap_or(b.len() / 2).min(b.len().saturating_sub(1));
                b[..keep].to_vec()
            })
            .await;
        }
        Some(FaultAction::DropItems) if resp.status().is_success() => {
            // The page's list emptied, its links kept: the items are lost, the chain goes on.
            resp = rewrite_body(resp, |b| match serde_json::from_slice::<Value>(&b) {
                Ok(mut v) => {
                    for list in ["data", "items"] {
                        if v.get(list).is_some_and(Value::is_array) {
                            v[list] = json!([]);
                        }
                    }
                    serde_json::to_vec(&v).unwrap_or(b)
                }
                Err(_) => b,
            })
            .await;
        }
        Some(action @ (FaultAction::RepeatCursor | FaultAction::NextLink(_) | FaultAction::NextLinkOrigin(_))) => {
            // The page's `links.next` replaced: by the previous page's, by the given link, or
            // by itself on another origin.
            let next = match action {
                FaultAction::NextLink(link) => Some(Replace::With(link.clone())),
                FaultAction::NextLinkOrigin(origin) => Some(Replace::Origin(origin.trim_end_matches('/').to_string())),
                _ => s.route(ep).last_next().clone().map(Replace::With),
            };
            if let Some(next) = next {
                resp = rewrite_body(resp, |b| match serde_json::from_slice::<Value>(&b) {
                    Ok(mut v) if v.get("links").is_some_and(Value::is_object) => {
                        let replaced = match &next {
                            Replace::With(link) => Some(link.clone()),
                            Replace::Origin(origin) => v["links"]["next"]
                                .as_str()
                                .and_then(|link| link.find("/admin/").map(|at| format!("{origin}{}", &link[at..]))),
                        };
                        if let Some(link) = replaced {
                            v["links"]["next"] = json!(link);
                        }
                        serde_json::to_vec(&v).unwrap_or(b)
                    }
                    _ => b,
                })
                .await;
            }
        }
        _ if remember_next && resp.status().is_success() => {
            let mut seen = None;
            resp = rewrite_body(resp, |b| {
                seen = serde_json::from_slice::<Value>(&b)
                    .ok()
                    .and_then(|v| v.pointer("/links/next").and_then(Value::as_str).map(str::to_owned));
                b
            })
            .await;
            *s.route(ep).last_next() = seen;
        }
        _ => {}
    }
    for (k, v) in quota {
        add_header(&mut resp, k, &v);
    }
    resp
}

/// How a fault replaces a page's `links.next`.
enum Replace {
    With(String),
    /// The same link on this origin.
    Origin(String),
}

fn status_or_500(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Counts one request against the rate limits: `Ok` with the headers to add, or the 429.
/// A route with a limit of its own counts against it too, once the org's let the request
/// through; its headers come last, so they are the ones that route reports.
fn take_quota(s: &Shared, ep: Endpoint) -> Result<Vec<(&'static str, String)>, Response> {
    let now = Utc::now();
    let mut headers = Vec::new();
    let decide = |decision: Option<crate::Decision>, headers: &mut Vec<_>| match decision {
        Some(d) if !d.allowed => {
            s.count_throttled(ep);
            Err(throttled_response(d.headers()))
        }
        Some(d) => {
            headers.extend(d.headers());
            Ok(())
        }
        None => Ok(()),
    };
    decide(s.limiter().take(now), &mut headers)?;
    decide(s.route(ep).limiter().take(now), &mut headers)?;
    Ok(headers)
}

/// Replaces a response's body by `f(body)`, keeping status and headers (the length is reset).
async fn rewrite_body(resp: Response, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(f(bytes)))
}

/// The gateway's 429 (`ProxyError` body) with the given headers.
fn throttled_response(headers: Vec<(&str, String)>) -> Response {
    let mut resp = json_response(StatusCode::TOO_MANY_REQUESTS, &json!({"code": 429, "message": "Too many requests"}));
    for (k, v) in headers {
        add_header(&mut resp, k, &v);
    }
    resp
}

fn throttle_fault(t: &Throttle) -> Response {
    let mut headers = vec![("X-RateLimit-Remaining", "0".to_string())];
    if let Some(d) = t.reset_in {
        let at = Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
        headers.push(("X-RateLimit-Reset", t.reset_precision.format(at)));
    }
    if let Some(d) = t.retry_after {
        headers.push(("Retry-After", format_retry_after(d)));
    }
    throttled_response(headers)
}

/// A body that fails at once: hyper then drops the connection without completing the
/// response, which the client sees as a reset connection.
struct Aborted;

impl HttpBody for Aborted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "sandbox fault: connection reset"))))
    }
}
