//! `policies`: the organization's policies (data security, IP allowlists, authentication,
//! data residency, … an open set: a type not known yet is kept as it comes), whether each is
//! enabled, the sites it is applied to and its rule (kept whole), from
//! `GET /admin/v1/orgs/{orgId}/policies` (the next cursor in `meta.next`, else `links.next`).
//! Full refresh, or incremental by change detection per policy id.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Stream, StreamInfo};
use crate::client::endpoint::{EndpointSpec, PageStyle};
use crate::client::pagination::{self, PageResult, Request};
use crate::client::{AtlassianClient, Endpoint};
use crate::incremental::by_id::KeyedById;
use crate::json::{json_record, Observed, Unstamped};
use crate::read::driver::Context;
use crate::read::paged::PlainStream;
use crate::time;

pub const POLICIES: Endpoint = Endpoint::new(&EndpointSpec::get("/admin/v1/orgs/{orgId}/policies", "read:policies:admin").pages(PageStyle::MetaNext));

pub struct Policies;

impl Stream for Policies {
    const INFO: StreamInfo = StreamInfo {
        name: "policies",
        schema: include_str!("../../schemas/policies.json"),
        primary_key: &["id"],
        cursor_field: Some("observed_at"),
        summary: "the organization's policies: type, enabled or not, the sites each applies to, its rule",
        reads: &[POLICIES],
        optional: Some("it needs the scope read:policies:admin"),
        ..StreamInfo::DEFAULT
    };
}

impl KeyedById for Policies {
    const FIELD: &'static str = "policies";
}

/// A policy as the API lists it: `{id, type: "policy", attributes: {...}}`.
#[derive(Debug, Deserialize)]
pub struct ApiPolicy {
    pub id: String,
    #[serde(default)]
    pub attributes: Option<PolicyAttributes>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAttributes {
    /// An open set: kept as it comes.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub resources: Option<Vec<PolicyResource>>,
    /// Kept whole: its shape depends on the type.
    #[serde(default)]
    pub rule: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResource {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub application_status: Option<String>,
}

json_record! {
    /// A site a policy is applied to.
    #[derive(Debug)]
    pub struct ResourceRecord<'a> {
        pub id: Option<&'a str>,
        pub application_status: Option<&'a str>,
    }
}

json_record! {
    /// A policy as the `policies` stream writes it, or (with `deleted_at` set) its removal.
    #[derive(Debug)]
    pub struct PolicyRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub kind as "type": Option<&'a str>,
        pub name: Option<&'a str>,
        pub status: Option<&'a str>,
        pub created_at: Option<String>,
        pub updated_at: Option<String>,
        pub resources: Option<&'a [ResourceRecord<'a>]>,
        pub rule: Option<&'a Value>,
    }
    observed
}

impl PlainStream for Policies {
    const LIST: Endpoint = POLICIES;
    type Item = ApiPolicy;
    type Deletion<'a> = PolicyRecord<'a>;

    fn pages(client: Arc<AtlassianClient>, start: Option<String>, _: &Context) -> mpsc::Receiver<PageResult<ApiPolicy>> {
        pagination::pages(client, POLICIES, Request::default(), start)
    }

    fn id(item: &ApiPolicy) -> &str {
        &item.id
    }

    fn write<'b>(ctx: &Context, p: &ApiPolicy, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let a = p.attributes.as_ref();
        let resources: Option<Vec<ResourceRecord>> = a.and_then(|a| a.resources.as_ref()).map(|rs| {
            rs.iter().map(|r| ResourceRecord { id: r.id.as_deref(), application_status: r.application_status.as_deref() }).collect()
        });
        let record = PolicyRecord {
            org_id: ctx.org_id,
            id: &p.id,
            kind: a.and_then(|a| a.kind.as_deref()),
            name: a.and_then(|a| a.name.as_deref()),
            status: a.and_then(|a| a.status.as_deref()),
            created_at: time::normalize(a.and_then(|a| a.created_at.as_deref())),
            updated_at: time::normalize(a.and_then(|a| a.updated_at.as_deref())),
            resources: resources.as_deref(),
            rule: a.and_then(|a| a.rule.as_ref()).filter(|v| !v.is_null()),
            observed_at: None,
            deleted_at: None,
        };
        record.write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> PolicyRecord<'a> {
        PolicyRecord {
            org_id: ctx.org_id,
            id,
            kind: None,
            name: None,
            status: None,
            created_at: None,
            updated_at: None,
            resources: None,
            rule: None,
            observed_at: Some(now),
            deleted_at: Some(now),
        }
    }
}
