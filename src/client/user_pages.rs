//! The pages of the users pass, parsed, fetched ahead of the reader, with each user's activity
//! from the source the config asks for — or, in `auto`, the one the API turns out to offer.
//!
//! Opening the pass settles two things on its first page: a saved resume cursor the API
//! rejects (`ADMIN-400-1`) restarts the pass from the first page; and in `auto`, a search that
//! rejects the `productAccess` expand, or answers without it, switches to one last-active-dates
//! request per user ([`super::per_user`]).

use std::sync::Arc;

use tokio::sync::mpsc;

use super::error::ApiError;
use super::pagination::{self, UserPageResult};
use super::per_user::with_per_user_activity;
use super::AtlassianClient;
use crate::config::ActivitySource;

/// The expand that carries activity; left out when activity comes from per-user requests.
pub const PRODUCT_ACCESS: &str = "productAccess";
/// The expands the users search is asked for: everything a `users` or `user_activity` record holds.
pub const EXPAND: [&str; 4] = [PRODUCT_ACCESS, "groups", "platformRoles", "counts.resources"];

/// Where the pass's activity comes from, once its first page settled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityFrom {
    /// The `productAccess` of the users search.
    Bulk,
    /// Per-user requests, as `activity_source: per_user` asks.
    PerUserConfigured,
    /// Per-user requests: the search rejected the `productAccess` expand.
    PerUserExpandRejected,
    /// Per-user requests: the search returned no `productAccess`.
    PerUserNoProductAccess,
}

impl ActivityFrom {
    /// The INFO line that tells the person.
    pub fn describe(self) -> &'static str {
        match self {
            ActivityFrom::Bulk => "Activity source: the bulk users search with productAccess",
            ActivityFrom::PerUserConfigured => "Activity source: per-user last-active-dates requests (activity_source = per_user)",
            ActivityFrom::PerUserExpandRejected => {
                "Activity source: the users search rejected the productAccess expand; falling back to one last-active-dates request per user"
            }
            ActivityFrom::PerUserNoProductAccess => {
                "Activity source: the users search returned no productAccess; falling back to one last-active-dates request per user"
            }
        }
    }
}

/// The pass's pages: the first one already fetched (it settled the source), then the rest.
pub struct UserPages {
    first: Option<UserPageResult>,
    rest: mpsc::Receiver<UserPageResult>,
}

/// An opened pass: its pages and what opening it settled.
pub struct Opened {
    pub pages: UserPages,
    /// The saved resume cursor was rejected: the pass starts again from the first page.
    pub restarted: bool,
    pub activity: ActivityFrom,
}

impl UserPages {
    /// Starts the pass at `start` (a saved resume cursor) or the first page.
    pub async fn open(client: Arc<AtlassianClient>, source: ActivitySource, concurrency: usize, start: Option<String>) -> Opened {
        let chain = |source, cursor| match source {
            ActivitySource::PerUser => {
                let expand = EXPAND.iter().copied().filter(|e| *e != PRODUCT_ACCESS).collect();
                with_per_user_activity(client.clone(), None, pagination::users(client.clone(), expand, cursor), concurrency)
            }
            ActivitySource::Auto | ActivitySource::Bulk => pagination::users(client.clone(), EXPAND.to_vec(), cursor),
        };
        let mut cursor = start;
        let mut rest = chain(source, cursor.clone());
        let mut first = rest.recv().await;
        let restarted = cursor.is_some() && matches!(&first, Some(Err(ApiError::Client { status: 400, code: Some(c), .. })) if c == "ADMIN-400-1");
        if restarted {
            cursor = None;
            rest = chain(source, None);
            first = rest.recv().await;
        }
        let activity = match (source, &first) {
            (ActivitySource::Auto, Some(Err(ApiError::Client { status: 400, .. }))) => {
                rest = chain(ActivitySource::PerUser, cursor);
                first = rest.recv().await;
                ActivityFrom::PerUserExpandRejected
            }
            (ActivitySource::Auto, Some(Ok(page)))
                if !page.items.users().is_empty() && page.items.users().iter().all(|u| u.product_access.is_none()) =>
            {
                let page = first.take().and_then(Result::ok);
                rest = with_per_user_activity(client.clone(), page, rest, concurrency);
                first = rest.recv().await;
                ActivityFrom::PerUserNoProductAccess
            }
            (ActivitySource::PerUser, _) => ActivityFrom::PerUserConfigured,
            _ => ActivityFrom::Bulk,
        };
        Opened { pages: UserPages { first, rest }, restarted, activity }
    }

    /// The first page, before it is taken: what the estimates are made from.
    pub fn peek(&self) -> Option<&UserPageResult> {
        self.first.as_ref()
    }

    /// The next page, in order; `None` after the last page or the first error.
    pub async fn next(&mut self) -> Option<UserPageResult> {
        match self.first.take() {
            Some(page) => Some(page),
            None => self.rest.recv().await,
        }
    }
}
