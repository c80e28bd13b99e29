//! The table of `/admin` routes the sandbox serves: method, path template (with
//! the parameter names of Atlassian's OpenAPI document), the [`Endpoint`] it is
//! counted as, and the query parameters it reads. The router, the gate, the
//! binary's `--help` and the conformance tests all read this one table.

use crate::Endpoint;

/// One `/admin` route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// e.g. `/admin/v1/orgs/{orgId}/users`.
    pub path: &'static str,
    pub endpoint: Endpoint,
    /// Query parameters the route reads (others are ignored, as the API does).
    pub query: &'static [&'static str],
}

const fn route(method: &'static str, path: &'static str, endpoint: Endpoint, query: &'static [&'static str]) -> Route {
    Route { method, path, endpoint, query }
}

/// The query parameters of `users/count`: the filter fields of the users search body.
pub const USERS_COUNT_PARAMS: [&str; 12] = [
    "accountIds",
    "status",
    "accountStatus",
    "membershipStatus",
    "claimStatus",
    "resourceIds",
    "roleIds",
    "groupIds",
    "emailDomains",
    "emails",
    "directoryIds",
    "searchTerm",
];

/// The query parameters of `events-stream`.
pub const EVENTS_STREAM_PARAMS: [&str; 5] = ["cursor", "from", "to", "limit", "sortOrder"];

/// Every `/admin` route, one per [`Endpoint`], in [`Endpoint::ALL`] order.
pub const ROUTES: [Route; Endpoint::ALL.len()] = [
    route("POST", "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search", Endpoint::UsersSearch, &[]),
    route("POST", "/admin/v2/orgs/{orgId}/workspaces", Endpoint::Workspaces, &[]),
    route("GET", "/admin/v1/orgs/{orgId}", Endpoint::Org, &[]),
    route("GET", "/admin/v1/orgs", Endpoint::Orgs, &["cursor"]),
    route("GET", "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/count", Endpoint::UsersCount, &USERS_COUNT_PARAMS),
    route(
        "GET",
        "/admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates",
        Endpoint::LastActiveDates,
        &["cursor"],
    ),
    route("GET", "/admin/v1/orgs/{orgId}/users", Endpoint::ManagedUsers, &["cursor"]),
    route("GET", "/admin/v2/orgs/{orgId}/directories", Endpoint::Directories, &["cursor", "limit"]),
    route("POST", "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search", Endpoint::GroupsSearch, &[]),
    route(
        "GET",
        "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments",
        Endpoint::GroupRoleAssignments,
        &["cursor", "limit"],
    ),
    route("GET", "/admin/v1/orgs/{orgId}/events-stream", Endpoint::EventsStream, &EVENTS_STREAM_PARAMS),
    route("GET", "/admin/v1/orgs/{orgId}/event-actions", Endpoint::EventActions, &[]),
];

impl Route {
    /// The route `endpoint` is served on.
    pub fn of(endpoint: Endpoint) -> &'static Route {
        &ROUTES[endpoint as usize]
    }
}

/// `METHOD path` lines for `--help`.
pub fn routes_help() -> String {
    ROUTES.iter().map(|r| format!("  {:<4} {}\n", r.method, r.path)).collect()
}
