//! The route registry's types, and what is derived from the registry: [`ROUTES`], every
//! `/admin` route in the order the resources list them (`resources/mod.rs`, one line each);
//! the [`Endpoint`] a route is counted as (its name in `/__sandbox/stats` and `--fault`); the
//! [`Scope`] a key needs for it. The router, the gate, the stats, fault parsing, `--help` and
//! the conformance tests all read [`ROUTES`]; nothing else names a route.
//!
//! A resource (`Resource`) is what one module adds: its routes, and optionally how its data
//! is generated from the org, its named mutations and its part of `/__sandbox/truth`.

use axum::routing::{MethodFilter, MethodRouter};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::model::Org;
use crate::mutations::named::NamedMutation;
use crate::resources::REGISTRY;
use crate::server::AppState;

/// The HTTP methods the API's routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A permission an API key may lack. While it is forbidden ([`crate::Sandbox::forbid_scope`],
/// `--forbid-scope`), every route that needs it answers `403 ADMIN-403-3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// e.g. `read:groups:admin`.
    pub name: &'static str,
    /// What a key without it cannot read, in the 403's words (`groups`).
    pub reaches: &'static str,
    /// Another reason for the same refusal, said after the scope (`, or ...`), or empty.
    pub or: &'static str,
}

impl Scope {
    pub const fn new(name: &'static str, reaches: &'static str) -> Scope {
        Scope { name, reaches, or: "" }
    }

    /// The detail of the 403 a key without it gets.
    pub fn refusal(&self) -> String {
        format!("The API key does not grant access to {} (scope {}){}", self.reaches, self.name, self.or)
    }

    /// The scope some route needs that is called `name`.
    pub fn named(name: &str) -> Option<Scope> {
        ROUTES.iter().filter_map(|r| r.scope).find(|s| s.name == name)
    }

    /// Every scope some route needs, each once, in route order.
    pub fn all() -> Vec<Scope> {
        let mut out: Vec<Scope> = Vec::new();
        for s in ROUTES.iter().filter_map(|r| r.scope) {
            if !out.iter().any(|o| o.name == s.name) {
                out.push(s);
            }
        }
        out
    }
}

/// What a route answers a query parameter it does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherParams {
    /// Nothing: it is ignored, as most of the API does.
    Ignored,
    /// `500 ADMIN-500-1`, as the api-access routes do (seen in a live probe).
    ServerError,
}

/// One `/admin` route: an entry of the registry.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// e.g. `/admin/v1/orgs/{orgId}/users`, with the parameter names of Atlassian's OpenAPI document.
    pub path: &'static str,
    /// Its name in `/__sandbox/stats`, `--fault` and [`Endpoint`] (`managed_users`).
    pub name: &'static str,
    /// The query parameters it reads.
    pub query: &'static [&'static str],
    pub other_params: OtherParams,
    /// What a key needs to be served; `None` = any key.
    pub scope: Option<Scope>,
    /// The handler for `method`, e.g. `|m| on(m, list)`.
    pub(crate) serve: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Route {
    pub(crate) const fn get(path: &'static str, name: &'static str, serve: fn(MethodFilter) -> MethodRouter<AppState>) -> Route {
        Route { method: Method::Get, path, name, query: &[], other_params: OtherParams::Ignored, scope: None, serve }
    }

    pub(crate) const fn post(path: &'static str, name: &'static str, serve: fn(MethodFilter) -> MethodRouter<AppState>) -> Route {
        Route { method: Method::Post, ..Route::get(path, name, serve) }
    }

    pub(crate) const fn query(self, query: &'static [&'static str]) -> Route {
        Route { query, ..self }
    }

    pub(crate) const fn scope(self, scope: Scope) -> Route {
        Route { scope: Some(scope), ..self }
    }

    /// Any query parameter but [`Route::query`]'s is a `500`.
    #[cfg_attr(not(test), allow(dead_code))] // the api-access routes, when they come
    pub(crate) const fn refusing_other_params(self) -> Route {
        Route { other_params: OtherParams::ServerError, ..self }
    }

    /// The method router serving it.
    pub(crate) fn method_router(&self) -> MethodRouter<AppState> {
        (self.serve)(self.method.filter())
    }

    /// The query parameters of `query` (a raw query string) it does not read, if it refuses them.
    pub(crate) fn refused_param<'q>(&self, query: Option<&'q str>) -> Option<&'q str> {
        if self.other_params == OtherParams::Ignored {
            return None;
        }
        query?
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').map_or(p, |(k, _)| k))
            .find(|k| !self.query.contains(k))
    }

    /// The route `endpoint` is served on.
    pub fn of(endpoint: Endpoint) -> &'static Route {
        &ROUTES[endpoint.0]
    }
}

