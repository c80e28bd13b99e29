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
//! let report = sb.add_users(10, 400).unwrap(); // a named mutation, see below
//! assert_eq!(report.users_added.len(), 10);
//! ```
//!
//! # Routes
//! All `/admin/...` routes need `Authorization: Bearer <api_key>` (else the gateway's
//! `401 {"code":401,"message":"Unauthorized"}`); each is counted as an [`Endpoint`]
//! (the name in `/__sandbox/stats` and in `--fault`) and may need a [`Scope`]. They come
//! from one registry, a line per resource module: `src/resources/mod.rs`, whose doc is the
//! table of routes (path, endpoint, scope, paging); [`ROUTES`] lists them in code, `--help`
//! and `GET /__sandbox/scopes` at run time. A resource may also bring data of its own (a
//! field of [`Org`], generated from the seed), named mutations and a part of the truth.
//!
//! A key lacks no scope by default; [`Sandbox::forbid_scope`] (`--forbid-scope`, `POST
//! /__sandbox/scopes/{scope}`) takes one away: every route needing it answers `403
//! ADMIN-403-3`, naming the scope. `directory_forbidden`, `groups_forbidden` and
//! [`EventsAccess::Forbidden`] are such scopes by their older names.
//!
//! Requests are decoded by typed extractors; whatever does not fit is answered with the
//! API's `{"errors":[{id,status,code,title,detail}]}` body, never a panic. The v1 routes,
//! last-active-dates and workspaces conform to Atlassian's OpenAPI document (tested
//! against a copy in `tests/fixtures/`).
//!
//! **v1 users and sites without a host URL.** `product_access` of `GET
//! /v1/orgs/{orgId}/users` carries exactly the activity of the v2 `productAccess` (same
//! workspaces, same timestamps), keyed by host URL and v1 product key. A workspace
//! without a host URL keeps its entry, without `url` (the schema does not require it),
//! so no activity fact is lost; such entries can only be joined by product key.
//! `access_billable` = the user is active and holds a billable role ([`BILLABLE_ROLES`]) on
//! some site (Atlassian bills no suspended, deactivated or to-be-deleted user).
//!
//! Control routes, no auth, not counted: `GET /__sandbox/stats` (requests and 429s per
//! endpoint), `POST /__sandbox/stats/reset`, `GET /__sandbox/truth` (the whole org, with
//! `siteRoles`, `managed`, `accessBillable` and rendering quirks per user, and the whole
//! audit log as `events` with `eventsRetainedSince`), `GET /__sandbox/mutations`,
//! `POST /__sandbox/mutations/{name}`, `GET /__sandbox/scopes`, `POST
//! /__sandbox/scopes/{scope}` (`{"forbidden": bool}`), `POST /__sandbox/events/expire-cursors`.
//!
//! # Audit log
//! [`Org::events`] (see [`events`]), served by `events-stream` in processing order
//! (`processedAt`, then id) — not event time: some events are processed hours or days after
//! they happened. Only the last [`EVENT_RETENTION_DAYS`] days are served
//! ([`Org::served_events`], [`Sandbox::served_events`]). `?from`/`?to` (epoch ms, on
//! `processedAt`, `from <= p < to`), `?limit` (default 200, above 500 served as 500; 0,
//! negative or not a number: `400 ADMIN-400-4`), `?sortOrder=asc|desc`, `?cursor`. The page is
//! `{data, meta: {next, page_size}, links: {self, next}}`; cursors are opaque and hold the
//! position after the last event served, so the last page's `meta.next` polled later returns
//! what was appended since (or empty `data` and the same cursor) — unless
//! `events_null_next`, where the last page says `null`. A bad, foreign or expired
//! ([`Sandbox::expire_event_cursors`]) cursor is `400 ADMIN-400-1`. [`EventsAccess`] says
//! whether the key reads it (a 403, or an empty 200, otherwise); `events_rate_limit` is a
//! limit of that path alone, beside the org's `rate_limit` (any route can have one:
//! [`Sandbox::set_route_rate_limit`]).
//!
//! # Options
//! [`SandboxOptions`] (the binary's flag in brackets): `seed` (`--seed`), `users`
//! (`--users`), `api_key` (`--api-key`), `port` (`--port`), `product_access_mode`
//! (`--product-access supported|rejected|omitted`), `search_max_limit`
//! (`--search-max-limit`), `orgs_list_empty` (`--orgs-list-empty`), `extra_orgs`
//! (`--extra-orgs N`), `forbidden_scopes` (`--forbid-scope SCOPE`), `directory_forbidden`
//! (`--v2-directory-forbidden`: the v2 directory endpoints answer `403 ADMIN-403-3`, the rest
//! works), `groups_forbidden` (`--groups-forbidden`), `negative_estimates`
//! (`--negative-estimates`: `meta.total` of v1 users and workspaces and `counts.resources`
//! answer `-1`), `last_active_page_size` (`--last-active-page-size`), `latency`
//! (`--latency-ms`), `now`, `cursor_salt` (`--cursor-salt`), `faults` (`--fault`),
//! `rate_limit` (`--rate-limit`), `events` (`--events N`: generated audit-log history),
//! `events_null_next` (`--events-null-next`), `events_access` (`--events-access
//! guard|forbidden|empty`), `events_rate_limit` (`--events-rate-limit`).
//!
//! # Misbehaviour on demand
//! Faults (see [`faults`]): [`Sandbox::set_faults`] / [`Sandbox::with_faults_mut`] (429
//! bursts, 5xx, resets, slow and truncated responses, repeated cursors, a key revoked
//! mid-sync, redirects), [`Sandbox::revoke_key`], [`Sandbox::forbid_scope`] (and its older
//! forms [`Sandbox::set_directory_forbidden`], [`Sandbox::set_groups_forbidden`],
//! [`Sandbox::set_events_access`]), [`Sandbox::expire_event_cursors`],
//! [`Sandbox::set_route_rate_limit`] ([`Sandbox::set_events_rate_limit`]);
//! the binary's `--fault ENDPOINT:ACTION[:WHEN]` takes the same rules as text.
//!
//! Rate limits (see [`ratelimit`]): [`Sandbox::set_rate_limit`] / `--rate-limit`
//! `LIMIT/WINDOW[,retry-after][,start=set|first-request|aligned]
//! [,reset-precision=us|ms|s|minute][,reset-skew=DUR][,skew-seed=N]`, one limit over all
//! `/admin` endpoints with `X-RateLimit-Limit`, `-Remaining` and `-Reset` on every
//! response. [`WindowStart`] says when a window opens (when set, at the first request
//! after the previous one ended, or on wall-clock multiples), [`ResetPrecision`] how the
//! reset is written (microseconds to minutes, truncated), `reset_skew` adds a seeded
//! per-response skew to the reported reset. [`Sandbox::rate_limit_window`] tells the true
//! window; [`Sandbox::throttled_count_for`] counts 429s per endpoint.
//!
//! # Mutations
//! Named, seeded changes to the org, each a method on [`Sandbox`] and
//! `POST /__sandbox/mutations/{name}` with a JSON object of fields; each answers a
//! [`MutationReport`] and every endpoint sees it (see [`mutations`] and [`Mutation`]):
//! `add_users {count, last_active_days_ago}`, `hire_users {count, days_ago}` (joined
//! `days_ago` days ago, billable seats, no product access yet), `link_site {product, users,
//! last_active_days_ago}`, `revoke_access {count, account_ids, workspace}`,
//! `remove_users {count}`, `suspend_users {count}` (roles and product access removed:
//! Atlassian suspends access to every product), `late_activity {count, days_ago}`,
//! `new_activity {count}`, `rename_site {workspace, name}`, `advance_clock {days}`, the group
//! mutations (`add_group {members}`, `remove_group`, `rename_group`, `grant_group_role`,
//! `revoke_group_role`, `join_group {count}`, `leave_group {count}`), and three that only
//! write the audit log: `logins {count}`, `api_token_created {account_id, label}`,
//! `late_events {count, days}`. Every change Atlassian logs appends its events, processed at
//! the org's now (`events_added` in the report). A resource module may add mutations of its
//! own; [`mutation_catalog`] lists them all and [`Sandbox::mutate`] applies any by name.
//! [`Sandbox::with_org_mut`] remains for any other change (the log is kept in order after it).

