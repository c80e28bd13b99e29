//! `seat_counts`: Atlassian's own count of the seats on each paid site, per billable role, from
//! `GET /v2/orgs/{orgId}/directories/{directoryId}/users/count?resourceIds=<site>&roleIds=<role>`
//! (`{count}`): the same sites and roles as `license_assignments`' searches (online, non-sandbox
//! sites × `atlassian/user`, `atlassian/admin`), one request each. What a report checks the seats
//! it reads against: a count that differs from the holders `license_assignments` found says a
//! page of them was lost. A plain stream whose "pages" are those counts, one item each, resumed
//! at the count it stands at; change detection per `workspace_id` and `role`.

use std::sync::Arc;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::license_assignments::{skip_reason, BILLABLE_ROLES};
use super::{Stream, StreamInfo};
use crate::client::endpoints::{USERS_COUNT, WORKSPACES};
use crate::client::http::json_body;
use crate::client::models::{Links, Page};
use crate::client::pagination::{spawn_chain, PageResult, Request};
use crate::client::{ApiError, AtlassianClient, Endpoint};
use crate::incremental::by_id::KeyedById;
use crate::json::{json_record, Observed, Unstamped};
use crate::read::driver::Context;
use crate::read::paged::PlainStream;

pub struct SeatCounts;

impl Stream for SeatCounts {
    const INFO: StreamInfo = StreamInfo {
        name: "seat_counts",
        schema: include_str!("../../schemas/seat_counts.json"),
        primary_key: &["workspace_id", "role"],
        cursor_field: Some("observed_at"),
        summary: "Atlassian's own count of the holders of each billable role on each paid site",
        reads: &[WORKSPACES, USERS_COUNT],
        optional: Some("it needs the scope read:directories:admin"),
        needs_sites: true,
    };
}

impl KeyedById for SeatCounts {
    const FIELD: &'static str = "seat_counts";
}

/// One count: a site, a billable role and how many hold it there.
#[derive(Debug)]
pub struct SeatCount {
    /// `<workspace_id> <role>`: what change detection keys it by.
    pub key: String,
    pub workspace_id: String,
    pub role: &'static str,
    pub count: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct CountBody {
    #[serde(default)]
    count: Option<Value>,
}

json_record! {
    /// A count as the `seat_counts` stream writes it, or (with `deleted_at` set) its removal.
    #[derive(Debug)]
    pub struct SeatCountRecord<'a> {
        pub org_id: &'a str,
        pub workspace_id: &'a str,
        pub role: &'a str,
        pub count: Option<i64>,
    }
    observed
}

/// The sites and roles counted: `license_assignments`' partitions.
fn partitions(ctx: &Context) -> Vec<(String, &'static str)> {
    let sites = ctx.sites.list.iter().filter(|s| skip_reason(s.sandbox_type.as_deref(), s.status.as_deref()).is_none());
    sites.flat_map(|s| BILLABLE_ROLES.iter().map(move |role| (s.workspace_id.clone(), *role))).collect()
}

impl PlainStream for SeatCounts {
    const LIST: Endpoint = USERS_COUNT;
    type Item = SeatCount;
    type Deletion<'a> = SeatCountRecord<'a>;

    /// One count a "page", from the count at index `start` on; the next page's cursor is the
    /// next index.
    fn pages(client: Arc<AtlassianClient>, start: Option<String>, ctx: &Context) -> mpsc::Receiver<PageResult<SeatCount>> {
        let partitions = Arc::new(partitions(ctx));
        let first = start.as_deref().and_then(|s| s.parse::<usize>().ok()).unwrap_or(0).to_string();
        spawn_chain(USERS_COUNT, Some(first), move |cursor| {
            let (client, partitions) = (client.clone(), partitions.clone());
            async move {
                let at = cursor.as_deref().and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
                let Some((site, role)) = partitions.get(at) else { return Ok(Page::empty()) };
                let request = Request::query(vec![("resourceIds", site.clone()), ("roleIds", role.to_string())]);
                let body: CountBody = client.fetch(USERS_COUNT, &request, None, json_body).await?;
                let count = body.count.as_ref().and_then(Value::as_i64).filter(|n| *n >= 0);
                let item = SeatCount { key: format!("{site} {role}"), workspace_id: site.clone(), role, count };
                let links = Links { next: (at + 1 < partitions.len()).then(|| (at + 1).to_string()) };
                Ok::<_, ApiError>(Page { data: vec![item], links, meta: None })
            }
        })
    }

    fn id(item: &SeatCount) -> &str {
        &item.key
    }

    fn write<'b>(ctx: &Context, c: &SeatCount, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let record = SeatCountRecord { org_id: ctx.org_id, workspace_id: &c.workspace_id, role: c.role, count: c.count, observed_at: None, deleted_at: None };
        record.write_unstamped(out)
    }

    /// The id is `<workspace_id> <role>`: a site's ARI has no space.
    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> SeatCountRecord<'a> {
        let (workspace_id, role) = id.rsplit_once(' ').unwrap_or((id, ""));
        SeatCountRecord { org_id: ctx.org_id, workspace_id, role, count: None, observed_at: Some(now), deleted_at: Some(now) }
    }

    /// One count of the whole directory.
    fn probe(client: &AtlassianClient) -> futures_util::future::LocalBoxFuture<'_, Result<Option<String>, ApiError>> {
        use futures_util::FutureExt;
        async move { client.fetch(USERS_COUNT, &Request::default(), None, json_body::<IgnoredAny>).await.map(|_| None) }.boxed_local()
    }
}
