//! The in-memory organization model ("truth") behind the sandbox.
//!
//! These structs are the ground truth the HTTP layer renders from. They are
//! deliberately *not* the wire format: the API shapes (camelCase v2, snake_case
//! v1, ARIs instead of indexes, derived fields such as `picture`) are produced by
//! [`crate::render`]. Users reference workspaces and groups by **index** into
//! [`Org::workspaces`] / [`Org::groups`] to keep 200k-user orgs compact; use
//! [`Org::workspace_index`] to translate an ARI. Invalid indexes (e.g. after a
//! test removed a workspace) are skipped when rendering, never a panic.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::Event;
pub use crate::resources::api_keys::ApiKey;
pub use crate::resources::api_tokens::ApiToken;
pub use crate::resources::domains::Domain;
pub use crate::resources::policies::Policy;
pub use crate::resources::service_accounts::ServiceAccount;

/// A whole synthetic organization. A resource with data of its own keeps it in a field here,
/// filled by its generator ([`crate::generate_org_at`] runs them all).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Org {
    /// Organization id (UUID-like, not guaranteed hex).
    pub id: String,
    pub name: String,
    /// The org's single user directory id (`-` also addresses it).
    pub directory_id: String,
    pub directory_name: String,
    /// The fixed "now" all generated timestamps are relative to.
    pub now: DateTime<Utc>,
    pub workspaces: Vec<Workspace>,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    /// The audit log, in processing order ([`crate::events`]); empty unless asked for.
    pub events: Vec<Event>,
    /// The org's claimed email domains.
    pub domains: Vec<Domain>,
    /// The managed accounts' API tokens.
    pub api_tokens: Vec<ApiToken>,
    /// The organization's service accounts (each one of its `svc-*` users).
    pub service_accounts: Vec<ServiceAccount>,
    /// The organization's API keys.
    pub api_keys: Vec<ApiKey>,
    /// The organization's policies.
    pub policies: Vec<Policy>,
    /// Account ids of the Bitbucket developers who work through git only (no route serves it:
    /// `resources/git_activity.rs`).
    pub git_only: Vec<String>,
    /// The test-only resource's data.
    #[cfg(test)]
    pub badges: Vec<crate::resources::badges::Badge>,
}

impl Org {
    /// Index of the workspace with this id (ARI).
    pub fn workspace_index(&self, id: &str) -> Option<usize> {
        self.workspaces.iter().position(|w| w.id == id)
    }

    /// The user with this account id (linear scan; fine for tests).
    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }

    /// Mutable access to the user with this account id.
    pub fn user_mut(&mut self, account_id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.account_id == account_id)
    }

    /// A user's activity entries with their workspaces; entries whose workspace index is
    /// not valid (e.g. a test removed the workspace) are skipped.
    pub fn activity<'a>(&'a self, u: &'a User) -> impl Iterator<Item = (&'a Workspace, &'a ProductAccess)> + 'a {
        u.product_access.iter().filter_map(|p| self.workspaces.get(p.workspace).map(|w| (w, p)))
    }

    /// Members of group `g` (its `counts.users`).
    pub fn group_members(&self, g: usize) -> usize {
        self.users.iter().filter(|u| u.groups.contains(&g)).count()
    }

    /// Distinct sites group `g` grants a role on (its `counts.resources`).
    pub fn group_resources(&self, g: usize) -> usize {
        let mut sites: Vec<usize> = self.groups[g].grants.iter().map(|r| r.workspace).filter(|w| *w < self.workspaces.len()).collect();
        sites.sort_unstable();
        sites.dedup();
        sites.len()
    }

    /// Gives every member of group `g` the roles it grants that they do not hold yet.
    pub fn grant_group_roles(&mut self, g: usize) {
        let grants = self.groups[g].grants.clone();
        for u in self.users.iter_mut().filter(|u| u.groups.contains(&g)) {
            for grant in &grants {
                if !u.site_roles.contains(grant) {
                    u.site_roles.push(grant.clone());
                }
            }
        }
    }

    /// Takes `role` away from the members of group `g` that no other group of theirs grants it
    /// to (a role held through a group is held by no other means in the sandbox).
    pub fn revoke_group_role(&mut self, g: usize, role: &SiteRole) {
        for i in 0..self.users.len() {
            if self.users[i].groups.contains(&g) {
                self.drop_group_role(i, g, role);
            }
        }
    }

    /// User `i` leaves group `g`, losing what no other group of theirs grants them.
    pub fn leave_group(&mut self, i: usize, g: usize) {
        for role in self.groups[g].grants.clone() {
            self.drop_group_role(i, g, &role);
        }
        self.users[i].groups.retain(|&h| h != g);
    }

    /// Takes `role`, held through group `g`, from user `i` unless another of their groups grants it.
    fn drop_group_role(&mut self, i: usize, g: usize, role: &SiteRole) {
        let groups = &self.groups;
        let u = &mut self.users[i];
        if !u.groups.iter().any(|&h| h != g && groups.get(h).is_some_and(|h| h.grants.contains(role))) {
            u.site_roles.retain(|r| r != role);
        }
    }

    /// Removes group `g`: its members lose the roles it alone granted them; the others'
    /// group indexes are renumbered.
    pub fn remove_group(&mut self, g: usize) {
        for role in self.groups[g].grants.clone() {
            self.revoke_group_role(g, &role);
        }
        self.groups.remove(g);
        for u in &mut self.users {
            u.groups.retain(|&h| h != g);
            for h in &mut u.groups {
                if *h > g {
                    *h -= 1;
                }
            }
        }
    }

    /// Number of users holding one of `role_ids` on workspace `ws` (seat counting).
    pub fn count_with_roles(&self, ws: usize, role_ids: &[&str]) -> usize {
        self.users
            .iter()
            .filter(|u| {
                u.site_roles
                    .iter()
                    .any(|r| r.workspace == ws && role_ids.contains(&r.role_id.as_ref()))
            })
            .count()
    }
}

