//! Directory calls beyond the users search: the user count (for estimates and progress), and
//! per-user last-active dates — the slow activity source for organizations whose search gives
//! no `productAccess` — with bounded concurrency that keeps pages in order.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::error::{ApiError, Endpoint};
use super::models::{Links, ProductAccess, Text, UserPage};
use super::pagination::{Chained, CursorGuard, UserPageResult};
use super::AtlassianClient;

#[derive(Debug, Deserialize)]
struct CountResponse {
    count: u64,
}

#[derive(Debug, Deserialize)]
struct LastActiveResponse {
    data: LastActiveData,
    #[serde(default)]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct LastActiveData {
    #[serde(default)]
    product_access: Option<Vec<V1ProductAccess>>,
}

/// v1 is snake_case, with the older product vocabulary and a date-only `last_active`.
#[derive(Debug, Deserialize)]
struct V1ProductAccess {
    id: Option<String>,
    key: Option<String>,
    last_active: Option<String>,
    last_active_timestamp: Option<String>,
}

/// The v2 (users search) name of a product key from the v1 vocabulary, so both activity
/// sources give identical records: `jira-software` → `jira`, `jira-service-desk` →
/// `jira-servicedesk`; other keys are the same in both.
pub fn v2_product_key(v1: &str) -> &str {
    match v1 {
        "jira-software" | "jira-core" => "jira",
        "jira-service-desk" => "jira-servicedesk",
        other => other,
    }
}

impl AtlassianClient {
    /// `GET .../users/count`: how many users the directory holds.
    pub async fn users_count(&self) -> Result<u64, ApiError> {
        let url = self.url(&["v2", "orgs", &self.org_id, "directories", &self.directory_id, "users", "count"]);
        let r: CountResponse = self.call(Endpoint::UsersCount, Method::GET, url, None).await?;
        Ok(r.count)
    }

    /// Every product-access entry of one user, over all pages of last-active-dates, in the
    /// users-search shape. An unknown user (removed since the search listed them) has none.
    pub async fn last_active_dates(&self, account_id: &str) -> Result<Vec<ProductAccess<'static>>, ApiError> {
        let mut guard = CursorGuard::new(Endpoint::LastActiveDates);
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let mut url = self.url(&["v1", "orgs", &self.org_id, "directory", "users", account_id, "last-active-dates"]);
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let page: LastActiveResponse = match self.call(Endpoint::LastActiveDates, Method::GET, url, None).await {
                Ok(p) => p,
                Err(ApiError::Client { status: 404, code, .. }) if code.as_deref() == Some("ADMIN-404-8") => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            out.extend(page.data.product_access.into_iter().flatten().map(|p| ProductAccess {
                key: p.key.as_deref().map(|k| Text::from(v2_product_key(k).to_owned())),
                id: p.id.map(Text::from),
                last_active_timestamp: p.last_active_timestamp.filter(|t| !t.is_empty()).or(p.last_active).map(Text::from),
            }));
            match page.links.next {
                Some(next) => {
                    guard.admit(&next)?;
                    cursor = Some(next);
                }
                None => return Ok(out),
            }
        }
    }
}

/// A step of the per-user stream: a user to fetch, or the page its users came from (passed
/// on once all of them are done).
enum Item {
    User(String),
    PageEnd(Box<Chained<UserPage>>),
    Failed(ApiError),
}

/// A step done: one user's activity, or the page to pass on.
enum Done {
    Activity(Vec<ProductAccess<'static>>),
    PageEnd(Box<Chained<UserPage>>),
    Failed(ApiError),
}

/// Fills in `product_access` of every user from last-active-dates, `concurrency` users at a
/// time across page boundaries, and passes the pages on in order: a page leaves only when all
/// its users are done, so a checkpoint after it covers every earlier user.
pub fn with_per_user_activity(
    client: Arc<AtlassianClient>,
    first: Option<Chained<UserPage>>,
    pages: mpsc::Receiver<UserPageResult>,
    concurrency: usize,
) -> mpsc::Receiver<UserPageResult> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let first = stream::iter(first.map(Ok));
        let rest = stream::unfold(pages, |mut pages| async move { pages.recv().await.map(|p| (p, pages)) });
        let items = first.chain(rest).flat_map(|page| {
            let items: Vec<Item> = match page {
                Ok(p) => {
                    let mut items: Vec<Item> = p.items.users().iter().map(|u| Item::User(u.account_id.to_string())).collect();
                    items.push(Item::PageEnd(Box::new(p)));
                    items
                }
                Err(e) => vec![Item::Failed(e)],
            };
            stream::iter(items)
        });
        let hydrated = items
            .map(|item| {
                let client = client.clone();
                async move {
                    match item {
                        Item::User(account_id) => match client.last_active_dates(&account_id).await {
                            Ok(access) => Done::Activity(access),
                            Err(e) => Done::Failed(e),
                        },
                        Item::PageEnd(page) => Done::PageEnd(page),
                        Item::Failed(e) => Done::Failed(e),
                    }
                }
            })
            .buffered(concurrency.max(1));
        let mut hydrated = std::pin::pin!(hydrated);
        let mut activity = Vec::new();
        while let Some(item) = hydrated.next().await {
            let message = match item {
                Done::Activity(access) => {
                    activity.push(access);
                    continue;
                }
                Done::PageEnd(mut page) => {
                    let mut fetched = std::mem::take(&mut activity).into_iter();
                    page.items.with_users_mut(|users| {
                        for (u, access) in users.iter_mut().zip(&mut fetched) {
                            u.product_access = Some(access);
                        }
                    });
                    Ok(*page)
                }
                Done::Failed(e) => Err(e),
            };
            let failed = message.is_err();
            if tx.send(message).await.is_err() || failed {
                return;
            }
        }
    });
    rx
}
