//! `api_tokens`: the API tokens of the organization's managed accounts, from the api-access
//! API's `GET .../api-tokens` (only `pageSize` and `cursor` are sent: it answers any other
//! parameter with a 500). One record per token: its label, status, dates, owner and scopes —
//! never a secret (the API returns none; unknown fields are not kept). A token's
//! `last_active_at` shows a holder's API use that product activity does not: an integration
//! user. Full refresh, or incremental by change detection per token id.

use std::sync::Arc;

use serde::Deserialize;
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

/// Tokens asked for a page (the API documents neither a default nor a maximum).
const PAGE_SIZE: u32 = 50;

pub const API_TOKENS: Endpoint =
    Endpoint::new(&EndpointSpec::get("/admin/api-access/v1/orgs/{orgId}/api-tokens", "read:tokens:admin").pages(PageStyle::PageSize(PAGE_SIZE)));

pub struct ApiTokens;

impl Stream for ApiTokens {
    const INFO: StreamInfo = StreamInfo {
        name: "api_tokens",
        schema: include_str!("../../schemas/api_tokens.json"),
        primary_key: &["id"],
        cursor_field: Some("observed_at"),
        summary: "the managed accounts' API tokens: owner, status, created, expires, last used, scopes (never a secret)",
        reads: &[API_TOKENS],
        optional: Some("it needs the scope read:tokens:admin"),
        ..StreamInfo::DEFAULT
    };
}

impl KeyedById for ApiTokens {
    const FIELD: &'static str = "api_tokens";
}

/// A token as the API lists it (camelCase; every field but `id` optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_active_at: Option<String>,
    #[serde(default)]
    pub user: Option<TokenOwner>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenOwner {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

json_record! {
    /// A token as the `api_tokens` stream writes it, or (with `deleted_at` set) its removal.
    #[derive(Debug)]
    pub struct TokenRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub label: Option<&'a str>,
        pub status: Option<&'a str>,
        pub created_at: Option<String>,
        pub expires_at: Option<String>,
        pub last_active_at: Option<String>,
        pub account_id: Option<&'a str>,
        pub owner_name: Option<&'a str>,
        pub owner_email: Option<&'a str>,
        pub scopes: Option<&'a [String]>,
    }
    observed
}

impl PlainStream for ApiTokens {
    const LIST: Endpoint = API_TOKENS;
    type Item = ApiToken;
    type Deletion<'a> = TokenRecord<'a>;

    fn pages(client: Arc<AtlassianClient>, start: Option<String>, _: &Context) -> mpsc::Receiver<PageResult<ApiToken>> {
        pagination::pages(client, API_TOKENS, Request::default(), start)
    }

    fn id(item: &ApiToken) -> &str {
        &item.id
    }

    fn write<'b>(ctx: &Context, t: &ApiToken, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let owner = t.user.as_ref();
        let record = TokenRecord {
            org_id: ctx.org_id,
            id: &t.id,
            label: t.label.as_deref(),
            status: t.status.as_deref(),
            created_at: time::normalize(t.created_at.as_deref()),
            expires_at: time::normalize(t.expires_at.as_deref()),
            last_active_at: time::normalize(t.last_active_at.as_deref()),
            account_id: owner.and_then(|o| o.id.as_deref()),
            owner_name: owner.and_then(|o| o.name.as_deref()),
            owner_email: owner.and_then(|o| o.email.as_deref()),
            scopes: t.scopes.as_deref(),
            observed_at: None,
            deleted_at: None,
        };
        record.write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> TokenRecord<'a> {
        TokenRecord {
            org_id: ctx.org_id,
            id,
            label: None,
            status: None,
            created_at: None,
            expires_at: None,
            last_active_at: None,
            account_id: None,
            owner_name: None,
            owner_email: None,
            scopes: None,
            observed_at: Some(now),
            deleted_at: Some(now),
        }
    }
}
