//! The organization's audit log ("poll events"): the [`Event`] model, the actions the
//! log can hold ([`EVENT_ACTIONS`], what `GET /v1/orgs/{orgId}/event-actions` lists), the
//! 180-day retention, who may read it ([`EventsAccess`]), and the generated history
//! ([`generate_events`]).
//!
//! The log is [`Org::events`], kept **ordered by processing time, then id** ([`Event::order_key`]):
//! the order `GET /v1/orgs/{orgId}/events-stream` serves it in, as Atlassian sorts by
//! processing time "to ensure no events that are processed out of order are missed".
//! An event's `time` (when it happened) can be older than the `time` of events processed
//! before it: about 5 % of the generated history is processed hours to two days late, and
//! the `late_events` mutation appends events dated days back. Only events processed in the
//! last [`EVENT_RETENTION_DAYS`] days before the org's now are served
//! ([`Org::served_events`]); the rest stay in the truth.
//!
//! Times are kept at millisecond precision, the wire's. The sub-structs serialize in the
//! wire's camelCase shape (absent options left out), so [`crate::render::event_json`] only
//! arranges them; unknown fields a client must keep ride in [`EventObject::attributes`].

mod generate;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::Org;

pub use generate::generate_events;
pub(crate) use generate::{group_object, site_object, stamp, token_draft, token_draft_labelled, user_actor, user_object, Draft, Locations};

/// Days the log keeps an event, counted on its processing time.
pub const EVENT_RETENTION_DAYS: i64 = 180;

/// One audit-log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// A UUID, unique in the log.
    pub id: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// When Atlassian processed it (the log's order; never before `time`).
    pub processed_at: DateTime<Utc>,
    /// The action id, one of [`EVENT_ACTIONS`] (e.g. `user_added_to_org`).
    pub action: String,
    pub actor: EventActor,
    /// What the event is about; `None` = the field is left out, as real payloads sometimes do.
    pub context: Option<Vec<EventObject>>,
    /// Where it happened (the org, a site); `None` = left out.
    pub container: Option<Vec<EventObject>>,
    pub location: Option<EventLocation>,
    pub message: Option<EventMessage>,
}

impl Event {
    /// The log's sort key: processing time (microseconds since the epoch), then id.
    pub fn order_key(&self) -> (i64, &str) {
        (self.processed_at.timestamp_micros(), &self.id)
    }
}

/// `actor`: who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventActor {
    /// An account id, an app's id, or an org API key's id.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<EventAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<EventPrincipal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<EventApp>,
}

/// `actor.auth`: how the actor authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAuth {
    pub auth_type: AuthType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_label: Option<String>,
}

/// `actor.auth.authType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuthType {
    #[serde(rename = "container-token")]
    ContainerToken,
    #[serde(rename = "api-token")]
    ApiToken,
    #[serde(rename = "connect-token")]
    ConnectToken,
    #[serde(rename = "auth-token-for-2LO")]
    AuthTokenFor2Lo,
    #[serde(rename = "auth-token-for-3LO")]
    AuthTokenFor3Lo,
}

impl AuthType {
    pub const ALL: [AuthType; 5] =
        [AuthType::ContainerToken, AuthType::ApiToken, AuthType::ConnectToken, AuthType::AuthTokenFor2Lo, AuthType::AuthTokenFor3Lo];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::ContainerToken => "container-token",
            AuthType::ApiToken => "api-token",
            AuthType::ConnectToken => "connect-token",
            AuthType::AuthTokenFor2Lo => "auth-token-for-2LO",
            AuthType::AuthTokenFor3Lo => "auth-token-for-3LO",
        }
    }
}

/// `actor.onBehalfOf`: the user an app acted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventPrincipal {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `actor.app`: the app that acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventApp {
    pub id: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
}

/// An item of `context` or `container`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventObject {
    pub id: String,
    /// `users`, `sites`, `groups`, `orgs`, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    /// Free-form; now and then holds a field no client knows yet (`futureField`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
}

/// `location`: where the request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

/// `message` (beside `attributes` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventMessage {
    pub content: String,
    /// `simple`.
    pub format: String,
}

/// One action the log can hold, as `event-actions` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAction {
    pub id: &'static str,
    pub display_name: &'static str,
    pub group_display_name: &'static str,
}