/// What one module adds to the sandbox: routes, and optionally its data's generator, its named
/// mutations and its part of `/__sandbox/truth`. The registry lists them (`resources/mod.rs`).
pub(crate) struct Resource {
    pub routes: &'static [Route],
    /// Fills the resource's part of a generated org from the org's seed, after the users,
    /// workspaces and groups ([`crate::generate_org_at`]).
    pub generate: Option<fn(&mut Org, u64)>,
    /// Listed by `GET /__sandbox/mutations` after the [`crate::Mutation`]s.
    pub mutations: &'static [NamedMutation],
    /// Added to `/__sandbox/truth` after the audit log.
    pub truth: Option<TruthSection>,
}

impl Resource {
    /// Routes alone (the base of a fuller resource: `Resource { generate: .., ..Resource::routes(..) }`).
    pub const fn routes(routes: &'static [Route]) -> Resource {
        Resource { routes, generate: None, mutations: &[], truth: None }
    }
}

/// A resource's part of `/__sandbox/truth`: `key` and its value for the org (`render(org, base_url)`).
#[derive(Clone, Copy)]
pub(crate) struct TruthSection {
    pub key: &'static str,
    pub render: fn(&Org, &str) -> Value,
}

const fn route_count(registry: &[Resource]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < registry.len() {
        n += registry[i].routes.len();
        i += 1;
    }
    n
}

