//! Per-user activity: the slow source for organizations whose users search gives no
//! `productAccess` — one last-active-dates call per user ([`AtlassianClient::last_active_dates`]),
//! with bounded concurrency that keeps pages in order.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::models::{ProductAccess, UserPage};
use super::pagination::{Chained, UserPageResult};
use super::AtlassianClient;

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
