//! The audit log: `GET /v1/orgs/{orgId}/events-stream` and `GET /v1/orgs/{orgId}/event-actions`.
//!
//! `events-stream` serves the events processed within the retention ([`Org::served_events`]),
//! in processing order (`processedAt`, then id). Query: `cursor`; `from`, `to` (epoch
//! milliseconds as strings, on `processedAt`: `from <= processedAt < to`); `limit` (default
//! 200, above 500 served as 500; 0, negative or not a number is a 400); `sortOrder` `asc`
//! (default) or `desc`. The page is `{data, meta: {next, page_size}, links: {self, next?}}`,
//! `page_size` the events in `data`, `links.next` a URL with the same parameters and the
//! next cursor.
//!
//! A cursor is opaque and holds the position after the last event served (its processing
//! time and id), so events appended later are found by the same cursor: the last page still
//! answers one, "to facilitate polling" — polled later it returns what was appended since, or
//! empty `data` and the same cursor back. With `events_null_next` the last page answers
//! `next: null` instead. A descending walk goes back to the oldest retained event; its last
//! page answers `next: null` (nothing can be processed before it any more). A cursor keeps
//! its direction (the request's `sortOrder` is then not read) but not `from`/`to`, which apply
//! to each request as given. A cursor that does not decode, comes from another salt or was
//! issued before [`crate::Sandbox::expire_event_cursors`] is `400 ADMIN-400-1`.
//!
//! Both need `read:events:admin` (or an org with Atlassian Guard): [`EventsAccess::Forbidden`]
//! is that scope forbidden, answered by the gate (403); [`EventsAccess::Empty`] is answered here.
//!
//! [`EventsAccess::Forbidden`]: crate::EventsAccess::Forbidden
//! [`EventsAccess::Empty`]: crate::EventsAccess::Empty

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::Response;
use axum::routing::on;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::events::{Event, EVENT_ACTIONS};
use crate::model::Org;
use crate::render::event_json;
use crate::routes::{Resource, Route, Scope};
use crate::server::extract::{ApiPath, ApiQuery, Rejects};
use crate::server::paging::{BeyondMax, Cursors, Page, PageSize, Style};
use crate::server::{ok_json, AppState, Reply, Shared};

pub(crate) const SCOPE: Scope = Scope {
    or: ", or the organization has no Atlassian Guard subscription",
    ..Scope::new("read:events:admin", "the organization's events")
};

pub(crate) const STREAM: Resource = Resource::routes(&[Route::get("/admin/v1/orgs/{orgId}/events-stream", "events_stream", |m| on(m, stream))
    .query(&["cursor", "from", "to", "limit", "sortOrder"])
    .scope(SCOPE)]);

pub(crate) const ACTIONS: Resource =
    Resource::routes(&[Route::get("/admin/v1/orgs/{orgId}/event-actions", "event_actions", |m| on(m, actions)).scope(SCOPE)]);

/// Events a page holds: 200 by default, a larger `limit` than 500 served as 500.
const PAGE_SIZE: PageSize = PageSize { param: "limit", default: 200, max: 500, beyond_max: BeyondMax::Served, code: "ADMIN-400-4" };

const CURSORS: Cursors<EventsCursor> = Cursors::new("e");

/// `events-stream` query: every value is read as text, then checked, so a bad one gets a
/// precise 400.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventsQuery {
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    #[serde(rename = "sortOrder")]
    sort_order: Option<String>,
}

impl Rejects for EventsQuery {
    const CODE: &'static str = "ADMIN-400-4";
}

/// A position in the log: just after (ascending) or before (descending) the event with
/// this key.
#[derive(Debug, Serialize, Deserialize)]
struct EventsCursor {
    /// `processedAt`, microseconds since the epoch.
    p: i64,
    /// The event id (tie-break).
    i: String,
    /// The cursor epoch it was issued in ([`Shared::event_cursor_epoch`]).
    g: u64,
    /// A descending walk.
    #[serde(default)]
    d: bool,
}

fn bad(s: &Shared, detail: &str) -> Response {
    s.bad_request("ADMIN-400-4", detail)
}

