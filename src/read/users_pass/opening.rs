//! The pages of the users pass, parsed, fetched ahead of the reader, with each user's activity
//! from the source the config asks for — or, in `auto`, the best one the API turns out to
//! offer. The read loop takes users-search pages whatever the source; only which users it
//! sees and what fills their `product_access` differ.
//!
//! Opening the pass settles, on its first page:
//! - a saved resume cursor the API rejects (`ADMIN-400-1`): the pass restarts from the first
//!   page;
//! - a users search the key may not use (403): the pass is made of the managed accounts alone
//!   (`GET /admin/v1/orgs/{orgId}/users`), whatever the activity source, with a WARN;
//! - the activity source:
//!
//! | `activity_source` | users search gives `productAccess` | managed accounts readable | activity from |
//! |---|---|---|---|
//! | `auto` | yes | — | the search ([`ActivityFrom::Bulk`]) |
//! | `auto` | no, or the expand is rejected | yes | the list in bulk + last-active-dates for the users it does not cover ([`ActivityFrom::Managed`]) |
//! | `auto` | no, or the expand is rejected | no (4xx), or none listed | last-active-dates for every user ([`ActivityFrom::PerUser`]) |
//! | `bulk` | — | — | the search (no activity when it gives none; a rejected expand fails) |
//! | `managed_accounts` | — | yes (else the read fails) | the list + last-active-dates for the rest |
//! | `per_user` | — | — | last-active-dates for every user |

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::client::endpoints;
use crate::client::managed::{ManagedActivity, SitesFuture};
use crate::client::pagination::{self, UserPageResult};
use crate::client::per_user::with_activity;
use crate::client::{ApiError, AtlassianClient, MANAGED_ONLY};
use crate::config::ActivitySource;
use crate::protocol::FailureType;

/// The expand that carries activity; left out when activity comes from elsewhere.
pub const PRODUCT_ACCESS: &str = "productAccess";
/// The expands the users search is asked for: everything a `users` or `user_activity` record holds.
pub const EXPAND: [&str; 4] = [PRODUCT_ACCESS, "groups", "platformRoles", "counts.resources"];

/// Why a source other than the search's `productAccess` serves activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// `activity_source` asks for it.
    Configured,
    /// `auto`: the search rejected the `productAccess` expand.
    ExpandRejected,
    /// `auto`: the search returned no `productAccess`.
    NoProductAccess,
}

/// Where the pass's activity comes from, once its first page settled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityFrom {
    /// The `productAccess` of the users search.
    Bulk,
    /// The managed accounts in bulk; last-active-dates for the users they do not cover.
    Managed(Why),
    /// Last-active-dates for every user; with why the managed accounts could not serve.
    PerUser(Why, Option<String>),
    /// The users search is refused: the pass is the managed accounts alone, their activity
    /// from the same pages.
    ManagedOnly,
}

const MANAGED_BULK: &str = "the managed accounts in bulk (GET /admin/v1/orgs/{orgId}/users, 50 a request), and one last-active-dates request per user only for the users that list does not cover";

impl ActivityFrom {
    /// The INFO line that tells the person.
    pub fn describe(&self) -> String {
        let why = |why: &Why| match why {
            Why::Configured => "",
            Why::ExpandRejected => "the users search rejected the productAccess expand; ",
            Why::NoProductAccess => "the users search returned no productAccess; ",
        };
        match self {
            ActivityFrom::Bulk => "Activity source: the bulk users search with productAccess".into(),
            ActivityFrom::Managed(Why::Configured) => format!("Activity source: {MANAGED_BULK} (activity_source = managed_accounts)"),
            ActivityFrom::Managed(w) => format!("Activity source: {}reading {MANAGED_BULK}", why(w)),
            ActivityFrom::PerUser(Why::Configured, None) => {
                "Activity source: per-user last-active-dates requests (activity_source = per_user)".into()
            }
            ActivityFrom::PerUser(w, unmanaged) => {
                let list = unmanaged.as_deref().map(|r| format!("the managed accounts cannot serve ({r}); ")).unwrap_or_default();
                format!("Activity source: {}{list}falling back to one last-active-dates request per user", why(w))
            }
            ActivityFrom::ManagedOnly => {
                "Activity source: the managed accounts (GET /admin/v1/orgs/{orgId}/users), which are the whole pass: the users search is refused".into()
            }
        }
    }