/// The action ids the sandbox logs.
pub mod actions {
    pub const USER_LOGGED_IN: &str = "user_logged_in";
    pub const API_TOKEN_CREATED: &str = "api_token_created";
    pub const USER_ADDED_TO_ORG: &str = "user_added_to_org";
    pub const USER_REMOVED_FROM_ORG: &str = "user_removed_from_org";
    pub const USER_SUSPENDED: &str = "user_suspended";
    pub const PRODUCT_ACCESS_GRANTED: &str = "product_access_granted";
    pub const PRODUCT_ACCESS_REVOKED: &str = "product_access_revoked";
    pub const SITE_LINKED: &str = "site_linked";
    pub const SITE_RENAMED: &str = "site_renamed";
    pub const GROUP_CREATED: &str = "group_created";
    pub const GROUP_DELETED: &str = "group_deleted";
    pub const GROUP_RENAMED: &str = "group_renamed";
    pub const USER_ADDED_TO_GROUP: &str = "user_added_to_group";
    pub const USER_REMOVED_FROM_GROUP: &str = "user_removed_from_group";
    pub const GROUP_ROLE_GRANTED: &str = "group_role_granted";
    pub const GROUP_ROLE_REVOKED: &str = "group_role_revoked";
}

const fn action(id: &'static str, display_name: &'static str, group_display_name: &'static str) -> EventAction {
    EventAction { id, display_name, group_display_name }
}

/// Every action the log can contain (the generated history and the mutations use no other).
pub const EVENT_ACTIONS: [EventAction; 16] = [
    action(actions::USER_LOGGED_IN, "Logged in to account", "Authentication"),
    action(actions::API_TOKEN_CREATED, "Created API token", "Authentication"),
    action(actions::USER_ADDED_TO_ORG, "Added user to organization", "User management"),
    action(actions::USER_REMOVED_FROM_ORG, "Removed user from organization", "User management"),
    action(actions::USER_SUSPENDED, "Suspended user access", "User management"),
    action(actions::PRODUCT_ACCESS_GRANTED, "Granted product access", "Product access"),
    action(actions::PRODUCT_ACCESS_REVOKED, "Revoked product access", "Product access"),
    action(actions::SITE_LINKED, "Linked product to organization", "Products"),
    action(actions::SITE_RENAMED, "Renamed product", "Products"),
    action(actions::GROUP_CREATED, "Created group", "Groups"),
    action(actions::GROUP_DELETED, "Deleted group", "Groups"),
    action(actions::GROUP_RENAMED, "Renamed group", "Groups"),
    action(actions::USER_ADDED_TO_GROUP, "Added user to group", "Groups"),
    action(actions::USER_REMOVED_FROM_GROUP, "Removed user from group", "Groups"),
    action(actions::GROUP_ROLE_GRANTED, "Granted product role to group", "Groups"),
    action(actions::GROUP_ROLE_REVOKED, "Revoked product role from group", "Groups"),
];

/// What `events-stream` and `event-actions` answer ([`crate::SandboxOptions::events_access`]).
/// Atlassian does not document what a key without `read:events:admin`, or an org without
/// Atlassian Guard, gets: both seen behaviours are here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventsAccess {
    /// The org has Atlassian Guard and the key the scope: the log is served (default).
    #[default]
    Guard,
    /// Both routes answer `403 ADMIN-403-3`: the key lacks `read:events:admin`
    /// ([`crate::Sandbox::forbid_scope`] says the same).
    Forbidden,
    /// `events-stream` answers 200 with empty `data` and `meta.next: null`; `event-actions`
    /// still lists the actions.
    Empty,
}

impl std::str::FromStr for EventsAccess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "guard" => Ok(EventsAccess::Guard),
            "forbidden" => Ok(EventsAccess::Forbidden),
            "empty" => Ok(EventsAccess::Empty),
            o => Err(format!("unknown events access '{o}' (guard|forbidden|empty)")),
        }
    }
}

/// Sorts a log into its order ([`Event::order_key`]); cheap on a log already in order.
pub(crate) fn sort_log(events: &mut [Event]) {
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
}

impl Org {
    /// The oldest processing time still served: the org's now minus [`EVENT_RETENTION_DAYS`].
    pub fn event_retention_start(&self) -> DateTime<Utc> {
        self.now - Duration::days(EVENT_RETENTION_DAYS)
    }

    /// The events `events-stream` serves (processed within the retention), in log order.
    pub fn served_events(&self) -> impl Iterator<Item = &Event> + '_ {
        let from = self.event_retention_start();
        self.events.iter().filter(move |e| e.processed_at >= from)
    }
}
