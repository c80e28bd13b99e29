//! `GET /v1/orgs/{orgId}/users`: the org's managed accounts (official schema
//! `UserPage`), 50 a page in the users order, `links` as full URLs whose `cursor`
//! parameter is an opaque cursor of this endpoint's own kind.

use axum::extract::State;
use serde_json::{json, Map};

use super::extract::{cursor_url, ApiPath, ApiQuery, CursorQuery};
use super::{ok_json, AppState, Reply};
use crate::model::User;
use crate::render::ManagedUserView;

/// Users per page (fixed by the API).
pub(crate) const MANAGED_PAGE_SIZE: usize = 50;

/// Cursor kind of this endpoint (a v2 search cursor is not accepted here, nor the reverse).
const MANAGED_CURSOR: &str = "m";

pub(super) async fn list(
    State(s): State<AppState>,
    ApiPath(org_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let start = match q.given() {
        None => 0,
        Some(c) => st.cursor_position(&s.codec, MANAGED_CURSOR, c).ok_or_else(|| s.invalid_cursor())?,
    };
    let page = st.page(start, MANAGED_PAGE_SIZE, User::is_managed);
    let base = format!("{}/admin/v1/orgs/{}/users", s.cfg.base_url, org.id);
    let url_at = |i: usize| cursor_url(&base, Some(&st.cursor_at(&s.codec, MANAGED_CURSOR, &org.users[i])));
    let mut links = Map::new();
    links.insert("self".into(), json!(q.page_url(&base)));
    if let Some(p) = page.prev {
        links.insert("prev".into(), json!(url_at(p)));
    }
    if let Some(n) = page.next {
        links.insert("next".into(), json!(url_at(n)));
    }
    let data: Vec<ManagedUserView> = page.items.iter().map(|&i| ManagedUserView { org, user: &org.users[i] }).collect();
    ok_json(&json!({"data": data, "links": links, "meta": {"total": s.cfg.estimate(st.managed_total)}}))
}
