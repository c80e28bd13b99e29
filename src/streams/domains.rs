//! `domains`: the organization's email domains and whether each is verified (claimed), from
//! `GET /v1/orgs/{orgId}/domains` (v1 URL cursors; a 404 on the list is no domain at all). A
//! user whose email domain is not a verified domain of the org is an external user. Full
//! refresh, or incremental by change detection per domain id.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::mpsc;

use super::{Stream, StreamInfo};
use crate::client::endpoint::{EndpointSpec, NotFound, PageStyle};
use crate::client::pagination::{self, PageResult, Request};
use crate::client::{AtlassianClient, Endpoint};
use crate::incremental::by_id::KeyedById;
use crate::json::{json_record, Observed, Unstamped};
use crate::read::driver::Context;
use crate::read::paged::PlainStream;

/// The list of domains: v1 URL cursors; Mondoo reads its 404 as "no domain".
pub const DOMAINS: Endpoint =
    Endpoint::new(&EndpointSpec::get("/admin/v1/orgs/{orgId}/domains", "read:domains:admin").pages(PageStyle::NextUrl).not_found(NotFound::Empty));

pub struct Domains;

impl Stream for Domains {
    const INFO: StreamInfo = StreamInfo {
        name: "domains",
        schema: include_str!("../../schemas/domains.json"),
        primary_key: &["id"],
        cursor_field: Some("observed_at"),
        summary: "the organization's email domains, how each is claimed and whether it is verified",
        reads: &[DOMAINS],
        optional: Some("it needs the scope read:domains:admin"),
        ..StreamInfo::DEFAULT
    };
}

impl KeyedById for Domains {
    const FIELD: &'static str = "domains";
}

/// A domain as the API describes it: `{id, type, attributes: {name, claim: {type, status}}}`.
#[derive(Debug, Deserialize)]
pub struct ApiDomain {
    pub id: String,
    #[serde(default)]
    pub attributes: Option<DomainAttributes>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DomainAttributes {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub claim: Option<Claim>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Claim {
    /// `http` or `dns`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `verified`, `unverified`, `superseded`, `missing_token` or `deleted`.
    #[serde(default)]
    pub status: Option<String>,
}

json_record! {
    /// A domain as the `domains` stream writes it, or (with `deleted_at` set) its removal.
    #[derive(Debug)]
    pub struct DomainRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub name: Option<&'a str>,
        pub claim_type: Option<&'a str>,
        pub claim_status: Option<&'a str>,
        /// `claim_status` is `verified`: its users are the org's own (managed), not external.
        pub verified: Option<bool>,
    }
    observed
}

impl PlainStream for Domains {
    const LIST: Endpoint = DOMAINS;
    type Item = ApiDomain;
    type Deletion<'a> = DomainRecord<'a>;

    fn pages(client: Arc<AtlassianClient>, start: Option<String>, _: &Context) -> mpsc::Receiver<PageResult<ApiDomain>> {
        pagination::pages(client, DOMAINS, Request::default(), start)
    }

    fn id(item: &ApiDomain) -> &str {
        &item.id
    }

    fn write<'b>(ctx: &Context, item: &ApiDomain, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let a = item.attributes.as_ref();
        let claim = a.and_then(|a| a.claim.as_ref());
        let status = claim.and_then(|c| c.status.as_deref());
        let record = DomainRecord {
            org_id: ctx.org_id,
            id: &item.id,
            name: a.and_then(|a| a.name.as_deref()),
            claim_type: claim.and_then(|c| c.kind.as_deref()),
            claim_status: status,
            verified: status.map(|s| s.eq_ignore_ascii_case("verified")),
            observed_at: None,
            deleted_at: None,
        };
        record.write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> DomainRecord<'a> {
        DomainRecord { org_id: ctx.org_id, id, name: None, claim_type: None, claim_status: None, verified: None, observed_at: Some(now), deleted_at: Some(now) }
    }
}
