//! `groups`: one record per group of the directory, from the v2 groups search, with the roles
//! it grants per site (its role assignments) joined to the workspaces: through which group a
//! member holds a seat. Incremental by change detection per group id
//! ([`crate::incremental::GroupsTracker`]).

use super::license_assignments::BILLABLE_ROLES;
use super::workspaces::WorkspaceIndex;
use super::{StreamId, StreamInfo};
use crate::client::models::{ApiRoleAssignment, GroupEntry};
use crate::client::Endpoint;
use crate::json::json_record;

pub const INFO: StreamInfo = StreamInfo {
    id: StreamId::Groups,
    name: "groups",
    schema: include_str!("../../schemas/groups.json"),
    primary_key: &["id"],
    cursor_field: Some("observed_at"),
    summary: "the directory's groups and the roles each grants its members per site",
    reads: &[Endpoint::GroupsSearch, Endpoint::GroupRoleAssignments, Endpoint::Workspaces],
};

json_record! {
    /// A group as the `groups` stream writes it, or (with `deleted_at` set) its removal.
    #[derive(Debug)]
    pub struct GroupRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub name: Option<&'a str>,
        pub description: Option<&'a str>,
        pub directory_id: Option<&'a str>,
        pub managed_by: Option<&'a str>,
        pub external_synced: Option<bool>,
        pub user_count: Option<i64>,
        pub resource_count: Option<i64>,
        pub role_assignments: Option<&'a [RoleRecord<'a>]>,
        /// The workspaces it grants a billable role on: what SQL joins seats to, without
        /// reading `role_assignments`' objects.
        pub billable_workspace_ids: Option<&'a [&'a str]>,
    }
    observed
}

json_record! {
    /// The roles a group grants on one site.
    #[derive(Debug)]
    pub struct RoleRecord<'a> {
        pub resource_id: Option<&'a str>,
        pub workspace_id: Option<&'a str>,
        pub workspace_name: Option<&'a str>,
        pub roles: &'a [String],
        pub default_role: Option<&'a str>,
        pub billable: bool,
    }
}

/// A group's role assignments as records, joined to the workspaces by the site's id.
pub fn role_records<'a>(roles: &'a [ApiRoleAssignment], sites: &'a WorkspaceIndex) -> Vec<RoleRecord<'a>> {
    roles
        .iter()
        .map(|r| {
            let site = r.resource_id.as_deref().and_then(|id| sites.lookup(id));
            RoleRecord {
                resource_id: r.resource_id.as_deref(),
                workspace_id: site.map(|s| s.workspace_id.as_str()),
                workspace_name: site.and_then(|s| s.name.as_deref()),
                roles: &r.roles,
                default_role: r.default_role.as_deref(),
                billable: r.roles.iter().any(|role| BILLABLE_ROLES.contains(&role.as_str())),
            }
        })
        .collect()
}

/// The workspaces among `roles` on which a billable role is granted, each once, in order.
pub fn billable_workspaces<'a>(roles: &[RoleRecord<'a>]) -> Vec<&'a str> {
    let mut ids: Vec<&'a str> = Vec::new();
    for id in roles.iter().filter(|r| r.billable).filter_map(|r| r.workspace_id) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The record of one group (without `observed_at`: the read stamps it).
pub fn record<'a>(org_id: &'a str, entry: &'a GroupEntry, roles: &'a [RoleRecord<'a>], billable: &'a [&'a str]) -> GroupRecord<'a> {
    let g = &entry.group;
    let counts = g.counts.as_ref();
    GroupRecord {
        org_id,
        id: &g.id,
        name: g.name.as_deref(),
        description: g.description.as_deref(),
        directory_id: g.directory_id.as_deref(),
        managed_by: g.managed_by.as_deref(),
        external_synced: g.external_synced,
        user_count: counts.and_then(|c| c.users).filter(|n| *n >= 0),
        resource_count: counts.and_then(|c| c.resources).filter(|n| *n >= 0),
        role_assignments: Some(roles),
        billable_workspace_ids: Some(billable),
        observed_at: None,
        deleted_at: None,
    }
}

/// The record of a group that is gone.
pub fn deletion<'a>(org_id: &'a str, id: &'a str, now: &'a str) -> GroupRecord<'a> {
    GroupRecord {
        org_id,
        id,
        name: None,
        description: None,
        directory_id: None,
        managed_by: None,
        external_synced: None,
        user_count: None,
        resource_count: None,
        role_assignments: None,
        billable_workspace_ids: None,
        observed_at: Some(now),
        deleted_at: Some(now),
    }
}