/// A product instance (site of Jira, Confluence, a Bitbucket workspace, ...).
#[derive(Debug, Clone, Serialize)]
pub struct Workspace {
    /// The ARI, e.g. `ari:cloud:jira-software::site/<cloudId>`.
    pub id: String,
    /// Cloud id of the site (shared by products on the same host).
    pub cloud_id: String,
    pub name: String,
    /// `attributes.typeKey`: jira-software, confluence, jira-servicedesk, bitbucket, trello, opsgenie...
    pub type_key: String,
    /// `attributes.type`: product family (jira, confluence, bitbucket, trello, opsgenie).
    pub product_type: String,
    /// Key used for this workspace in v2 `productAccess` (jira, confluence, jira-servicedesk...).
    pub product_access_key: String,
    /// Key used for this workspace in v1 last-active-dates (older vocabulary:
    /// jira-software, jira-service-desk, confluence...).
    pub last_active_key: String,
    pub owner: Option<String>,
    pub status: WorkspaceStatus,
    pub status_details: Vec<String>,
    pub labels: Vec<String>,
    /// `CHILD` or `NONE`.
    pub sandbox_type: String,
    /// For a CHILD sandbox: the parent workspace id.
    pub sandbox_parent_id: Option<String>,
    /// Bitbucket only.
    pub usage: Option<u64>,
    pub capacity: Option<u64>,
    /// When true the `capacity` attribute is left out entirely (Trello).
    pub omit_capacity: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub host_url: Option<String>,
    pub realm: String,
    pub regions: Vec<String>,
    pub entitlement: Entitlement,
}

/// The workspace's entitlement (plan).
#[derive(Debug, Clone, Serialize)]
pub struct Entitlement {
    pub id: String,
    pub key: String,
    pub plan_key: Option<String>,
    /// e.g. `Premium`, `Standard`, `Free`.
    pub plan: Option<String>,
}

/// `attributes.status` of a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceStatus {
    Online,
    Offline,
    Deprecated,
}

impl WorkspaceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceStatus::Online => "online",
            WorkspaceStatus::Offline => "offline",
            WorkspaceStatus::Deprecated => "deprecated",
        }
    }
}

/// A directory group.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `managedBy`: `admins`, `external` (synced from an identity provider), `team-members`, `open`.
    pub managed_by: Cow<'static, str>,
    pub external_synced: bool,
    /// The roles the group grants on sites (its role assignments): every member holds each
    /// one in [`User::site_roles`] ([`Org::grant_group_roles`] keeps it so).
    pub grants: Vec<SiteRole>,
}

/// Last activity of a user on one workspace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductAccess {
    /// Index into [`Org::workspaces`].
    pub workspace: usize,
    pub last_active: DateTime<Utc>,
}

/// A role a user holds on a workspace (for licence / seat features).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteRole {
    /// Index into [`Org::workspaces`].
    pub workspace: usize,
    /// e.g. `atlassian/user`, `atlassian/admin` (billable), `atlassian/guest`,
    /// `atlassian/customer`, `atlassian/basic` (not billable).
    pub role_id: Cow<'static, str>,
}

/// Role ids that consume a paid seat.
pub const BILLABLE_ROLES: [&str; 2] = ["atlassian/user", "atlassian/admin"];

