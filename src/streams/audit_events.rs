//! `audit_events`: the organization's audit log, one record per event, from the poll-events
//! API (`events-stream`) in processing order. Append-only: incremental by the API's cursor,
//! each event exactly once ([`crate::incremental::EventsTracker`]). The action's display name
//! comes from `event-actions`, read once per sync (one request; a join SQL need not make).
//! Every field but `id` may be missing; the actor, `context` and `container` are kept whole,
//! and fields this connector does not know are kept in `extra`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Stream, StreamInfo};
use crate::client::endpoint::{EndpointSpec, PageStyle};
use crate::client::http::json_body;
use crate::client::models::{ApiEventAction, EventsPage, PageMeta};
use crate::client::pagination::Request;
use crate::client::{ApiError, AtlassianClient, Endpoint};
use crate::json::{json_record, WriteJson};
use crate::read::log::LogStream;

pub struct AuditEvents;

impl Stream for AuditEvents {
    const INFO: StreamInfo = StreamInfo {
        name: "audit_events",
        schema: include_str!("../../schemas/audit_events.json"),
        primary_key: &["id"],
        cursor_field: Some("processed_at"),
        summary: "the organization's audit log (needs Atlassian Guard Standard or above): who did what, when, from where",
        reads: &[EVENT_ACTIONS, EVENTS_STREAM],
        optional: Some("it needs Atlassian Guard Standard or above and the scope read:events:admin"),
        ..StreamInfo::DEFAULT
    };
}

/// The audit log in processing order: limited on its own path (about 50 requests a minute).
pub const EVENTS_STREAM: Endpoint =
    Endpoint::new(&EndpointSpec::get("/admin/v1/orgs/{orgId}/events-stream", "read:events:admin").pages(PageStyle::MetaNext).own_rate_limit());
/// The audit log's action names.
pub const EVENT_ACTIONS: Endpoint = Endpoint::new(&EndpointSpec::get("/admin/v1/orgs/{orgId}/event-actions", "read:events:admin").pages(PageStyle::QueryCursor));

/// Why the log cannot be read with this key or organization.
const NOT_ENTITLED: &str = "audit_events cannot be read: the organization's audit log needs Atlassian Guard Standard or above (admin.atlassian.com → Billing), and a key created with scopes needs the scope 'read:events:admin' (create one under admin.atlassian.com → Settings → API keys). The other streams are read";

impl LogStream for AuditEvents {
    const LOG: Endpoint = EVENTS_STREAM;
    const RETENTION_DAYS: i64 = 180;
    const EMPTY_ANSWER: &'static str = "audit_events answered with no event and no cursor (the organization may lack Atlassian Guard Standard, which its audit log needs)";
    const NO_LOG: &'static str = "events-stream answered with no event and no cursor: the organization has no audit log this key can read";
    /// Action ids to display names.
    type Names = HashMap<String, String>;
    type Entry<'e> = Event<'e>;

    /// Every action id of the audit log with its display name (`event-actions`), once a read.
    async fn names(client: &AtlassianClient) -> Result<HashMap<String, String>, ApiError> {
        let actions: Vec<ApiEventAction> = client.every_page(EVENT_ACTIONS, &Request::default()).await?;
        Ok(actions.into_iter().filter_map(|a| Some((a.id, a.attributes?.display_name?))).collect())
    }

    /// One page of the audit log, in processing order, from `cursor` (or from `from_ms`, epoch
    /// milliseconds, without one).
    async fn page<'c>(client: &'c AtlassianClient, cursor: Option<&'c str>, from_ms: Option<i64>, limit: u32) -> Result<EventsPage, ApiError> {
        let mut query = vec![("limit", limit.to_string()), ("sortOrder", "asc".to_string())];
        if let (None, Some(from)) = (cursor, from_ms) {
            query.push(("from", from.to_string()));
        }
        let mut page: EventsPage = client.fetch(EVENTS_STREAM, &Request::query(query), cursor, json_body).await?;
        let next = client.next_cursor(EVENTS_STREAM, page.links.next.as_deref(), page.meta.take().and_then(|m| m.next))?;
        page.meta = Some(PageMeta { next, ..PageMeta::default() });
        Ok(page)
    }

    fn not_entitled(detail: &str) -> String {
        format!("{NOT_ENTITLED}. ({detail})")
    }

    fn parse(raw: &Map<String, Value>) -> Option<Event<'_>> {
        Event::parse(raw)
    }

    fn id<'a>(event: &'a Event<'_>) -> &'a str {
        event.id
    }

    fn processed_at(event: &Event<'_>) -> Option<DateTime<Utc>> {
        event.processed_at
    }

    fn write(org_id: &str, event: &Event<'_>, actions: &HashMap<String, String>, out: &mut Vec<u8>) {
        event.record(org_id, actions).write_json(out);
    }
}

json_record! {
    /// An event as the `audit_events` stream writes it.
    #[derive(Debug)]
    pub struct EventRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub time: Option<&'a str>,
        pub processed_at: Option<&'a str>,
        pub action: Option<&'a str>,
        pub action_name: Option<&'a str>,
        pub actor_id: Option<&'a str>,
        pub actor_name: Option<&'a str>,
        pub actor_email: Option<&'a str>,
        pub actor_auth_type: Option<&'a str>,
        pub actor_token_id: Option<&'a str>,
        pub actor_token_label: Option<&'a str>,
        pub on_behalf_of_id: Option<&'a str>,
        pub app_id: Option<&'a str>,
        pub actor: Option<&'a Value>,
        pub context: Option<&'a Value>,
        pub container: Option<&'a Value>,
        pub ip: Option<&'a str>,
        pub country: Option<&'a str>,
        pub region: Option<&'a str>,
        pub city: Option<&'a str>,
        pub message: Option<&'a str>,
        pub message_format: Option<&'a str>,
        pub extra: Option<&'a Value>,
    }
}