    /// Every user of the directory is in the pass (not so when it is the managed accounts
    /// alone: a user missing from it may merely be invisible).
    pub fn sees_every_user(&self) -> bool {
        *self != ActivityFrom::ManagedOnly
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

type Chain = (Option<UserPageResult>, mpsc::Receiver<UserPageResult>);

/// What opening the pass works with.
struct Opener {
    client: Arc<AtlassianClient>,
    concurrency: usize,
    sites: SitesFuture,
}

impl UserPages {
    /// Starts the pass at `start` (a saved resume cursor) or the first page; `sites` is the
    /// join of activity to the workspaces, once they are read.
    pub async fn open(client: Arc<AtlassianClient>, source: ActivitySource, concurrency: usize, start: Option<String>, sites: SitesFuture) -> Opened {
        let o = Opener { client, concurrency, sites };
        let search = |expand: Vec<&'static str>| {
            let client = o.client.clone();
            move |cursor| pagination::users(client.clone(), expand.clone(), cursor)
        };
        let without_activity: Vec<&'static str> = EXPAND.iter().copied().filter(|e| *e != PRODUCT_ACCESS).collect();
        let with_activity_expand = matches!(source, ActivitySource::Auto | ActivitySource::Bulk);
        let expand = if with_activity_expand { EXPAND.to_vec() } else { without_activity.clone() };
        let ((mut first, mut rest), restarted) = open_chain(start.clone(), search(expand)).await;
        if first.as_ref().is_some_and(|p| p.as_ref().is_err_and(|e| e.is_forbidden_at(endpoints::USERS_SEARCH))) {
            let client = o.client.clone();
            let sites = o.sites.clone();
            let (managed, managed_restarted) = open_chain(start, move |c| pagination::managed_users(client.clone(), c, Some(sites.clone()))).await;
            if matches!(&managed.0, Some(Err(e)) if !stands_in(e)) {
                return Opened { pages: UserPages { first, rest }, restarted, activity: ActivityFrom::Bulk };
            }
            if matches!(&managed.0, Some(Ok(_))) {
                o.client.notify(endpoints::USERS_SEARCH, format!("Only managed accounts are read: {MANAGED_ONLY}"), None);
            }
            let (first, rest) = managed;
            return Opened { pages: UserPages { first, rest }, restarted: restarted || managed_restarted, activity: ActivityFrom::ManagedOnly };
        }
        let cursor = if restarted { None } else { start };
        let activity = match source {
            ActivitySource::Bulk => ActivityFrom::Bulk,
            ActivitySource::PerUser => {
                (first, rest) = o.wrap((first, rest), None).await;
                ActivityFrom::PerUser(Why::Configured, None)
            }
            ActivitySource::ManagedAccounts => {
                let from;
                ((first, rest), from) = o.managed((first, rest), Why::Configured).await;
                from
            }
            ActivitySource::Auto => {
                let why = match &first {
                    Some(Err(ApiError::Client { status: 400, .. })) => {
                        (first, rest) = open_chain(cursor, search(without_activity)).await.0;
                        Some(Why::ExpandRejected)
                    }
                    Some(Ok(page)) if !page.items.users().is_empty() && page.items.users().iter().all(|u| u.product_access.is_none()) => {
                        Some(Why::NoProductAccess)
                    }
                    _ => None,
                };
                match why {
                    None => ActivityFrom::Bulk,
                    Some(why) => {
                        let from;
                        ((first, rest), from) = o.managed((first, rest), why).await;
                        from
                    }
                }
            }
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

/// Whether the managed accounts stand in for a users search refused with 403, given how
/// their own request failed: not when they are refused too (the search's 403 says what the
/// key lacks); any other failure is their own.
fn stands_in(managed: &ApiError) -> bool {
    !matches!(managed, ApiError::Forbidden { .. })
}

/// Whether the users search is readable, with one request (`check`): when it is refused, one
/// request of the managed accounts tells whether they stand in for it (`Ok(false)`: only
/// they are visible).
pub async fn sees_every_user(client: &AtlassianClient) -> Result<bool, ApiError> {
    match client.search_users(None, 1, &[]).await {
        Ok(_) => Ok(true),
        Err(search) if search.is_forbidden_at(endpoints::USERS_SEARCH) => match client.managed_users_page(None).await {
            Ok(_) => Ok(false),
            Err(e) if stands_in(&e) => Err(e),
            Err(_) => Err(search),
        },
        Err(e) => Err(e),
    }
}

/// Why a pass with per-user activity for everyone cannot use the managed accounts.
const EMPTY_LIST: &str = "GET /admin/v1/orgs/{orgId}/users lists no managed account: the organization has no verified domain, or no account on it";

impl Opener {
    /// Activity from the managed accounts (read whole in the background) plus per-user
    /// requests for the rest; per-user for everyone when the list is empty, or, unless
    /// configured, when the key may not read it (4xx). Any other failure fails the pass.
    async fn managed(&self, (first, rest): Chain, why: Why) -> (Chain, ActivityFrom) {
        let mut list = pagination::managed_users(self.client.clone(), None, None);
        let unusable = match list.recv().await {
            Some(Ok(page)) if !page.items.users().is_empty() || page.next.is_some() => {
                let managed = ManagedActivity::read(page, list, self.sites.clone());
                return (self.wrap((first, rest), Some(managed)).await, ActivityFrom::Managed(why));
            }
            Some(Ok(_)) | None => EMPTY_LIST.to_string(),
            Some(Err(e)) if why != Why::Configured && (e.failure_type() == FailureType::ConfigError || matches!(e, ApiError::Client { .. })) => {
                e.to_string()
            }
            Some(Err(e)) => return ((Some(Err(e)), rest), ActivityFrom::Managed(why)),
        };
        (self.wrap((first, rest), None).await, ActivityFrom::PerUser(why, Some(unusable)))
    }

    /// The pages with each user's activity filled in ([`with_activity`]), from the first.
    async fn wrap(&self, (first, rest): Chain, managed: Option<ManagedActivity>) -> Chain {
        match first {
            Some(Ok(page)) => {
                let mut pages = with_activity(self.client.clone(), Some(page), rest, self.concurrency, managed);
                (pages.recv().await, pages)
            }
            other => (other, rest),
        }
    }
}

/// Starts a cursor chain at `start`; a start cursor the API rejects as invalid (`ADMIN-400-1`)
/// starts it again from the first page (`true`).
async fn open_chain(start: Option<String>, chain: impl Fn(Option<String>) -> mpsc::Receiver<UserPageResult>) -> (Chain, bool) {
    let mut rest = chain(start.clone());
    let first = rest.recv().await;
    let invalid = matches!(&first, Some(Err(ApiError::Client { status: 400, code: Some(c), .. })) if c == "ADMIN-400-1");
    if start.is_some() && invalid {
        let mut rest = chain(None);
        let first = rest.recv().await;
        return ((first, rest), true);
    }
    ((first, rest), false)
}
