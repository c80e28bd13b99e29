//! The v2 groups: `POST .../directories/{directoryId}/groups/search` (bare cursors in
//! `links`, 20 a page by default, `expand: ["counts.users", "counts.resources"]`) and
//! `GET .../groups/{groupId}/role-assignments` (the roles a group grants, per site).
//! Groups are served in id order, so a cursor (the next group's id) stays valid when groups
//! are added or removed between pages.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::directory::check_directory;
use super::extract::{ApiJson, ApiPath, ApiQuery, CursorArg, OneOrMany, Rejects};
use super::{ok_json, AppState, Reply};
use crate::model::BILLABLE_ROLES;

/// A group search page asked for by default, and the largest one served.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// `groups/search` body (every field optional; the filters are not modelled).
#[derive(Debug, Default, Deserialize)]
pub(super) struct GroupsBody {
    cursor: Option<CursorArg>,
    limit: Option<u64>,
    expand: Option<OneOrMany<String>>,
}

impl Rejects for GroupsBody {
    const CODE: &'static str = "ADMIN-400-24";
}

/// `role-assignments` query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RolesQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

impl Rejects for RolesQuery {
    const CODE: &'static str = "ADMIN-400-24";
}

/// A groups cursor: the id of the first group of the page.
#[derive(Debug, Serialize, Deserialize)]
struct GroupsCursor {
    t: String,
    g: String,
}

/// A role-assignments cursor: the group and the offset of the page.
#[derive(Debug, Serialize, Deserialize)]
struct RolesCursor {
    t: String,
    g: String,
    o: usize,
}

fn limit_of(s: &super::Shared, asked: Option<u64>) -> Result<usize, axum::response::Response> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(s.bad_request("ADMIN-400-24", &format!("'limit' must be an integer between 1 and {MAX_LIMIT}"))),
    }
}

pub(super) async fn search(State(s): State<AppState>, ApiPath((org_id, dir_id)): ApiPath<(String, String)>, ApiJson(body): ApiJson<GroupsBody>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    check_directory(&s, org, &dir_id)?;
    let limit = limit_of(&s, body.limit)?;
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
    let start = match body.cursor {
        None => 0,
        Some(CursorArg::Text(c)) if c.is_empty() => 0,
        Some(CursorArg::Text(c)) => match s.codec.decode::<GroupsCursor>(&c, "g") {
            Some(at) => order.partition_point(|&g| org.groups[g].id < at.g),
            None => return Err(s.invalid_cursor()),
        },
        Some(CursorArg::NotText(_)) => return Err(s.invalid_cursor()),
    };
    let page = &order[start..(start + limit).min(order.len())];
    let data: Vec<Value> = page
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
    let mut links = Map::new();
    if let Some(&next) = order.get(start + limit) {
        links.insert("next".into(), json!(s.codec.encode(&GroupsCursor { t: "g".into(), g: org.groups[next].id.clone() })));
    }
    ok_json(&json!({"data": data, "links": links}))
}

pub(super) async fn role_assignments(
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
    let limit = limit_of(&s, query.limit.map(|l| l as u64))?;
    let start = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => match s.codec.decode::<RolesCursor>(c, "r") {
            Some(at) if at.g == group.id => at.o,
            _ => return Err(s.invalid_cursor()),
        },
    };
    // One assignment per site, its roles in the order granted; the default role is the
    // billable one when there is one.
    let mut sites: Vec<(usize, Vec<&str>)> = Vec::new();
    for grant in group.grants.iter().filter(|r| r.workspace < org.workspaces.len()) {
        match sites.iter_mut().find(|(w, _)| *w == grant.workspace) {
            Some((_, roles)) => roles.push(&grant.role_id),
            None => sites.push((grant.workspace, vec![&grant.role_id])),
        }
    }
    let page: Vec<Value> = sites
        .iter()
        .skip(start)
        .take(limit)
        .map(|(w, roles)| {
            let ws = &org.workspaces[*w];
            let default_role = roles.iter().find(|r| BILLABLE_ROLES.contains(r)).copied();
            json!({"resourceId": ws.id, "resourceOwner": ws.product_type, "defaultRole": default_role, "roles": roles})
        })
        .collect();
    let mut links = Map::new();
    if start + limit < sites.len() {
        links.insert("next".into(), json!(s.codec.encode(&RolesCursor { t: "r".into(), g: group.id.clone(), o: start + limit })));
    }
    ok_json(&json!({"data": page, "links": links}))
}
