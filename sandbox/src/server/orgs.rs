//! `GET /v1/orgs` (the organizations the key can list) and `GET /v1/orgs/{orgId}`.
//!
//! The list is the real org alone by default, empty with `orgs_list_empty` (a key
//! created with scopes), or the real org among `extra_orgs` others that the key cannot
//! read, paged with `links.next` URLs.

use axum::extract::State;
use serde_json::{json, Map, Value};

use super::extract::{cursor_url, ApiPath, ApiQuery, CursorQuery};
use super::{ok_json, AppState, Reply};
use crate::cursor::OrgsCursor;
use crate::model::Org;
use crate::render;
use crate::rng::{mix64, uuid_from};

/// Organizations per page of the list.
pub(crate) const ORGS_PAGE_SIZE: usize = 20;

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

pub(super) async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    let offset = match q.given() {
        None => 0,
        Some(c) => s.codec.decode::<OrgsCursor>(c, "o").ok_or_else(|| s.invalid_cursor())?.o,
    };
    let st = s.read();
    let base = format!("{}/admin/v1/orgs", s.cfg.base_url);
    let total = if s.cfg.orgs_list_empty { 0 } else { 1 + s.cfg.extra_orgs };
    let start = offset.min(total);
    let end = (start + ORGS_PAGE_SIZE).min(total);
    let data: Vec<Value> = (start..end).map(|pos| listed_org(&st.org, s.cfg.seed, total, pos, &s.cfg.base_url)).collect();
    let url = |o: usize| cursor_url(&base, Some(&s.codec.encode(&OrgsCursor { t: "o".into(), o })));
    let mut links = Map::new();
    links.insert("self".into(), json!(q.page_url(&base)));
    if start > 0 {
        links.insert("prev".into(), json!(url(start.saturating_sub(ORGS_PAGE_SIZE))));
    }
    // No `next` on the last page: the official `LinkPageModel` types it as a string, not null.
    if end < total {
        links.insert("next".into(), json!(url(end)));
    }
    ok_json(&json!({"data": data, "links": links}))
}

pub(super) async fn get_one(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    ok_json(&json!({"data": render::org_entry(&st.org.id, &st.org.name, &s.cfg.base_url)}))
}
