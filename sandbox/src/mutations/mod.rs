//! Named, documented changes to the org, for convergence tests that run a client
//! between mutations and compare what it read with the truth.
//!
//! Each [`Mutation`] is a method on [`Sandbox`] (e.g. [`Sandbox::add_users`]) and an
//! unauthenticated control route, `POST /__sandbox/mutations/{name}` with the fields as a
//! JSON object (absent fields take the defaults in [`MUTATIONS`]); `GET
//! /__sandbox/mutations` lists them. A mutation changes the truth, so every endpoint
//! (v2 search with `productAccess`, v1 users, last-active-dates, users count, the
//! role-filtered search used for seats, workspaces, `/__sandbox/truth`) shows it at once.
//! Targets are picked deterministically: the n-th mutation applied to a sandbox draws
//! from a stream seeded by the sandbox's seed and n, so the same options and the same
//! sequence of mutations give the same org. Times are relative to the org's "now"
//! ([`crate::Org::now`]), which [`Mutation::AdvanceClock`] moves. Every mutation answers a
//! [`MutationReport`] naming what it changed.
//!
//! A mutation Atlassian would log appends its events to the audit log ([`crate::events`]),
//! processed at the org's now, strictly after every event already there (their ids in
//! [`MutationReport::events_added`]): users added or hired (`user_added_to_org` and a
//! `product_access_granted` per site), removed, suspended; access granted or revoked; a site
//! linked or renamed; a group created, deleted or renamed, a role granted or revoked through
//! it, users joining or leaving it. [`Mutation::Logins`], [`Mutation::ApiTokenCreated`] and
//! [`Mutation::LateEvents`] only add events. Activity and the clock are not logged.
//!
//! A resource module adds mutations of its own (`named::NamedMutation`, listed in its
//! registry entry): the same routes and [`Sandbox::mutate`] reach them, and
//! [`mutation_catalog`] lists them after the [`Mutation`]s.

mod apply;
mod events;
mod groups;
pub(crate) mod named;

pub(crate) use apply::MutationState;
use named::NamedMutation;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::resources::REGISTRY;
use crate::Sandbox;

const fn one() -> usize {
    1
}
const fn one_day() -> u32 {
    1
}
const fn days_90() -> u32 {
    90
}
const fn days_60() -> u32 {
    60
}
const fn days_7() -> u32 {
    7
}
const fn days_10() -> u32 {
    10
}
const fn five() -> usize {
    5
}
const fn two_days() -> u32 {
    2
}
fn confluence() -> String {
    "confluence".into()
}

