//! `GET /v1/orgs/{orgId}/users`: the org's managed accounts (official schema
//! `UserPage`), 50 a page in the users order, `links` as full URLs whose `cursor`
//! parameter is an opaque cursor of this endpoint's own kind.

use axum::extract::State;
use axum::routing::on;
use serde_json::json;

use crate::cursor::UsersCursor;
use crate::model::User;
use crate::render::ManagedUserView;
use crate::routes::{Resource, Route, Scope};
use crate::server::extract::{ApiPath, ApiQuery, CursorQuery};
use crate::server::paging::{Cursors, Page, Style};
use crate::server::{AppState, Reply};

pub(crate) const LIST: Resource = Resource::routes(&[Route::get("/admin/v1/orgs/{orgId}/users", "managed_users", |m| on(m, list))
    .query(&["cursor"])
    .scope(Scope::new("read:accounts:admin", "the organization's managed accounts"))]);

/// Users per page (fixed by the API).
pub(crate) const MANAGED_PAGE_SIZE: usize = 50;

/// This endpoint's own kind of cursor (a v2 search cursor is not accepted here, nor the reverse).
const CURSORS: Cursors<UsersCursor> = Cursors::new("m");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let start = st.cursor_position(&s, &CURSORS, q.given())?;
    let page = st.page(start, MANAGED_PAGE_SIZE, User::is_managed);
    let url = format!("{}/admin/v1/orgs/{}/users", s.cfg.base_url, org.id);
    let at = |i: Option<usize>| i.map(|i| st.cursor_at(&s, &CURSORS, &org.users[i]));
    let data: Vec<ManagedUserView> = page.items.iter().map(|&i| ManagedUserView { org, user: &org.users[i] }).collect();
    Style::UrlCursor { url: &url }.reply(
        Page::of(data)
            .this(q.given().map(str::to_owned))
            .prev(at(page.prev))
            .next(at(page.next))
            .meta(json!({"total": s.cfg.estimate(st.managed_total)})),
    )
}