#![allow(clippy::manual_is_multiple_of, clippy::result_large_err)]

pub mod cursor;
pub mod events;
pub mod faults;
pub mod model;
pub mod mutations;
pub mod org;
pub mod ratelimit;
pub mod render;
pub mod rng;
pub mod routes;
mod options;
mod resources;
mod sandbox;
mod server;

use serde::Serialize;

pub use events::{
    generate_events, AuthType, Event, EventAction, EventActor, EventApp, EventAuth, EventLocation, EventMessage, EventObject,
    EventPrincipal, EventsAccess, EVENT_ACTIONS, EVENT_RETENTION_DAYS,
};
pub use faults::{FaultAction, FaultRule, FaultTrigger, Faults, RateLimit, ResetPrecision, Throttle};
pub use model::{
    AccountStatus, ClaimStatus, Entitlement, Group, ManagementSource, MembershipStatus, Org,
    ProductAccess, SiteRole, User, UserQuirks, UserStatus, Workspace, WorkspaceStatus,
    BILLABLE_ROLES,
};
pub use mutations::{mutation_catalog, ActivityChange, Mutation, MutationError, MutationInfo, MutationReport, MUTATIONS};
pub use options::SandboxOptions;
pub use ratelimit::{Decision, RateLimitWindow, RateLimiter, WindowStart};
pub use org::{default_now, generate_org, generate_org_at, OrgSpec};
pub use routes::{Endpoint, Route, Scope, ROUTES};
pub use sandbox::{Sandbox, UnknownScope};

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
