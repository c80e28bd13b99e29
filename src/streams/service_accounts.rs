//! `service_accounts`: the organization's service accounts, from the api-access API's
//! experimental `GET .../service-accounts` (its list under `items`, `updatedAt` in epoch
//! milliseconds, written as RFC 3339). A service account does not count toward a product's
//! user limit: never a seat to reclaim. Its `atlassian_id` is the account id the users search
//! shows. Not offered (a 404) or refused (a 403), this stream alone fails. Full refresh, or
//! incremental by change detection per service account id.

use std::sync::Arc;

use chrono::DateTime;
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
use crate::time;

/// Experimental: an organization it is not enabled for answers 404.
pub const SERVICE_ACCOUNTS: Endpoint = Endpoint::new(
    &EndpointSpec::get("/admin/api-access/v1/orgs/{orgId}/service-accounts", "read:service-accounts:admin")
        .pages(PageStyle::Items)
        .not_found(NotFound::Unavailable),
);

pub struct ServiceAccounts;

impl Stream for ServiceAccounts {
    const INFO: StreamInfo = StreamInfo {
        name: "service_accounts",
        schema: include_str!("../../schemas/service_accounts.json"),
        primary_key: &["id"],
        cursor_field: Some("observed_at"),
        summary: "the organization's service accounts (an experimental API): never a billed seat",
        reads: &[SERVICE_ACCOUNTS],
        optional: Some("it needs the scope read:service-accounts:admin, and the experimental service accounts API enabled for the organization"),
        ..StreamInfo::DEFAULT
    };
}

impl KeyedById for ServiceAccounts {
    const FIELD: &'static str = "service_accounts";
}

/// A service account as the API lists it (camelCase; every field but `id` optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiServiceAccount {
    pub id: String,
    #[serde(default)]
    pub atlassian_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_by_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Epoch milliseconds (an integer); anything else is no time.
    #[serde(default)]
    pub updated_at: Option<serde_json::Value>,
}

json_record! {
    /// A service account as the `service_accounts` stream writes it, or (with `deleted_at`
    /// set) its removal.
    #[derive(Debug)]
    pub struct ServiceAccountRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub atlassian_id: Option<&'a str>,
        pub email: Option<&'a str>,
        pub display_name: Option<&'a str>,
        pub status: Option<&'a str>,
        pub created_by: Option<&'a str>,
        pub description: Option<&'a str>,
        pub updated_at: Option<String>,
    }
    observed
}

/// Epoch milliseconds as RFC 3339; a number out of range, or not an integer, is no time.
fn from_epoch_ms(v: Option<&serde_json::Value>) -> Option<String> {
    v?.as_i64().and_then(DateTime::from_timestamp_millis).map(time::format)
}

impl PlainStream for ServiceAccounts {
    const LIST: Endpoint = SERVICE_ACCOUNTS;
    type Item = ApiServiceAccount;
    type Deletion<'a> = ServiceAccountRecord<'a>;

    fn pages(client: Arc<AtlassianClient>, start: Option<String>, _: &Context) -> mpsc::Receiver<PageResult<ApiServiceAccount>> {
        pagination::pages(client, SERVICE_ACCOUNTS, Request::default(), start)
    }

    fn id(item: &ApiServiceAccount) -> &str {
        &item.id
    }

    fn write<'b>(ctx: &Context, s: &ApiServiceAccount, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let record = ServiceAccountRecord {
            org_id: ctx.org_id,
            id: &s.id,
            atlassian_id: s.atlassian_id.as_deref(),
            email: s.email.as_deref(),
            display_name: s.display_name.as_deref(),
            status: s.status.as_deref(),
            created_by: s.created_by_id.as_deref(),
            description: s.description.as_deref(),
            updated_at: from_epoch_ms(s.updated_at.as_ref()),
            observed_at: None,
            deleted_at: None,
        };
        record.write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> ServiceAccountRecord<'a> {
        ServiceAccountRecord {
            org_id: ctx.org_id,
            id,
            atlassian_id: None,
            email: None,
            display_name: None,
            status: None,
            created_by: None,
            description: None,
            updated_at: None,
            observed_at: Some(now),
            deleted_at: Some(now),
        }
    }
}
