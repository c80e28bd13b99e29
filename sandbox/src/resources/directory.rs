//! The v2 directory: `POST .../directories/{directoryId}/users/search` (bare
//! cursors in `links`), `GET .../users/count` (the same filters as query
//! parameters) and `GET /v2/orgs/{orgId}/directories`; a key needs
//! `read:directories:admin` for each.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::on;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::filter::FilterParams;
use crate::cursor::UsersCursor;
use crate::model::Org;
use crate::render::{Expand, UserView};
use crate::routes::{Resource, Route, Scope};
use crate::server::extract::{ApiJson, ApiPath, ApiQuery, CursorArg, OneOrMany, Rejects};
use crate::server::paging::{body_cursor, BeyondMax, Cursors, Page, PageSize, Style};
use crate::server::{ok_json, AppState, Reply, Shared};
use crate::ProductAccessMode;

pub(crate) const SCOPE: Scope = Scope::new("read:directories:admin", "the directory");

pub(crate) const USERS_SEARCH: Resource = Resource::routes(&[Route::post(
    "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search",
    "users_search",
    |m| on(m, users_search),
)
.scope(SCOPE)]);

pub(crate) const USERS_COUNT: Resource = Resource::routes(&[Route::get(
    "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/count",
    "users_count",
    |m| on(m, users_count),
)
.query(&USERS_COUNT_PARAMS)
.scope(SCOPE)]);

pub(crate) const DIRECTORIES: Resource = Resource::routes(&[Route::get("/admin/v2/orgs/{orgId}/directories", "directories", |m| on(m, directories))
    .query(&["cursor", "limit"])
    .scope(SCOPE)]);

/// The query parameters of `users/count`: the filter fields of the users search body.
const USERS_COUNT_PARAMS: [&str; 12] = [
    "accountIds",
    "status",
    "accountStatus",
    "membershipStatus",
    "claimStatus",
    "resourceIds",
    "roleIds",
    "groupIds",
    "emailDomains",
    "emails",
    "directoryIds",
    "searchTerm",
];

/// `GET /v2/orgs/{orgId}/directories` query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DirectoriesQuery {
    cursor: Option<String>,
    limit: Option<u64>,
}

impl Rejects for DirectoriesQuery {
    const CODE: &'static str = "ADMIN-400-24";
}

/// The users search's cursors (also the `links.self` of each user).
pub(crate) const SEARCH_CURSORS: Cursors<UsersCursor> = Cursors::new("u");

/// The users search body (every field optional).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchBody {
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
pub(crate) struct CountQuery(Vec<(String, String)>);

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

pub(crate) fn check_directory(s: &Shared, org: &Org, dir_id: &str) -> Result<(), Response> {
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

async fn users_search(
    State(s): State<AppState>,
    ApiPath((org_id, dir_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SearchBody>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    check_directory(&s, org, &dir_id)?;
    let size = PageSize { param: "limit", default: 50, max: s.cfg.search_max_limit, beyond_max: BeyondMax::Refused, code: "ADMIN-400-24" };
    let limit = size.read(&s, body.limit)?;
    let expand = parse_expand(&s, body.expand)?;
    let filter = body.filter.compile(org).map_err(|d| s.bad_request("ADMIN-400-4", &d))?;
    let given = body_cursor(&s, body.cursor)?;
    let start = st.cursor_position(&s, &SEARCH_CURSORS, given.as_deref())?;
    let page = st.page(start, limit, |u| filter.matches(u));
    let link = |i: usize| st.cursor_at(&s, &SEARCH_CURSORS, &org.users[i]);
    let this = given.or_else(|| page.items.first().map(|i| link(*i)));
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
    Style::BareCursor.reply(Page::of(data).this(this).prev(page.prev.map(link)).next(page.next.map(link)))
}

async fn users_count(
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

/// `GET /v2/orgs/{orgId}/directories`: the org's one directory (never a second page, so no
/// cursor is ever valid).
async fn directories(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<DirectoriesQuery>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    if q.cursor.is_some_and(|c| !c.is_empty()) {
        return Err(s.invalid_cursor());
    }
    PageSize { param: "limit", default: 100, max: 100, beyond_max: BeyondMax::Refused, code: "ADMIN-400-24" }.read(&s, q.limit)?;
    Style::BareCursor.reply(Page::of([json!({"directoryId": org.directory_id, "name": org.directory_name, "icon": null})]))
}
