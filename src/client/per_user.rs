//! Per-user activity: one last-active-dates call per user
//! ([`AtlassianClient::last_active_dates`]), `concurrency` at a time, pages kept in order — for
//! every user (`per_user`), or only for the users the managed-accounts list does not cover
//! ([`super::managed`]): unmanaged users at once, the others once the list is read.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use tokio::sync::{mpsc, Semaphore};

use super::error::ApiError;
use super::managed::{Activity, ManagedActivity};
use super::models::UserPage;
use super::pagination::{Chained, UserPageResult};
use super::AtlassianClient;

/// Users looked ahead of the page being passed on when managed accounts cover some: while the
/// list is being read, the unmanaged users of the next pages get their requests meanwhile.
/// It holds their pages: about 3.5 KB a user, 7 MB for 2,000 (docs/performance.md measures
/// 500, 2,000 and 5,000: the time saved is at most the list's read, which at real rate limits
/// is a few percent of a read that has per-user requests at all).
const MANAGED_LOOKAHEAD: usize = 2000;

/// A step of the per-user stream: a user to fill in, or the page its users came from (passed
/// on once all of them are done).
enum Item {
    /// The account, and whether the users search says it is unmanaged (never in the list).
    User(String, bool),
    PageEnd(Box<Chained<UserPage>>),
    Failed(ApiError),
}

/// A step done: one user's activity, or the page to pass on.
enum Done {
    Activity(Activity),
    PageEnd(Box<Chained<UserPage>>),
    Failed(ApiError),
}

/// Fills in `product_access` (and `access_billable`, where the list tells it) of every user:
/// from `managed` when it covers the user, else from last-active-dates, `concurrency`
/// requests at a time across page boundaries; passes the pages on in order: a page leaves
/// only when all its users are done, so a checkpoint after it covers every earlier user.
pub fn with_activity(
    client: Arc<AtlassianClient>,
    first: Option<Chained<UserPage>>,
    pages: mpsc::Receiver<UserPageResult>,
    concurrency: usize,
    managed: Option<ManagedActivity>,
) -> mpsc::Receiver<UserPageResult> {
    let (tx, rx) = mpsc::channel(2);
    let concurrency = concurrency.max(1);
    let lookahead = if managed.is_some() { MANAGED_LOOKAHEAD.max(concurrency) } else { concurrency };
    let permits = Arc::new(Semaphore::new(concurrency));
    tokio::spawn(async move {
        let first = stream::iter(first.map(Ok));
        let rest = stream::unfold(pages, |mut pages| async move { pages.recv().await.map(|p| (p, pages)) });
        let items = first.chain(rest).flat_map(|page| {
            let items: Vec<Item> = match page {
                Ok(p) => {
                    let mut items: Vec<Item> = p
                        .items
                        .users()
                        .iter()
                        .map(|u| Item::User(u.account_id.to_string(), u.claim_status.as_deref() == Some("unmanaged")))
                        .collect();
                    items.push(Item::PageEnd(Box::new(p)));
                    items
                }
                Err(e) => vec![Item::Failed(e)],
            };
            stream::iter(items)
        });
        let hydrated = items
            .map(|item| {
                let (client, managed, permits) = (client.clone(), managed.clone(), permits.clone());
                async move {
                    match item {
                        Item::User(account_id, unmanaged) => activity(&client, managed.filter(|_| !unmanaged), &permits, &account_id).await,
                        Item::PageEnd(page) => Done::PageEnd(page),
                        Item::Failed(e) => Done::Failed(e),
                    }
                }
            })
            .buffered(lookahead);
        let mut hydrated = std::pin::pin!(hydrated);
        let mut activity = Vec::new();
        while let Some(item) = hydrated.next().await {
            let message = match item {
                Done::Activity(a) => {
                    activity.push(a);
                    continue;
                }
                Done::PageEnd(mut page) => {
                    let mut fetched = std::mem::take(&mut activity).into_iter();
                    page.items.with_users_mut(|users| {
                        for (u, a) in users.iter_mut().zip(&mut fetched) {
                            u.product_access = Some(a.access);
                            u.access_billable = a.billable.or(u.access_billable);
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

/// One user's activity: from the managed accounts when they cover the user, else one
/// last-active-dates call (within the concurrency).
async fn activity(client: &AtlassianClient, managed: Option<ManagedActivity>, permits: &Semaphore, account_id: &str) -> Done {
    if let Some(managed) = managed {
        match managed.of(account_id).await {
            Ok(Some(a)) => return Done::Activity(a),
            Ok(None) => {}
            Err(e) => return Done::Failed(e),
        }
    }
    let _permit = permits.acquire().await.ok(); // never closed
    match client.last_active_dates(account_id).await {
        Ok(access) => Done::Activity(Activity { access, billable: None }),
        Err(e) => Done::Failed(e),
    }
}
