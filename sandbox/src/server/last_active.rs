//! `GET /v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates`: one
//! user's activity per product instance, paged with bare cursors.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::extract::{ApiPath, ApiQuery, CursorQuery};
use super::{ok_json, AppState, Reply};
use crate::cursor::LastActiveCursor;
use crate::render;
use crate::rng::hash_str;

pub(super) async fn dates(
    State(s): State<AppState>,
    ApiPath((org_id, account_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let Some(ui) = st.find_user(&account_id) else {
        return Err(s.error(StatusCode::NOT_FOUND, "ADMIN-404-8", "Not Found", "User not found"));
    };
    let u = &org.users[ui];
    let uh = hash_str(0x1a57, &u.account_id);
    let offset = match q.given() {
        None => 0,
        Some(c) => match s.codec.decode::<LastActiveCursor>(c, "l") {
            Some(p) if p.u == uh => p.o,
            _ => return Err(s.invalid_cursor()),
        },
    };
    let entries: Vec<_> = org.activity(u).collect();
    let size = s.cfg.last_active_page_size.max(1);
    let page: Vec<Value> = entries
        .iter()
        .skip(offset)
        .take(size)
        .map(|(w, p)| {
            let mut e = json!({"id": w.id, "key": w.last_active_key, "last_active": render::date_only(&p.last_active)});
            if !u.quirks.omit_v1_timestamp {
                e["last_active_timestamp"] = json!(render::ts_secs(&p.last_active));
            }
            e
        })
        .collect();
    let mut links = Map::new();
    if offset + size < entries.len() {
        links.insert("next".into(), json!(s.codec.encode(&LastActiveCursor { t: "l".into(), u: uh, o: offset + size })));
    }
    ok_json(&json!({
        "data": {
            "product_access": page,
            "added_to_org": u.added_to_org.as_ref().map(render::date_only),
            "added_to_org_timestamp": u.added_to_org.as_ref().map(render::ts_millis),
        },
        "links": links,
    }))
}
