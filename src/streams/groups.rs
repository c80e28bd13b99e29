//! `groups`: one record per group of the directory, from the v2 groups search, with the roles
//! it grants per site (its role assignments) joined to the workspaces: through which group a
//! member holds a seat. Incremental by change detection per group id
//! ([`crate::incremental::GroupsTracker`]).

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;

use super::license_assignments::BILLABLE_ROLES;
use crate::read::sites::WorkspaceIndex;
use super::{Stream, StreamInfo};
use crate::client::endpoint::{EndpointSpec, PageStyle};
use crate::client::endpoints::WORKSPACES;
use crate::client::models::{ApiDirectoryGroup, ApiRoleAssignment, GroupEntry, Page};
use crate::client::pagination::{spawn_chain, PageResult, Request};
use crate::client::{AtlassianClient, Endpoint};
use crate::incremental::by_id::KeyedById;
use crate::json::{json_record, Observed, Unstamped};
use crate::read::driver::Context;
use crate::read::paged::PlainStream;

pub const GROUPS_SEARCH: Endpoint =
    Endpoint::new(&EndpointSpec::post("/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search", "read:groups:admin").pages(PageStyle::BodyCursor));
/// The roles one group grants, per site.
pub const ROLE_ASSIGNMENTS: Endpoint = Endpoint::new(
    &EndpointSpec::get("/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments", "read:groups:admin").pages(PageStyle::QueryCursor),
);
/// Groups asked for a page: the API's default, which the search's maximum may not exceed.
const PAGE_LIMIT: u32 = 20;

pub struct Groups;

impl Stream for Groups {
    const INFO: StreamInfo = StreamInfo {
        name: "groups",
        schema: include_str!("../../schemas/groups.json"),
        primary_key: &["id"],
        cursor_field: Some("observed_at"),
        summary: "the directory's groups and the roles each grants its members per site",
        reads: &[GROUPS_SEARCH, ROLE_ASSIGNMENTS, WORKSPACES],
        optional: Some("it needs the scope read:groups:admin"),
        needs_sites: true,
    };
}

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

/// Change detection keeps a fingerprint per group in the state's `groups`.
impl KeyedById for Groups {
    const FIELD: &'static str = "groups";
}

impl PlainStream for Groups {
    const LIST: Endpoint = GROUPS_SEARCH;
    type Item = GroupEntry;
    type Deletion<'a> = GroupRecord<'a>;

    /// The groups with their user and resource counts.
    fn request() -> Request {
        Request::body(json!({"limit": PAGE_LIMIT, "expand": ["counts.users", "counts.resources"]}))
    }

    fn pages(client: Arc<AtlassianClient>, start: Option<String>, _: &Context) -> mpsc::Receiver<PageResult<GroupEntry>> {
        pages(client, start)
    }

    fn id(item: &GroupEntry) -> &str {
        &item.group.id
    }

    fn write<'b>(ctx: &Context, item: &GroupEntry, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let roles = role_records(&item.roles, &ctx.sites.index);
        let billable = billable_workspaces(&roles);
        record(ctx.org_id, item, &roles, &billable).write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> GroupRecord<'a> {
        deletion(ctx.org_id, id, now)
    }
}

/// Every group of the directory from `start` on, each with its role assignments (asked for
/// only for the groups that grant roles on some site, one group after another).
fn pages(client: Arc<AtlassianClient>, start: Option<String>) -> mpsc::Receiver<PageResult<GroupEntry>> {
    let search = Arc::new(Groups::request());
    spawn_chain(GROUPS_SEARCH, start, move |cursor| {
        let (client, search) = (client.clone(), search.clone());
        async move {
            let page: Page<ApiDirectoryGroup> = client.page(GROUPS_SEARCH, &search, cursor.as_deref()).await?;
            let mut data = Vec::with_capacity(page.data.len());
            for group in page.data {
                let roles = match group.may_grant_roles() {
                    true => client.every_page(ROLE_ASSIGNMENTS, &Request::path(vec![group.id.clone()])).await?,
                    false => Vec::new(),
                };
                data.push(GroupEntry { group, roles });
            }
            Ok(Page { data, links: page.links, meta: page.meta })
        }
    })
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