/// Composite user status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Suspended,
    NotInvited,
    Deactivated,
    ForDeletion,
}

impl UserStatus {
    pub const ALL: [UserStatus; 5] = [
        UserStatus::Active,
        UserStatus::Suspended,
        UserStatus::NotInvited,
        UserStatus::Deactivated,
        UserStatus::ForDeletion,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::NotInvited => "not_invited",
            UserStatus::Deactivated => "deactivated",
            UserStatus::ForDeletion => "for_deletion",
        }
    }
}

/// `accountStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Inactive,
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Inactive => "inactive",
            AccountStatus::Closed => "closed",
        }
    }
}

/// `membershipStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Active,
    Suspended,
    NoMembership,
}

impl MembershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Active => "active",
            MembershipStatus::Suspended => "suspended",
            MembershipStatus::NoMembership => "no_membership",
        }
    }
}

/// `claimStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    Managed,
    Unmanaged,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Managed => "managed",
            ClaimStatus::Unmanaged => "unmanaged",
        }
    }
}

/// `managementSource` (null is `None` on the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagementSource {
    Invited,
    Synced,
}

impl ManagementSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagementSource::Invited => "invited",
            ManagementSource::Synced => "synced",
        }
    }
}

/// Rendering quirks of one user (how the real API varies field presence).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UserQuirks {
    /// Missing optional fields are rendered as explicit `null` (else omitted).
    pub missing_as_null: bool,
    /// With `expand=productAccess` and no activity, leave `productAccess` out
    /// entirely instead of `[]`.
    pub omit_empty_product_access: bool,
    /// v1 last-active-dates leaves out `last_active_timestamp` (date only).
    pub omit_v1_timestamp: bool,
}

/// A directory user. Field names follow the v2 API in snake_case; see
/// [`crate::render`] for the wire shape.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub account_id: String,
    /// `atlassian` for every generated user.
    pub account_type: Cow<'static, str>,
    pub status: UserStatus,
    pub account_status: AccountStatus,
    pub membership_status: MembershipStatus,
    pub added_to_org: Option<DateTime<Utc>>,
    pub name: String,
    pub nickname: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub claim_status: ClaimStatus,
    pub management_source: Option<ManagementSource>,
    pub mfa_enabled: Option<bool>,
    pub job_title: Option<Cow<'static, str>>,
    pub department: Option<Cow<'static, str>>,
    pub organization: Option<Cow<'static, str>>,
    pub location: Option<Cow<'static, str>>,
    pub time_zone: Option<Cow<'static, str>>,
    pub deactivated_on: Option<DateTime<Utc>>,
    pub for_deletion: bool,
    /// e.g. `atlassian/org-admin` (only rendered with `expand=platformRoles`).
    pub platform_roles: Vec<Cow<'static, str>>,
    /// Indexes into [`Org::groups`].
    pub groups: Vec<usize>,
    /// Last activity per workspace (empty = never active).
    pub product_access: Vec<ProductAccess>,
    /// Roles per workspace; not rendered, only affects `resourceIds`/`roleIds` filters.
    pub site_roles: Vec<SiteRole>,
    pub quirks: UserQuirks,
}

impl User {
    /// Distinct workspaces the user has a role or activity on (`counts.resources`).
    pub fn resource_count(&self) -> usize {
        let mut seen: Vec<usize> = self
            .site_roles
            .iter()
            .map(|r| r.workspace)
            .chain(self.product_access.iter().map(|p| p.workspace))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Whether the user holds a role or has activity on workspace `ws`.
    pub fn touches_workspace(&self, ws: usize) -> bool {
        self.site_roles.iter().any(|r| r.workspace == ws)
            || self.product_access.iter().any(|p| p.workspace == ws)
    }

    /// Most recent activity over all workspaces.
    pub fn last_active(&self) -> Option<DateTime<Utc>> {
        self.product_access.iter().map(|p| p.last_active).max()
    }

    /// A managed account (on the org's verified domains): the users `GET /v1/orgs/{orgId}/users` lists.
    pub fn is_managed(&self) -> bool {
        self.claim_status == ClaimStatus::Managed
    }

    /// v1 `access_billable`: the user is [`UserStatus::Active`] and holds a seat-consuming role
    /// ([`BILLABLE_ROLES`]) on some workspace. Atlassian bills no suspended, deactivated,
    /// to-be-deleted or not-invited user, whatever roles they still hold.
    pub fn access_billable(&self) -> bool {
        self.status == UserStatus::Active && self.site_roles.iter().any(|r| BILLABLE_ROLES.contains(&r.role_id.as_ref()))
    }
}
