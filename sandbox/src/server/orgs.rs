//! `GET /v1/orgs` (the organizations the key can list) and `GET /v1/orgs/{orgId}`.

use axum::extract::State;
use serde_json::json;

use super::extract::{ApiPath, ApiQuery, CursorQuery};
use super::{ok_json, AppState, Reply};
use crate::render;

pub(super) async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    if q.given().is_some() {
        // This sandbox never issues org-list cursors (one page only).
        return Err(s.invalid_cursor());
    }
    let st = s.read();
    // List items carry `relationships` too: the official `OrgModel` requires it.
    let data = if s.cfg.orgs_list_empty { vec![] } else { vec![render::org_json(&st.org, &s.cfg.base_url, true)] };
    // No `next` on the last page: the official `LinkPageModel` types it as a string, not null.
    ok_json(&json!({"data": data, "links": {"self": format!("{}/admin/v1/orgs", s.cfg.base_url)}}))
}

pub(super) async fn get_one(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    ok_json(&json!({"data": render::org_json(&st.org, &s.cfg.base_url, true)}))
}