/// A named change to the org (the JSON form is `{"mutation": NAME, ...fields}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mutation", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// `count` new active users (managed and unmanaged, drawn like the generator's), each
    /// with a billable role (`atlassian/user`) and activity on 1–3 online, non-sandbox sites,
    /// all dated `last_active_days_ago` days before now. A site whose billable users
    /// outgrow its capacity moves up a tier.
    AddUsers {
        #[serde(default = "one")]
        count: usize,
        #[serde(default = "days_90")]
        last_active_days_ago: u32,
    },
    /// `count` new hires (managed and unmanaged, drawn like [`Mutation::AddUsers`]'s) who joined
    /// the org `days_ago` days before now (`addedToOrg`, to the millisecond) and have not
    /// logged in yet: active, each with a billable role (`atlassian/user`) on 1–3 online,
    /// non-sandbox sites and no product access at all (`productAccess` empty). Logged like
    /// `add_users`; a site whose billable users outgrow its capacity moves up a tier.
    HireUsers {
        #[serde(default = "one")]
        count: usize,
        #[serde(default = "days_10")]
        days_ago: u32,
    },
    /// A new online, non-sandbox product instance of `product` (`jira-software`,
    /// `confluence`, `jira-servicedesk`, `bitbucket`, `trello`, `opsgenie`, or their v1/v2
    /// keys) linked to the org — new ARI, host URL, capacity, plan — on which `users`
    /// active users get a billable role and activity dated `last_active_days_ago` days ago.
    LinkSite {
        #[serde(default = "confluence")]
        product: String,
        #[serde(default = "five")]
        users: usize,
        #[serde(default = "days_60")]
        last_active_days_ago: u32,
    },
    /// Removes users' access to one site: their roles there and their activity there.
    /// `workspace` (an ARI) defaults to a site with billable users; `account_ids`
    /// default to `count` users who have a role or activity on it.
    RevokeAccess {
        #[serde(default = "one")]
        count: usize,
        #[serde(default)]
        account_ids: Option<Vec<String>>,
        #[serde(default)]
        workspace: Option<String>,
    },
    /// `count` users deleted from the directory: gone from every endpoint.
    RemoveUsers {
        #[serde(default = "one")]
        count: usize,
    },
    /// `count` active users suspended (`status` and `membershipStatus` `suspended`). Atlassian
    /// suspends access to every product, so their site roles and their product access
    /// (activity) are removed too.
    SuspendUsers {
        #[serde(default = "one")]
        count: usize,
    },
    /// Activity reported late: `count` existing (active user, site) pairs whose last active
    /// is older get it set to `days_ago` days before now — later than before, but older
    /// than the org's newest activity, so an incremental cursor on last active has passed it.
    LateActivity {
        #[serde(default = "one")]
        count: usize,
        #[serde(default = "days_7")]
        days_ago: u32,
    },
    /// Ordinary fresh activity: `count` active users get their last active on one site
    /// (one they hold a role on, else any online site: possibly a new pair) set to now.
    NewActivity {
        #[serde(default = "one")]
        count: usize,
    },
    /// A workspace renamed: `workspace` (an ARI, default: one drawn) to `name` (default:
    /// the old name with a suffix).
    RenameSite {
        #[serde(default)]
        workspace: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
    /// The org's clock moves `days` forward; later mutations date things from the new now.
    AdvanceClock {
        #[serde(default = "one_day")]
        days: u32,
    },
    /// A new group (granting nothing) that `members` active users join.
    AddGroup {
        #[serde(default = "five")]
        members: usize,
    },
    /// A group drawn removed: its members lose the roles it alone granted them.
    RemoveGroup {},
    /// A group drawn renamed.
    RenameGroup {},
    /// A group drawn grants `atlassian/user` on a site it granted nothing on: its members get
    /// the seat.
    GrantGroupRole {},
    /// A granting group loses one of its role assignments: its members lose that role unless
    /// another group of theirs grants it.
    RevokeGroupRole {},
    /// `count` active users join a granting group (and get its roles).
    JoinGroup {
        #[serde(default = "one")]
        count: usize,
    },
    /// `count` members leave a granting group (and lose the roles it alone granted them).
    LeaveGroup {
        #[serde(default = "one")]
        count: usize,
    },
    /// `count` distinct active users log in: a `user_logged_in` event each, with a location.
    Logins {
        #[serde(default = "five")]
        count: usize,
    },
    /// A user (`account_id`, default: an active user drawn) creates an API token labelled
    /// `label` (default: one drawn): an `api_token_created` event whose `actor.auth` carries
    /// the token's id and label.
    ApiTokenCreated {
        #[serde(default)]
        account_id: Option<String>,
        #[serde(default)]
        label: Option<String>,
    },
    /// Events reported late: `count` logins whose `time` is `days` days (and up to an hour)
    /// before the newest `time` of the served log, processed now — after everything a client
    /// has read, but dated before it, so a cursor on `time` loses them.
    LateEvents {
        #[serde(default = "one")]
        count: usize,
        #[serde(default = "two_days")]
        days: u32,
    },
}

