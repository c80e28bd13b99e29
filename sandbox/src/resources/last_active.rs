//! `GET /v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates`: one
//! user's activity per product instance, paged with bare cursors.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::on;
use serde_json::{json, Value};

use crate::cursor::LastActiveCursor;
use crate::render;
use crate::rng::hash_str;
use crate::routes::{Resource, Route};
use crate::server::extract::{ApiPath, ApiQuery, CursorQuery};
use crate::server::paging::{window, Cursors, Page, Style};
use crate::server::{AppState, Reply};

/// No scope: the API documents none for it.
pub(crate) const DATES: Resource = Resource::routes(&[Route::get(
    "/admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates",
    "last_active_dates",
    |m| on(m, dates),
)
.query(&["cursor"])]);

const CURSORS: Cursors<LastActiveCursor> = Cursors::new("l");

async fn dates(
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
    let offset = CURSORS.read_if(&s, q.given(), |at| at.u == uh)?.map_or(0, |at| at.o);
    let entries: Vec<_> = org.activity(u).collect();
    let size = s.cfg.last_active_page_size.max(1);
    let window = window(entries.len(), offset, size);
    let page: Vec<Value> = entries[window.start..window.end]
        .iter()
        .map(|(w, p)| {
            let mut e = json!({"id": w.id, "key": w.last_active_key, "last_active": render::date_only(&p.last_active)});
            if !u.quirks.omit_v1_timestamp {
                e["last_active_timestamp"] = json!(render::ts_secs(&p.last_active));
            }
            e
        })
        .collect();
    let next = window.next.map(|o| CURSORS.write(&s, &LastActiveCursor { u: uh, o }));
    let data = json!({
        "product_access": page,
        "added_to_org": u.added_to_org.as_ref().map(render::date_only),
        "added_to_org_timestamp": u.added_to_org.as_ref().map(render::ts_millis),
    });
    Style::BareCursor.reply(Page::of(data).next(next))
}
