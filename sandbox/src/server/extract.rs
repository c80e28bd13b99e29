//! Typed request extractors whose rejections are the API's error bodies.
//!
//! [`ApiQuery`] is axum's [`Query`] (percent-decoding by `serde_urlencoded`),
//! [`ApiPath`] is axum's [`Path`], [`ApiJson`] parses the body into a typed struct
//! like axum's `Json` but without insisting on a `Content-Type` (the sandbox has
//! always taken bare bodies) and with an empty body meaning `{}`. A request that
//! does not fit the type is answered with `400` and the code the type names
//! ([`Rejects::CODE`]), never a panic and never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};

use super::AppState;

/// The error code a request type answers when the request does not fit it.
pub(crate) trait Rejects {
    const CODE: &'static str;
}

/// Query string decoded into `T`.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Rejects + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        match Query::<T>::from_request_parts(parts, s).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(s.bad_request(T::CODE, &e.body_text())),
        }
    }
}

/// Path parameters decoded into `T` (e.g. a `String` or a tuple of them).
pub(crate) struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        match Path::<T>::from_request_parts(parts, s).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(s.bad_request("ADMIN-400-4", &format!("Invalid resource: {}", e.body_text()))),
        }
    }
}

/// A JSON body decoded into `T`; an empty body is `T::default()`.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Default + Rejects> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let body = Bytes::from_request(req, s).await.map_err(|e| {
            let status = e.status();
            let code = if status.as_u16() == 400 { T::CODE.to_string() } else { format!("ADMIN-{}-1", status.as_u16()) };
            s.error(status, &code, status.canonical_reason().unwrap_or("Error"), &e.body_text())
        })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJson(T::default()));
        }
        let mut de = serde_json::Deserializer::from_slice(&body);
        let parsed = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            if at == "." {
                format!("Invalid request body: {inner}")
            } else {
                format!("Invalid request body at '{at}': {inner}")
            }
        });
        match parsed.and_then(|v| de.end().map(|()| v).map_err(|e| format!("Invalid request body: {e}"))) {
            Ok(v) => Ok(ApiJson(v)),
            Err(detail) => Err(s.bad_request(T::CODE, &detail)),
        }
    }
}

/// A field given as one value or as an array of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A `cursor` field: a string to decode, or anything else (which is an invalid cursor,
/// `ADMIN-400-1`, rather than an invalid body).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum CursorArg {
    Text(String),
    NotText(IgnoredAny),
}

/// `?cursor=` of the v1 list endpoints (any other parameter is ignored, as the API does).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CursorQuery {
    pub cursor: Option<String>,
}

impl Rejects for CursorQuery {
    const CODE: &'static str = "ADMIN-400-1";
}

impl CursorQuery {
    /// The cursor, if one was given and is not empty.
    pub fn given(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<T>` whose `T` may
/// itself be null: `None` = the field is absent, `Some(..)` = present (even as null).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}