/// `from` / `to`: epoch milliseconds.
fn millis(s: &Shared, name: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, Response> {
    let Some(v) = v else { return Ok(None) };
    v.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map(Some)
        .ok_or_else(|| bad(s, &format!("'{name}' must be a time in epoch milliseconds, not '{v}'")))
}

/// `limit`: a number (anything else is refused like 0).
fn limit_of(s: &Shared, v: Option<&str>) -> Result<usize, Response> {
    PAGE_SIZE.read(s, v.map(|v| v.parse::<i64>().map_or(0, |n| n.max(0) as u64)))
}

async fn stream(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<EventsQuery>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let limit = limit_of(&s, q.limit.as_deref())?;
    let (from, to) = (millis(&s, "from", q.from.as_deref())?, millis(&s, "to", q.to.as_deref())?);
    if from.zip(to).is_some_and(|(f, t)| f > t) {
        return Err(bad(&s, "'from' must not be later than 'to'"));
    }
    let desc = match q.sort_order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(o) => return Err(bad(&s, &format!("'sortOrder' must be asc or desc, not '{o}'"))),
    };
    let epoch = s.event_cursor_epoch.load(Ordering::SeqCst);
    let given = q.cursor.as_deref().filter(|c| !c.is_empty());
    let at = CURSORS.read_if(&s, given, |at| at.g == epoch)?;
    let url = format!("{}/admin/v1/orgs/{}/events-stream", s.cfg.base_url, org.id);
    let query = [("from", q.from.as_deref()), ("to", q.to.as_deref()), ("limit", q.limit.as_deref()), ("sortOrder", q.sort_order.as_deref())];
    let style = Style::MetaNext { url: &url, query: &query };
    let this = given.map(str::to_owned);
    if s.events_empty.load(Ordering::SeqCst) {
        return style.reply(Page::of(Vec::<Value>::new()).this(this));
    }
    let desc = at.as_ref().map_or(desc, |c| c.d);
    let window = window(org, from, to);
    let encode = |e: &Event| {
        let (p, i) = e.order_key();
        CURSORS.write(&s, &EventsCursor { p, i: i.into(), g: epoch, d: desc })
    };
    let (page, next): (Vec<&Event>, Option<String>) = if desc {
        let end = at.as_ref().map_or(window.len(), |c| window.partition_point(|e| e.order_key() < (c.p, c.i.as_str())));
        let start = end.saturating_sub(limit);
        let page: Vec<&Event> = window[start..end].iter().rev().collect();
        let next = (start > 0).then(|| page.last().map(|e| encode(e))).flatten();
        (page, next)
    } else {
        let start = at.as_ref().map_or(0, |c| window.partition_point(|e| e.order_key() <= (c.p, c.i.as_str())));
        let end = (start + limit).min(window.len());
        let page: Vec<&Event> = window[start..end].iter().collect();
        let next = (end < window.len() || !s.cfg.events_null_next).then(|| match (page.last(), given) {
            (Some(e), _) => encode(e),
            // Nothing new: the same cursor back, or one before the whole log.
            (None, Some(c)) => c.to_string(),
            (None, None) => CURSORS.write(&s, &EventsCursor { p: i64::MIN, i: String::new(), g: epoch, d: false }),
        });
        (page, next)
    };
    let data: Vec<Value> = page.into_iter().map(|e| event_json(e, &s.cfg.base_url, &org.id)).collect();
    style.reply(Page::of(data).this(this).next(next))
}

/// The served events with `from <= processedAt < to`, in log order.
fn window(org: &Org, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> &[Event] {
    let events = &org.events;
    let lower = from.map_or(org.event_retention_start(), |f| f.max(org.event_retention_start()));
    let lo = events.partition_point(|e| e.processed_at < lower);
    let hi = to.map_or(events.len(), |t| events.partition_point(|e| e.processed_at < t)).max(lo);
    &events[lo..hi]
}

async fn actions(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>) -> Reply {
    s.check_org(&s.read().org, &org_id)?;
    let data: Vec<Value> = EVENT_ACTIONS
        .iter()
        .map(|a| json!({"id": a.id, "type": "event-actions", "attributes": {"displayName": a.display_name, "groupDisplayName": a.group_display_name}}))
        .collect();
    ok_json(&json!({"data": data}))
}