const fn flatten<const N: usize>(registry: &[Resource]) -> [Route; N] {
    const UNSET: Route = Route::get("", "", |_| MethodRouter::new());
    let mut out = [UNSET; N];
    let (mut k, mut i) = (0, 0);
    while i < registry.len() {
        let mut j = 0;
        while j < registry[i].routes.len() {
            out[k] = registry[i].routes[j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Every `/admin` route, in registry order (the order of `/__sandbox/stats` and `--help`).
pub const ROUTES: [Route; route_count(REGISTRY)] = flatten::<{ route_count(REGISTRY) }>(REGISTRY);

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// An `/admin` route as counted and named: its place in [`ROUTES`]. Its name ([`Endpoint::as_str`])
/// is the one `/__sandbox/stats` and `--fault` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint(usize);

/// The routes the crate has always named (a route added later is [`Endpoint::named`]).
#[allow(non_upper_case_globals)]
impl Endpoint {
    pub const UsersSearch: Endpoint = Endpoint::named("users_search");
    pub const Workspaces: Endpoint = Endpoint::named("workspaces");
    pub const Org: Endpoint = Endpoint::named("org");
    pub const Orgs: Endpoint = Endpoint::named("orgs");
    pub const UsersCount: Endpoint = Endpoint::named("users_count");
    pub const LastActiveDates: Endpoint = Endpoint::named("last_active_dates");
    /// `GET /v1/orgs/{orgId}/users` (managed accounts).
    pub const ManagedUsers: Endpoint = Endpoint::named("managed_users");
    /// `GET /v2/orgs/{orgId}/directories`.
    pub const Directories: Endpoint = Endpoint::named("directories");
    /// `POST /v2/orgs/{orgId}/directories/{directoryId}/groups/search`.
    pub const GroupsSearch: Endpoint = Endpoint::named("groups_search");
    /// `GET /v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments`.
    pub const GroupRoleAssignments: Endpoint = Endpoint::named("group_role_assignments");
    /// `GET /v1/orgs/{orgId}/events-stream` (the audit log).
    pub const EventsStream: Endpoint = Endpoint::named("events_stream");
    /// `GET /v1/orgs/{orgId}/event-actions`.
    pub const EventActions: Endpoint = Endpoint::named("event_actions");
}

impl Endpoint {
    /// Every endpoint, in [`ROUTES`] order.
    pub const ALL: [Endpoint; ROUTES.len()] = {
        let mut all = [Endpoint(0); ROUTES.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = Endpoint(i);
            i += 1;
        }
        all
    };

    /// The route called `name`. In a constant, a name no route has fails the build; elsewhere
    /// it panics: use [`Endpoint::find`] for names from outside.
    pub const fn named(name: &str) -> Endpoint {
        let mut i = 0;
        while i < ROUTES.len() {
            if same(ROUTES[i].name, name) {
                return Endpoint(i);
            }
            i += 1;
        }
        panic!("no /admin route has this name")
    }

    /// The route called `name`, if one is.
    pub fn find(name: &str) -> Option<Endpoint> {
        ROUTES.iter().position(|r| r.name == name).map(Endpoint)
    }

    /// The route serving `method path` (`path` the route's template, as axum matched it).
    pub(crate) fn serving(method: &str, path: &str) -> Option<Endpoint> {
        ROUTES.iter().position(|r| r.path == path && r.method.as_str() == method).map(Endpoint)
    }

    /// Every endpoint's name, in [`Endpoint::ALL`] order.
    pub fn names() -> Vec<&'static str> {
        ROUTES.iter().map(|r| r.name).collect()
    }

    /// Name used in `/__sandbox/stats` and `--fault`.
    pub fn as_str(self) -> &'static str {
        ROUTES[self.0].name
    }

    /// Its place in [`ROUTES`] (and in every per-endpoint table).
    pub(crate) fn index(self) -> usize {
        self.0
    }

    /// What a key needs to be served here.
    pub fn scope(self) -> Option<Scope> {
        ROUTES[self.0].scope
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `METHOD path` lines for `--help`, with the scope each needs.
pub fn routes_help() -> String {
    ROUTES
        .iter()
        .map(|r| match r.scope {
            Some(s) => format!("  {:<4} {}  [{}]\n", r.method.as_str(), r.path, s.name),
            None => format!("  {:<4} {}\n", r.method.as_str(), r.path),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_its_own_name_and_path() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert_eq!(Endpoint::find(r.name), Some(Endpoint(i)), "{} is the only route so named", r.name);
            assert_eq!(Endpoint::serving(r.method.as_str(), r.path), Some(Endpoint(i)));
            assert!(r.path.starts_with("/admin/"), "{}", r.path);
        }
        assert_eq!(Endpoint::find("nope"), None);
    }

    #[test]
    fn scopes_are_found_by_name_and_word_their_refusal() {
        let groups = Scope::named("read:groups:admin").unwrap();
        assert_eq!(groups.refusal(), "The API key does not grant access to groups (scope read:groups:admin)");
        assert_eq!(Endpoint::GroupsSearch.scope(), Some(groups));
        assert_eq!(Scope::named("read:nothing:admin"), None);
        let mut names: Vec<&str> = Scope::all().iter().map(|s| s.name).collect();
        assert!(names.contains(&"read:directories:admin") && names.contains(&"read:events:admin"));
        let listed = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), listed, "each scope once");
    }

    #[test]
    fn a_route_refusing_other_params_names_the_first_one() {
        let strict = Route::get("/admin/x", "x", |m| MethodRouter::new().on(m, || async {})).query(&["pageSize", "cursor"]).refusing_other_params();
        assert_eq!(strict.refused_param(None), None);
        assert_eq!(strict.refused_param(Some("pageSize=5&cursor=abc")), None);
        assert_eq!(strict.refused_param(Some("cursor=a&limit=3")), Some("limit"));
        assert_eq!(strict.refused_param(Some("status")), Some("status"));
        let lenient = Route { other_params: OtherParams::Ignored, ..strict };
        assert_eq!(lenient.refused_param(Some("limit=3")), None);
    }
}
