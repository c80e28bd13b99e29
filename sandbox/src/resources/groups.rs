//! The v2 groups: `POST .../directories/{directoryId}/groups/search` (bare cursors in
//! `links`, 20 a page by default, `expand: ["counts.users", "counts.resources"]`) and
//! `GET .../groups/{groupId}/role-assignments` (the roles a group grants, per site).
//! Groups are served in id order, so a cursor (the next group's id) stays valid when groups
//! are added or removed between pages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::on;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::directory::check_directory;
use crate::model::BILLABLE_ROLES;
use crate::routes::{Resource, Route, Scope};
use crate::server::extract::{ApiJson, ApiPath, ApiQuery, CursorArg, OneOrMany, Rejects};
use crate::server::paging::{body_cursor, window, BeyondMax, Cursors, Page, PageSize, Style};
use crate::server::{AppState, Reply};

pub(crate) const SCOPE: Scope = Scope::new("read:groups:admin", "groups");

pub(crate) const SEARCH: Resource = Resource::routes(&[Route::post(
    "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search",
    "groups_search",
    |m| on(m, search),
)
.scope(SCOPE)]);

pub(crate) const ROLE_ASSIGNMENTS: Resource = Resource::routes(&[Route::get(
    "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments",
    "group_role_assignments",
    |m| on(m, role_assignments),
)
.query(&["cursor", "limit"])
.scope(SCOPE)]);

/// A page of either list: 20 by default, 100 at most.
const PAGE_SIZE: PageSize = PageSize { param: "limit", default: 20, max: 100, beyond_max: BeyondMax::Refused, code: "ADMIN-400-24" };

const GROUPS_CURSORS: Cursors<GroupsCursor> = Cursors::new("g");
const ROLES_CURSORS: Cursors<RolesCursor> = Cursors::new("r");

/// `groups/search` body (every field optional; the filters are not modelled).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GroupsBody {
    cursor: Option<CursorArg>,
    limit: Option<u64>,
    expand: Option<OneOrMany<String>>,
}

impl Rejects for GroupsBody {
    const CODE: &'static str = "ADMIN-400-24";
}

/// `role-assignments` query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RolesQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

impl Rejects for RolesQuery {
    const CODE: &'static str = "ADMIN-400-24";
}

/// A groups cursor: the id of the first group of the page.
#[derive(Debug, Serialize, Deserialize)]
struct GroupsCursor {
    g: String,
}

/// A role-assignments cursor: the group and the offset of the page.
#[derive(Debug, Serialize, Deserialize)]
struct RolesCursor {
    g: String,
    o: usize,
}

async fn search(State(s): State<AppState>, ApiPath((org_id, dir_id)): ApiPath<(String, String)>, ApiJson(body): ApiJson<GroupsBody>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    check_directory(&s, org, &dir_id)?;
    let limit = PAGE_SIZE.read(&s, body.limit)?;
    let (mut users, mut resources) = (false, false);
    for e in body.expand.map(OneOrMany::into_vec).unwrap_or_default() {
        match e.as_str() {
            "counts.users" => users = true,
            "counts.resources" => resources = true,
            other => return Err(s.bad_request("ADMIN-400-24", &format!("Invalid expand value '{other}'"))),
        }
    }
    let mut order: Vec<usize> = (0..org.groups.len()).collect();
    order.sort_by(|a, b| org.groups[*a].id.cmp(&org.groups[*b].id));
    let given = body_cursor(&s, body.cursor)?;
    let start = GROUPS_CURSORS.read(&s, given.as_deref())?.map_or(0, |at| order.partition_point(|&g| org.groups[g].id < at.g));
    let page = window(order.len(), start, limit);
    let data: Vec<Value> = order[page.start..page.end]
        .iter()
        .map(|&g| {
            let group = &org.groups[g];
            let mut v = json!({
                "id": group.id,
                "name": group.name,
                "description": group.description,
                "directoryId": org.directory_id,
                "managementAccess": {"deletable": !group.external_synced, "modifiable": !group.external_synced, "readable": true},
                "externalSynced": group.external_synced,
                "managedBy": group.managed_by,
                "links": {"self": format!("{}/admin/v2/orgs/{}/directories/{}/groups/{}", s.cfg.base_url, org.id, org.directory_id, group.id)},
            });
            let mut counts = Map::new();
            if users {
                counts.insert("users".into(), json!(org.group_members(g)));
            }
            if resources {
                counts.insert("resources".into(), json!(org.group_resources(g)));
            }
            if !counts.is_empty() {
                v["counts"] = Value::Object(counts);
            }
            v
        })
        .collect();
    let next = page.next.map(|at| GROUPS_CURSORS.write(&s, &GroupsCursor { g: org.groups[order[at]].id.clone() }));
    Style::BareCursor.reply(Page::of(data).next(next))
}

async fn role_assignments(
    State(s): State<AppState>,
    ApiPath((org_id, dir_id, group_id)): ApiPath<(String, String, String)>,
    ApiQuery(query): ApiQuery<RolesQuery>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    check_directory(&s, org, &dir_id)?;
    let Some(group) = org.groups.iter().find(|g| g.id == group_id) else {
        return Err(s.error(StatusCode::NOT_FOUND, "ADMIN-404-1", "Not Found", "Group not found"));
    };
    let limit = PAGE_SIZE.read(&s, query.limit.map(|l| l as u64))?;
    let start = ROLES_CURSORS.read_if(&s, query.cursor.as_deref(), |at| at.g == group.id)?.map_or(0, |at| at.o);
    // One assignment per site, its roles in the order granted; the default role is the
    // billable one when there is one.
    let mut sites: Vec<(usize, Vec<&str>)> = Vec::new();
    for grant in group.grants.iter().filter(|r| r.workspace < org.workspaces.len()) {
        match sites.iter_mut().find(|(w, _)| *w == grant.workspace) {
            Some((_, roles)) => roles.push(&grant.role_id),
            None => sites.push((grant.workspace, vec![&grant.role_id])),
        }
    }
    let page = window(sites.len(), start, limit);
    let data: Vec<Value> = sites[page.start..page.end]
        .iter()
        .map(|(w, roles)| {
            let ws = &org.workspaces[*w];
            let default_role = roles.iter().find(|r| BILLABLE_ROLES.contains(r)).copied();
            json!({"resourceId": ws.id, "resourceOwner": ws.product_type, "defaultRole": default_role, "roles": roles})
        })
        .collect();
    let next = page.next.map(|o| ROLES_CURSORS.write(&s, &RolesCursor { g: group.id.clone(), o }));
    Style::BareCursor.reply(Page::of(data).next(next))
}