/// The fields of an event (and of its `attributes`) the record names; the rest go to `extra`.
const KNOWN_TOP: &[&str] = &["id", "type", "attributes", "message", "links"];
const KNOWN_ATTRIBUTES: &[&str] = &["time", "processedAt", "action", "actor", "context", "container", "location"];

/// An event as the API sent it, with what the record reads from it.
#[derive(Debug)]
pub struct Event<'e> {
    pub id: &'e str,
    pub processed_at: Option<DateTime<Utc>>,
    raw: &'e Map<String, Value>,
    extra: Option<Value>,
}

fn text<'v>(v: Option<&'v Value>, key: &str) -> Option<&'v str> {
    v?.get(key)?.as_str()
}

impl<'e> Event<'e> {
    /// `None` when the event has no string `id` (the one field a record cannot do without).
    pub fn parse(raw: &'e Map<String, Value>) -> Option<Event<'e>> {
        let id = raw.get("id")?.as_str().filter(|id| !id.is_empty())?;
        let attributes = raw.get("attributes").and_then(Value::as_object);
        let processed_at = attributes
            .and_then(|a| a.get("processedAt"))
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut extra = Map::new();
        for (k, v) in raw.iter().filter(|(k, _)| !KNOWN_TOP.contains(&k.as_str())) {
            extra.insert(k.clone(), v.clone());
        }
        for (k, v) in attributes.into_iter().flatten().filter(|(k, _)| !KNOWN_ATTRIBUTES.contains(&k.as_str())) {
            extra.insert(k.clone(), v.clone());
        }
        let extra = (!extra.is_empty()).then_some(Value::Object(extra));
        Some(Event { id, processed_at, raw, extra })
    }

    /// Its record; `actions` maps action ids to display names.
    pub fn record<'a>(&'a self, org_id: &'a str, actions: &'a HashMap<String, String>) -> EventRecord<'a> {
        let attributes = self.raw.get("attributes");
        let field = |key: &str| attributes.and_then(|a| a.get(key)).filter(|v| !v.is_null());
        let actor = field("actor");
        let auth = actor.and_then(|a| a.get("auth"));
        let location = field("location");
        let message = self.raw.get("message");
        let action = text(attributes, "action");
        EventRecord {
            org_id,
            id: self.id,
            time: text(attributes, "time"),
            processed_at: text(attributes, "processedAt"),
            action,
            action_name: action.and_then(|a| actions.get(a)).map(String::as_str),
            actor_id: text(actor, "id"),
            actor_name: text(actor, "name"),
            actor_email: text(actor, "email"),
            actor_auth_type: text(auth, "authType"),
            actor_token_id: text(auth, "tokenId"),
            actor_token_label: text(auth, "tokenLabel"),
            on_behalf_of_id: text(actor.and_then(|a| a.get("onBehalfOf")), "id"),
            app_id: text(actor.and_then(|a| a.get("app")), "id"),
            actor,
            context: field("context"),
            container: field("container"),
            ip: text(location, "ip"),
            country: text(location, "countryName"),
            region: text(location, "regionName"),
            city: text(location, "city"),
            message: text(message, "content"),
            message_format: text(message, "format"),
            extra: self.extra.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::json::WriteJson;

    #[test]
    fn an_event_keeps_what_it_has_and_what_is_unknown() {
        let raw = json!({
            "id": "e1", "type": "events", "links": {"self": "x"}, "surprise": 1,
            "attributes": {"time": "2026-11-01T00:00:00Z", "processedAt": "2026-11-01T00:00:01.5Z", "action": "user_logged_in",
                "actor": {"id": "a1", "email": "a@x", "auth": {"authType": "api-token", "tokenId": "t1"}, "more": true},
                "location": {"ip": "10.0.0.1", "city": "Oslo"}, "futureField": [1]},
            "message": {"content": "Logged in", "format": "simple"}
        });
        let raw = raw.as_object().unwrap();
        let event = Event::parse(raw).unwrap();
        assert_eq!(event.processed_at, Some(DateTime::parse_from_rfc3339("2026-11-01T00:00:01.5Z").unwrap().with_timezone(&Utc)));
        let actions = HashMap::from([("user_logged_in".to_string(), "Logged in to account".to_string())]);
        let mut out = Vec::new();
        event.record("o1", &actions).write_json(&mut out);
        let rec: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(rec["action_name"], "Logged in to account");
        assert_eq!(rec["actor_id"], "a1");
        assert_eq!(rec["actor_auth_type"], "api-token");
        assert_eq!(rec["actor"]["more"], true, "the actor is kept whole");
        assert_eq!(rec["city"], "Oslo");
        assert_eq!(rec["context"], Value::Null, "missing, as real payloads omit it");
        assert_eq!(rec["extra"], json!({"surprise": 1, "futureField": [1]}));
        assert!(Event::parse(json!({"attributes": {}}).as_object().unwrap()).is_none());
    }
}
