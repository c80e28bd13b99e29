//! The v2 directory: `POST .../directories/{directoryId}/users/search` (bare
//! cursors in `links`) and `GET .../users/count` (the same filters as query
//! parameters).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::extract::{ApiJson, ApiPath, ApiQuery, CursorArg, OneOrMany, Rejects};
use super::filter::FilterParams;
use super::{ok_json, AppState, Reply, Shared};
use crate::model::Org;
use crate::render::{Expand, UserView};
use crate::ProductAccessMode;

/// `GET /v2/orgs/{orgId}/directories` query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DirectoriesQuery {
    cursor: Option<String>,
    limit: Option<u64>,
}

impl Rejects for DirectoriesQuery {
    const CODE: &'static str = "ADMIN-400-24";
}

/// Cursor kind of the users search.
pub(super) const SEARCH_CURSOR: &str = "u";

/// The users search body (every field optional).
#[derive(Debug, Default, Deserialize)]
pub(super) struct SearchBody {
    cursor: Option<CursorArg>,
    limit: Option<u64>,
    expand: Option<OneOrMany<String>>,
    #[serde(flatten)]
    filter: FilterParams,
}

impl Rejects for SearchBody {
    const CODE: &'static str = "ADMIN-400-24";
}

/// The users count query, as `(name, value)` pairs: names may repeat and values may be
/// comma lists, so it is read as pairs and then typed as [`FilterParams`].
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(super) struct CountQuery(Vec<(String, String)>);

impl Rejects for CountQuery {
    const CODE: &'static str = "ADMIN-400-24";
}

impl CountQuery {
    fn into_filter(self) -> Result<FilterParams, String> {
        let mut obj = Map::new();
        for (k, v) in self.0 {
            if k == "searchTerm" {
                obj.insert(k, json!(v));
            } else if let Value::Array(a) = obj.entry(k).or_insert_with(|| json!([])) {
                a.extend(v.split(',').filter(|x| !x.is_empty()).map(|x| json!(x)));
            }
        }
        serde_path_to_error::deserialize(Value::Object(obj)).map_err(|e| format!("Invalid parameter '{}': {}", e.path(), e.inner()))
    }
}

pub(super) fn check_directory(s: &Shared, org: &Org, dir_id: &str) -> Result<(), Response> {
    if dir_id == "-" || dir_id == org.directory_id {
        Ok(())
    } else {
        Err(s.error(StatusCode::NOT_FOUND, "ADMIN-404-1", "Not Found", "Directory not found"))
    }
}

fn parse_expand(s: &Shared, list: Option<OneOrMany<String>>) -> Result<Expand, Response> {
    let mut expand = Expand::default();
    for e in list.map(OneOrMany::into_vec).unwrap_or_default() {
        match e.as_str() {
            "platformRoles" => expand.platform_roles = true,
            "counts.resources" => expand.counts_resources = true,
            "groups" => expand.groups = true,
            "productAccess" => {
                if s.cfg.product_access_mode == ProductAccessMode::Rejected {
                    return Err(s.bad_request("ADMIN-400-4", "Invalid resource: expand value 'productAccess' is not supported"));
                }
                expand.product_access = true;
            }
            other => return Err(s.bad_request("ADMIN-400-24", &format!("Invalid expand value '{other}'"))),
        }
    }
    Ok(expand)
}

pub(super) async fn users_search(
    State(s): State<AppState>,
    ApiPath((org_id, dir_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SearchBody>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    check_directory(&s, org, &dir_id)?;
    let max = s.cfg.search_max_limit;
    let limit = match body.limit {
        None => 50,
        Some(n) if n >= 1 && n <= max as u64 => n as usize,
        Some(_) => return Err(s.bad_request("ADMIN-400-24", &format!("'limit' must be an integer between 1 and {max}"))),
    };
    let expand = parse_expand(&s, body.expand)?;
    let filter = body.filter.compile(org).map_err(|d| s.bad_request("ADMIN-400-4", &d))?;
    let (start, req_cursor) = match body.cursor {
        None => (0, None),
        Some(CursorArg::Text(c)) if c.is_empty() => (0, None),
        Some(CursorArg::Text(c)) => match st.cursor_position(&s.codec, SEARCH_CURSOR, &c) {
            Some(p) => (p, Some(c)),
            None => return Err(s.invalid_cursor()),
        },
        Some(CursorArg::NotText(_)) => return Err(s.invalid_cursor()),
    };
    let page = st.page(start, limit, |u| filter.matches(u));
    let link = |i: usize| st.cursor_at(&s.codec, SEARCH_CURSOR, &org.users[i]);
    let mut links = Map::new();
    if let Some(c) = req_cursor.or_else(|| page.items.first().map(|i| link(*i))) {
        links.insert("self".into(), json!(c));
    }
    if let Some(p) = page.prev {
        links.insert("prev".into(), json!(link(p)));
    }
    if let Some(n) = page.next {
        links.insert("next".into(), json!(link(n)));
    }
    let data: Vec<UserView> = page
        .items
        .iter()
        .map(|&i| UserView {
            org,
            user: &org.users[i],
            expand,
            product_access_mode: s.cfg.product_access_mode,
            self_link: link(i),
            truth: false,
            negative_estimates: s.cfg.negative_estimates,
        })
        .collect();
    ok_json(&json!({"data": data, "links": links}))
}

pub(super) async fn users_count(
    State(s): State<AppState>,
    ApiPath((org_id, dir_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<CountQuery>,
) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    check_directory(&s, &st.org, &dir_id)?;
    let params = q.into_filter().map_err(|d| s.bad_request("ADMIN-400-24", &d))?;
    let filter = params.compile(&st.org).map_err(|d| s.bad_request("ADMIN-400-4", &d))?;
    let n = st.org.users.iter().filter(|u| filter.matches(u)).count();
    ok_json(&json!({"count": n}))
}

/// `GET /v2/orgs/{orgId}/directories`: the org's one directory (never a second page).
pub(super) async fn directories(
    State(s): State<AppState>,
    ApiPath(org_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DirectoriesQuery>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    if q.cursor.is_some_and(|c| !c.is_empty()) {
        return Err(s.invalid_cursor());
    }
    if q.limit.is_some_and(|l| !(1..=100).contains(&l)) {
        return Err(s.bad_request("ADMIN-400-24", "'limit' must be an integer between 1 and 100"));
    }
    ok_json(&json!({
        "data": [{"directoryId": org.directory_id, "name": org.directory_name, "icon": null}],
        "links": {},
    }))
}
