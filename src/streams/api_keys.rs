//! `api_keys`: the organization's API keys (what `admin.atlassian.com → Settings → API keys`
//! lists), from the api-access API's `GET .../api-keys` (only `pageSize` and `cursor` are
//! sent: it answers any other parameter with a 500). One record per key: label, dates, who
//! created it, scopes, target sites — never a secret. Atlassian documents the list's scope as
//! `read:tokens:admin` in one place and `read:keys:admin` in another: a 403 names both. Full
//! refresh, or incremental by change detection per key id.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::api_tokens::TokenOwner;
use super::{Stream, StreamInfo};
use crate::client::endpoint::{EndpointSpec, PageStyle};
use crate::client::pagination::{self, PageResult, Request};
use crate::client::{AtlassianClient, Endpoint};
use crate::incremental::by_id::KeyedById;
use crate::json::{json_record, Observed, Unstamped};
use crate::read::driver::Context;
use crate::read::paged::PlainStream;
use crate::time;

/// Keys asked for a page (the API documents neither a default nor a maximum).
const PAGE_SIZE: u32 = 50;

/// Its scope is documented two ways: a 403 names both.
pub const API_KEYS: Endpoint = Endpoint::new(
    &EndpointSpec::get("/admin/api-access/v1/orgs/{orgId}/api-keys", "read:tokens:admin")
        .pages(PageStyle::PageSize(PAGE_SIZE))
        .scope_advice("read:tokens:admin' or 'read:keys:admin"),
);

pub struct ApiKeys;

impl Stream for ApiKeys {
    const INFO: StreamInfo = StreamInfo {
        name: "api_keys",
        schema: include_str!("../../schemas/api_keys.json"),
        primary_key: &["id"],
        cursor_field: Some("observed_at"),
        summary: "the organization's API keys: created by, expires, last used, scopes, target sites (never a secret)",
        reads: &[API_KEYS],
        optional: Some("it needs the scope read:tokens:admin or read:keys:admin (Atlassian documents either)"),
        ..StreamInfo::DEFAULT
    };
}

impl KeyedById for ApiKeys {
    const FIELD: &'static str = "api_keys";
}

/// A key as the API lists it (camelCase; every field but `id` optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_active_at: Option<String>,
    #[serde(default)]
    pub created_by: Option<TokenOwner>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Kept as the API gives it (its items are not typed anywhere).
    #[serde(default)]
    pub target_resources: Option<Value>,
    #[serde(default)]
    pub system_account_id: Option<String>,
}

json_record! {
    /// A key as the `api_keys` stream writes it, or (with `deleted_at` set) its removal.
    #[derive(Debug)]
    pub struct KeyRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub label: Option<&'a str>,
        pub created_at: Option<String>,
        pub expires_at: Option<String>,
        pub last_active_at: Option<String>,
        pub created_by_id: Option<&'a str>,
        pub created_by_name: Option<&'a str>,
        pub created_by_email: Option<&'a str>,
        pub scopes: Option<&'a [String]>,
        pub target_resources: Option<&'a Value>,
        pub system_account_id: Option<&'a str>,
    }
    observed
}

impl PlainStream for ApiKeys {
    const LIST: Endpoint = API_KEYS;
    type Item = ApiKey;
    type Deletion<'a> = KeyRecord<'a>;

    fn pages(client: Arc<AtlassianClient>, start: Option<String>, _: &Context) -> mpsc::Receiver<PageResult<ApiKey>> {
        pagination::pages(client, API_KEYS, Request::default(), start)
    }

    fn id(item: &ApiKey) -> &str {
        &item.id
    }

    fn write<'b>(ctx: &Context, k: &ApiKey, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let by = k.created_by.as_ref();
        let record = KeyRecord {
            org_id: ctx.org_id,
            id: &k.id,
            label: k.label.as_deref(),
            created_at: time::normalize(k.created_at.as_deref()),
            expires_at: time::normalize(k.expires_at.as_deref()),
            last_active_at: time::normalize(k.last_active_at.as_deref()),
            created_by_id: by.and_then(|o| o.id.as_deref()),
            created_by_name: by.and_then(|o| o.name.as_deref()),
            created_by_email: by.and_then(|o| o.email.as_deref()),
            scopes: k.scopes.as_deref(),
            target_resources: k.target_resources.as_ref().filter(|v| !v.is_null()),
            system_account_id: k.system_account_id.as_deref(),
            observed_at: None,
            deleted_at: None,
        };
        record.write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> KeyRecord<'a> {
        KeyRecord {
            org_id: ctx.org_id,
            id,
            label: None,
            created_at: None,
            expires_at: None,
            last_active_at: None,
            created_by_id: None,
            created_by_name: None,
            created_by_email: None,
            scopes: None,
            target_resources: None,
            system_account_id: None,
            observed_at: Some(now),
            deleted_at: Some(now),
        }
    }
}