/// Every mutation: name, fields with their defaults, what it does (for `--help` and
/// `GET /__sandbox/mutations`).
pub const MUTATIONS: [(&str, &str, &str); 20] = [
    ("add_users", r#"{"count":1,"last_active_days_ago":90}"#, "new active users with billable seats and old activity"),
    ("hire_users", r#"{"count":1,"days_ago":10}"#, "new hires (joined days_ago) with billable seats and no product access yet"),
    ("link_site", r#"{"product":"confluence","users":5,"last_active_days_ago":60}"#, "a new site; users get a billable role and past activity on it"),
    ("revoke_access", r#"{"count":1,"account_ids":null,"workspace":null}"#, "users lose their role and activity on one site"),
    ("remove_users", r#"{"count":1}"#, "users deleted from the directory"),
    ("suspend_users", r#"{"count":1}"#, "active users suspended; roles and product access removed"),
    ("late_activity", r#"{"count":1,"days_ago":7}"#, "older pairs' last active moved to days_ago (behind the newest)"),
    ("new_activity", r#"{"count":1}"#, "pairs' last active set to now (possibly new pairs)"),
    ("rename_site", r#"{"workspace":null,"name":null}"#, "a workspace renamed"),
    ("advance_clock", r#"{"days":1}"#, "the org's now moves forward"),
    ("add_group", r#"{"members":5}"#, "a new group that active users join"),
    ("remove_group", "{}", "a group removed; its members lose what it alone granted"),
    ("rename_group", "{}", "a group renamed"),
    ("grant_group_role", "{}", "a group grants atlassian/user on another site; its members get the seat"),
    ("revoke_group_role", "{}", "a group's role assignment revoked; members lose it unless granted otherwise"),
    ("join_group", r#"{"count":1}"#, "active users join a granting group"),
    ("leave_group", r#"{"count":1}"#, "members leave a granting group"),
    ("logins", r#"{"count":5}"#, "active users log in (user_logged_in events with a location)"),
    ("api_token_created", r#"{"account_id":null,"label":null}"#, "a user creates an API token (actor.auth has its id and label)"),
    ("late_events", r#"{"count":1,"days":2}"#, "events dated days before the newest served one, processed now"),
];

/// One (user, site) activity change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityChange {
    pub account_id: String,
    /// The workspace ARI.
    pub workspace: String,
    /// The new last active; `None` = the pair was removed.
    pub last_active: Option<DateTime<Utc>>,
    /// The last active before; `None` = a new pair.
    pub previous: Option<DateTime<Utc>>,
}

/// What a mutation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutationReport {
    /// The mutation's name.
    pub mutation: String,
    /// The org's now after the mutation.
    pub now: DateTime<Utc>,
    pub users_added: Vec<String>,
    pub users_removed: Vec<String>,
    /// Users whose status, roles or activity changed (not the added or removed ones).
    pub users_changed: Vec<String>,
    /// ARIs of new workspaces.
    pub workspaces_added: Vec<String>,
    /// ARIs of workspaces renamed, whose capacity moved, or whose access was revoked.
    pub workspaces_changed: Vec<String>,
    /// Ids of groups added, removed, renamed, or whose roles or members changed.
    pub groups_changed: Vec<String>,
    pub activity: Vec<ActivityChange>,
    /// Ids of the events appended to the audit log, in log order.
    pub events_added: Vec<String>,
    /// What a resource's mutation changed, by what happened (`domains_added`: ids); each
    /// key is a field of the report's JSON.
    #[serde(flatten)]
    pub changes: BTreeMap<&'static str, Vec<String>>,
    /// The events the mutation asked for, stamped into the log once it applied.
    #[serde(skip)]
    pub(crate) drafts: Vec<crate::events::Draft>,
}

/// Why a mutation could not be applied (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutationError(pub String);

impl std::fmt::Display for MutationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MutationError {}

/// The resources' named mutation called `name`.
pub(crate) fn named_mutation(name: &str) -> Option<&'static NamedMutation> {
    REGISTRY.iter().flat_map(|r| r.mutations).find(|m| m.name == name)
}

/// One mutation as `GET /__sandbox/mutations` and `--help` describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MutationInfo {
    pub name: &'static str,
    /// Its fields with their defaults.
    pub defaults: Value,
    pub description: &'static str,
}

/// Every mutation: the [`Mutation`]s ([`MUTATIONS`]), then the resources' own.
pub fn mutation_catalog() -> Vec<MutationInfo> {
    let enumerated = MUTATIONS.iter().map(|(name, fields, what)| MutationInfo {
        name,
        defaults: serde_json::from_str(fields).unwrap_or(Value::Null),
        description: what,
    });
    let named = REGISTRY.iter().flat_map(|r| r.mutations).map(|m| MutationInfo { name: m.name, defaults: m.defaults(), description: m.description });
    enumerated.chain(named).collect()
}

/// A mutation's fields from a request body: a JSON object, or nothing (every default).
pub fn mutation_fields(body: &[u8]) -> Result<Map<String, Value>, MutationError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(MutationError("the body must be a JSON object of the mutation's fields".into())),
        Err(e) => Err(MutationError(format!("the body is not JSON: {e}"))),
    }
}

impl Mutation {
    /// The snake_case name (`add_users`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Mutation::AddUsers { .. } => "add_users",
            Mutation::HireUsers { .. } => "hire_users",
            Mutation::LinkSite { .. } => "link_site",
            Mutation::RevokeAccess { .. } => "revoke_access",
            Mutation::RemoveUsers { .. } => "remove_users",
            Mutation::SuspendUsers { .. } => "suspend_users",
            Mutation::LateActivity { .. } => "late_activity",
            Mutation::NewActivity { .. } => "new_activity",
            Mutation::RenameSite { .. } => "rename_site",
            Mutation::AdvanceClock { .. } => "advance_clock",
            Mutation::AddGroup { .. } => "add_group",
            Mutation::RemoveGroup {} => "remove_group",
            Mutation::RenameGroup {} => "rename_group",
            Mutation::GrantGroupRole {} => "grant_group_role",
            Mutation::RevokeGroupRole {} => "revoke_group_role",
            Mutation::JoinGroup { .. } => "join_group",
            Mutation::LeaveGroup { .. } => "leave_group",
            Mutation::Logins { .. } => "logins",
            Mutation::ApiTokenCreated { .. } => "api_token_created",
            Mutation::LateEvents { .. } => "late_events",
        }
    }

    /// The mutation `name` with the fields of `body` (a JSON object; empty = defaults).
    /// `Ok(None)` = no mutation has that name.
    pub fn from_request(name: &str, body: &[u8]) -> Result<Option<Mutation>, MutationError> {
        if !MUTATIONS.iter().any(|m| m.0 == name) {
            return Ok(None);
        }
        Mutation::from_fields(name, mutation_fields(body)?)
    }

    /// The mutation `name` with these fields; `Ok(None)` = no [`Mutation`] has that name.
    pub fn from_fields(name: &str, mut fields: Map<String, Value>) -> Result<Option<Mutation>, MutationError> {
        if !MUTATIONS.iter().any(|m| m.0 == name) {
            return Ok(None);
        }
        fields.insert("mutation".into(), Value::String(name.into()));
        serde_json::from_value(Value::Object(fields)).map(Some).map_err(|e| MutationError(format!("{name}: {e}")))
    }
}

impl Sandbox {
    /// Apply one [`Mutation`]; every endpoint sees it from the next request.
    pub fn apply_mutation(&self, mutation: &Mutation) -> Result<MutationReport, MutationError> {
        self.shared.mutate(mutation)
    }

    /// Apply the mutation called `name` — a [`Mutation`] or a resource's own — with `fields`
    /// (a JSON object; absent fields take their defaults), as `POST /__sandbox/mutations/{name}`
    /// does.
    pub fn mutate(&self, name: &str, fields: Value) -> Result<MutationReport, MutationError> {
        let fields = match fields {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(MutationError("the fields must be a JSON object".into())),
        };
        if let Some(m) = Mutation::from_fields(name, fields.clone())? {
            return self.shared.mutate(&m);
        }
        match named_mutation(name) {
            Some(m) => self.shared.mutate_named(m, Value::Object(fields)),
            None => {
                let names: Vec<&str> = mutation_catalog().iter().map(|m| m.name).collect();
                Err(MutationError(format!("no mutation '{name}' ({})", names.join("|"))))
            }
        }
    }

    /// [`Mutation::AddUsers`].
    pub fn add_users(&self, count: usize, last_active_days_ago: u32) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::AddUsers { count, last_active_days_ago })
    }

    /// [`Mutation::HireUsers`].
    pub fn hire_users(&self, count: usize, days_ago: u32) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::HireUsers { count, days_ago })
    }

    /// [`Mutation::LinkSite`].
    pub fn link_site(&self, product: &str, users: usize, last_active_days_ago: u32) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::LinkSite { product: product.into(), users, last_active_days_ago })
    }

    /// [`Mutation::RevokeAccess`] of `count` users on a site drawn by the sandbox.
    pub fn revoke_access(&self, count: usize) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::RevokeAccess { count, account_ids: None, workspace: None })
    }

    /// [`Mutation::RevokeAccess`] of these users on this site (an ARI).
    pub fn revoke_access_of(&self, account_ids: &[&str], workspace: &str) -> Result<MutationReport, MutationError> {
        let account_ids = Some(account_ids.iter().map(|a| a.to_string()).collect());
        self.apply_mutation(&Mutation::RevokeAccess { count: 0, account_ids, workspace: Some(workspace.into()) })
    }

    /// [`Mutation::RemoveUsers`].
    pub fn remove_users(&self, count: usize) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::RemoveUsers { count })
    }

    /// [`Mutation::SuspendUsers`].
    pub fn suspend_users(&self, count: usize) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::SuspendUsers { count })
    }

    /// [`Mutation::LateActivity`].
    pub fn late_activity(&self, count: usize, days_ago: u32) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::LateActivity { count, days_ago })
    }

    /// [`Mutation::NewActivity`].
    pub fn new_activity(&self, count: usize) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::NewActivity { count })
    }

    /// [`Mutation::RenameSite`] (`None`s: a drawn site, a derived name).
    pub fn rename_site(&self, workspace: Option<&str>, name: Option<&str>) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::RenameSite { workspace: workspace.map(str::to_string), name: name.map(str::to_string) })
    }

    /// [`Mutation::AdvanceClock`].
    pub fn advance_clock(&self, days: u32) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::AdvanceClock { days })
    }

    /// [`Mutation::Logins`].
    pub fn logins(&self, count: usize) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::Logins { count })
    }

    /// [`Mutation::ApiTokenCreated`] (`None`s: a user drawn, a label drawn).
    pub fn api_token_created(&self, account_id: Option<&str>, label: Option<&str>) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::ApiTokenCreated { account_id: account_id.map(str::to_string), label: label.map(str::to_string) })
    }

    /// [`Mutation::LateEvents`].
    pub fn late_events(&self, count: usize, days: u32) -> Result<MutationReport, MutationError> {
        self.apply_mutation(&Mutation::LateEvents { count, days })
    }
}
