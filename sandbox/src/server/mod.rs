//! The axum application: `/admin` routes mimicking the Atlassian Admin API and
//! the unauthenticated `/__sandbox` control routes, one file per route group.
//!
//! Every matched `/admin` route runs behind [`gate::admin_gate`]: count the
//! request, add the configured latency, apply the first matching fault rule,
//! check the bearer key (gateway `401 {"code":401,"message":"Unauthorized"}`),
//! apply the per-organization rate limit (and `events-stream`'s own), refuse what the
//! key's scopes do not reach (403), run the handler, then apply the faults that alter a
//! real response (truncation, a repeated cursor). Application errors
//! use the `{"errors":[{id,status,code,title,detail}]}` body. Requests are decoded
//! by typed extractors ([`extract`]) whose rejections are such error bodies too,
//! so bad input never panics and never gets a plain-text answer.

mod control;
mod directory;
mod events;
mod extract;
mod filter;
mod gate;
mod groups;
mod last_active;
mod managed_users;
mod orgs;
mod state;
mod workspaces;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub(crate) use control::stats_json;
pub(crate) use state::{Config, Shared};

use crate::routes::Route;
use crate::Endpoint;

type AppState = std::sync::Arc<Shared>;

/// What a handler answers: an error response leaves through `?`.
type Reply = Result<Response, Response>;

/// The template of `endpoint`'s route.
fn route_of(endpoint: Endpoint) -> &'static str {
    Route::of(endpoint).path
}

/// Build the router.
pub(crate) fn router(shared: AppState) -> Router {
    let admin = Router::new()
        .route(route_of(Endpoint::Orgs), get(orgs::list))
        .route(route_of(Endpoint::Org), get(orgs::get_one))
        .route(route_of(Endpoint::UsersSearch), post(directory::users_search))
        .route(route_of(Endpoint::UsersCount), get(directory::users_count))
        .route(route_of(Endpoint::Workspaces), post(workspaces::search))
        .route(route_of(Endpoint::LastActiveDates), get(last_active::dates))
        .route(route_of(Endpoint::ManagedUsers), get(managed_users::list))
        .route(route_of(Endpoint::Directories), get(directory::directories))
        .route(route_of(Endpoint::GroupsSearch), post(groups::search))
        .route(route_of(Endpoint::GroupRoleAssignments), get(groups::role_assignments))
        .route(route_of(Endpoint::EventsStream), get(events::stream))
        .route(route_of(Endpoint::EventActions), get(events::actions))
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

fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    json_bytes(status, serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

fn ok_json(v: &impl serde::Serialize) -> Reply {
    Ok(json_response(StatusCode::OK, v))
}

fn add_header(resp: &mut Response, k: &str, v: &str) {
    if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
        resp.headers_mut().insert(k, v);
    }
}

#[cfg(test)]
mod tests {
    use serde::de::{Error as _, Visitor};

    use super::extract::CursorQuery;
    use super::filter::FilterParams;
    use crate::routes::{Route, EVENTS_STREAM_PARAMS, ROUTES, USERS_COUNT_PARAMS};
    use crate::Endpoint;

    /// The field names a derived `Deserialize` struct reads (serde hands them to `deserialize_struct`).
    fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
        struct Fields<'a>(&'a mut &'static [&'static str]);
        impl<'de> serde::Deserializer<'de> for Fields<'_> {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(Self::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                *self.0 = fields;
                Err(Self::Error::custom("fields taken"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
                unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(Fields(&mut fields));
        fields
    }

    #[test]
    fn the_route_table_names_what_the_extractors_read() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert_eq!(r.endpoint as usize, i, "ROUTES is in Endpoint::ALL order");
            assert_eq!(Route::of(Endpoint::ALL[i]), r);
        }
        assert_eq!(field_names::<FilterParams>(), USERS_COUNT_PARAMS);
        assert_eq!(field_names::<CursorQuery>(), ["cursor"]);
        assert_eq!(field_names::<super::events::EventsQuery>(), EVENTS_STREAM_PARAMS);
        assert_eq!(field_names::<super::directory::DirectoriesQuery>(), Route::of(Endpoint::Directories).query);
        for ep in [Endpoint::Orgs, Endpoint::ManagedUsers, Endpoint::LastActiveDates] {
            assert_eq!(Route::of(ep).query, ["cursor"]);
        }
    }
}
