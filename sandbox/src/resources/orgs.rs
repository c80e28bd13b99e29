//! `GET /v1/orgs` (the organizations the key can list) and `GET /v1/orgs/{orgId}`.
//!
//! The list is the real org alone by default, empty with `orgs_list_empty` (a key
//! created with scopes), or the real org among `extra_orgs` others that the key cannot
//! read, paged with `links.next` URLs.

use axum::extract::State;
use axum::routing::on;
use serde_json::{json, Value};

use crate::cursor::OrgsCursor;
use crate::model::Org;
use crate::render;
use crate::rng::{mix64, uuid_from};
use crate::routes::{Resource, Route, Scope};
use crate::server::extract::{ApiPath, ApiQuery, CursorQuery};
use crate::server::paging::{window, Cursors, Page, Style};
use crate::server::{ok_json, AppState, Reply};

const SCOPE: Scope = Scope::new("read:orgs:admin", "organizations");

pub(crate) const ORGS: Resource =
    Resource::routes(&[Route::get("/admin/v1/orgs", "orgs", |m| on(m, list)).query(&["cursor"]).scope(SCOPE)]);
pub(crate) const ORG: Resource = Resource::routes(&[Route::get("/admin/v1/orgs/{orgId}", "org", |m| on(m, get_one)).scope(SCOPE)]);

/// Organizations per page of the list.
pub(crate) const ORGS_PAGE_SIZE: usize = 20;

const CURSORS: Cursors<OrgsCursor> = Cursors::new("o");

/// The listed organization at `pos` of `total`: the real one at a seed-chosen position
/// (not always first), made-up others around it.
fn listed_org(org: &Org, seed: u64, total: usize, pos: usize, base_url: &str) -> Value {
    let real = (mix64(seed ^ 0x0a9) % total as u64) as usize;
    if pos == real {
        return render::org_entry(&org.id, &org.name, base_url);
    }
    let k = pos as u64;
    let id = uuid_from(mix64(seed ^ 0x07e5 ^ (k << 20)), mix64(seed ^ 0x17e5 ^ (k << 21)));
    render::org_entry(&id, &format!("Affiliate Organization {:03}", pos + 1), base_url)
}

async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    let offset = CURSORS.read(&s, q.given())?.map_or(0, |at| at.o);
    let st = s.read();
    let url = format!("{}/admin/v1/orgs", s.cfg.base_url);
    let total = if s.cfg.orgs_list_empty { 0 } else { 1 + s.cfg.extra_orgs };
    let page = window(total, offset, ORGS_PAGE_SIZE);
    let data: Vec<Value> = (page.start..page.end).map(|pos| listed_org(&st.org, s.cfg.seed, total, pos, &s.cfg.base_url)).collect();
    let at = |o: Option<usize>| o.map(|o| CURSORS.write(&s, &OrgsCursor { o }));
    // No `next` on the last page: the official `LinkPageModel` types it as a string, not null.
    Style::UrlCursor { url: &url }.reply(Page::of(data).this(q.given().map(str::to_owned)).prev(at(page.prev)).next(at(page.next)))
}

async fn get_one(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    ok_json(&json!({"data": render::org_entry(&st.org.id, &st.org.name, &s.cfg.base_url)}))
}
