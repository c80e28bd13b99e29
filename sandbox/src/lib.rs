//! `atlassian-sandbox`: a faithful, deterministic fake of the Atlassian Cloud
//! Organizations (Admin) REST API for tests, demos and benchmarks.
//!
//! [`Sandbox::start`] generates a synthetic organization from a seed
//! ([`generate_org`]) and serves it on `127.0.0.1` from its own thread and
//! tokio runtime, so plain `#[test]` functions can use it:
//!
//! ```no_run
//! use atlassian_sandbox::{Sandbox, SandboxOptions, Endpoint};
//! let sb = Sandbox::start(SandboxOptions { users: 250, ..Default::default() }).unwrap();
//! let url = format!("{}/admin/v1/orgs/{}", sb.base_url(), sb.org_id());
//! // ... call it with `Authorization: Bearer {sb.api_key()}` ...
//! assert_eq!(sb.request_count(Endpoint::Org), 0);
//! sb.with_org_mut(|org| org.users[0].name = "Renamed".into());
//! ```
//!
//! Routes (all `/admin/...` need `Authorization: Bearer <api_key>`):
//! - `GET  /admin/v1/orgs` and `GET /admin/v1/orgs/{orgId}`
//! - `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search`
//! - `GET  /admin/v2/orgs/{orgId}/directories/{directoryId}/users/count`
//! - `POST /admin/v2/orgs/{orgId}/workspaces`
//! - `GET  /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates`
//! - `GET  /admin/v1/orgs/{orgId}/users` (managed accounts, 50 a page, `links` as URLs;
//!   see [`render::ManagedUserView`] for the shape)
//! - control, no auth: `GET /__sandbox/stats`, `POST /__sandbox/stats/reset`,
//!   `GET /__sandbox/truth`.
//!
//! Misbehaviour on demand (see [`faults`]): [`Sandbox::set_faults`] /
//! [`Sandbox::with_faults_mut`] (429 bursts, 5xx, resets, slow and truncated
//! responses, repeated cursors, a key revoked mid-sync, redirects),
//! [`Sandbox::set_rate_limit`] (a real per-organization limit with the three
//! `X-RateLimit-*` headers) and [`Sandbox::revoke_key`]; the binary's `--fault`
//! and `--rate-limit` flags take the same rules as text.

#![allow(clippy::manual_is_multiple_of, clippy::result_large_err)]

pub mod cursor;
pub mod faults;
pub mod model;
pub mod mutations;
pub mod org;
pub mod ratelimit;
pub mod render;
pub mod rng;
pub mod routes;
mod options;
mod sandbox;
mod server;

use serde::Serialize;

pub use faults::{FaultAction, FaultRule, FaultTrigger, Faults, RateLimit, ResetPrecision, Throttle};
pub use model::{
    AccountStatus, ClaimStatus, Entitlement, Group, ManagementSource, MembershipStatus, Org,
    ProductAccess, SiteRole, User, UserQuirks, UserStatus, Workspace, WorkspaceStatus,
    BILLABLE_ROLES,
};
pub use mutations::{ActivityChange, Mutation, MutationError, MutationReport, MUTATIONS};
pub use options::SandboxOptions;
pub use ratelimit::{Decision, RateLimitWindow, RateLimiter, WindowStart};
pub use org::{default_now, generate_org, generate_org_at, OrgSpec};
pub use routes::{Route, ROUTES};
pub use sandbox::Sandbox;

/// How `expand: ["productAccess"]` behaves on the users search (unconfirmed upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductAccessMode {
    /// Accepted and returned (default).
    #[default]
    Supported,
    /// Rejected with `400 ADMIN-400-4`.
    Rejected,
    /// Accepted but the field is never returned.
    Omitted,
}

impl std::str::FromStr for ProductAccessMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "supported" => Ok(ProductAccessMode::Supported),
            "rejected" => Ok(ProductAccessMode::Rejected),
            "omitted" => Ok(ProductAccessMode::Omitted),
            o => Err(format!("unknown product access mode '{o}' (supported|rejected|omitted)")),
        }
    }
}

/// The `/admin` endpoints, for request counting and fault rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    UsersSearch = 0,
    Workspaces = 1,
    Org = 2,
    Orgs = 3,
    UsersCount = 4,
    LastActiveDates = 5,
    /// `GET /v1/orgs/{orgId}/users` (managed accounts).
    ManagedUsers = 6,
    /// `GET /v2/orgs/{orgId}/directories`.
    Directories = 7,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::UsersSearch,
        Endpoint::Workspaces,
        Endpoint::Org,
        Endpoint::Orgs,
        Endpoint::UsersCount,
        Endpoint::LastActiveDates,
        Endpoint::ManagedUsers,
        Endpoint::Directories,
    ];
    /// Every endpoint's name, in [`Endpoint::ALL`] order.
    pub fn names() -> Vec<&'static str> {
        Endpoint::ALL.iter().map(|e| e.as_str()).collect()
    }

    /// Name used in `/__sandbox/stats`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::UsersSearch => "users_search",
            Endpoint::Workspaces => "workspaces",
            Endpoint::Org => "org",
            Endpoint::Orgs => "orgs",
            Endpoint::UsersCount => "users_count",
            Endpoint::LastActiveDates => "last_active_dates",
            Endpoint::ManagedUsers => "managed_users",
            Endpoint::Directories => "directories",
        }
    }

    /// One of the v2 directory endpoints (users search, users count, directories): the
    /// ones a key without directory scopes is refused.
    pub fn is_v2_directory(self) -> bool {
        matches!(self, Endpoint::UsersSearch | Endpoint::UsersCount | Endpoint::Directories)
    }
}
