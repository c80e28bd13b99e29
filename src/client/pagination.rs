//! Paging through the API's two cursor styles, as producer tasks that fetch the next page while
//! the consumer is still writing the previous one (a bounded channel keeps memory flat).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::error::{ApiError, Endpoint};
use super::managed::{self, SitesFuture};
use super::models::{ApiAccount, ApiWorkspace, GroupEntry, Page, UserPage};
use super::AtlassianClient;

/// Pages fetched ahead of the consumer (a chain has at most this many pages queued and one
/// more request in flight before the consumer takes its first page).
pub const PREFETCH: usize = 2;
/// Empty pages in a row that still point onwards before the chain is called stalled.
const MAX_EMPTY_PAGES: u32 = 20;

/// Refuses a cursor it has already seen, and a run of empty pages that keep pointing
/// onwards, so a server that repeats itself or stops advancing ends the read with an error
/// instead of looping. Keeps 8 bytes per page, not the cursors themselves.
#[derive(Debug)]
pub struct CursorGuard {
    endpoint: Endpoint,
    seen: HashSet<u64>,
    empty_run: u32,
}

impl CursorGuard {
    pub fn new(endpoint: Endpoint) -> Self {
        CursorGuard { endpoint, seen: HashSet::new(), empty_run: 0 }
    }

    /// Checks one fetched page: its item count and the cursor it points to.
    pub fn page(&mut self, items: usize, next: Option<&str>) -> Result<(), ApiError> {
        let Some(next) = next else { return Ok(()) };
        self.empty_run = if items == 0 { self.empty_run + 1 } else { 0 };
        if self.empty_run >= MAX_EMPTY_PAGES {
            return Err(ApiError::EmptyPages { endpoint: self.endpoint, pages: self.empty_run });
        }
        self.admit(next)
    }

    /// Records `cursor` as used; errors if it was used before.
    pub fn admit(&mut self, cursor: &str) -> Result<(), ApiError> {
        let mut h = DefaultHasher::new();
        cursor.hash(&mut h);
        if self.seen.insert(h.finish()) {
            Ok(())
        } else {
            Err(ApiError::RepeatedCursor { endpoint: self.endpoint })
        }
    }
}

/// One page and where it sits in the cursor chain.
#[derive(Debug)]
pub struct Chained<I> {
    pub items: I,
    /// The cursor that fetched this page (`None` for the first page).
    pub cursor: Option<String>,
    /// The cursor of the following page, `None` on the last page.
    pub next: Option<String>,
    /// The total the API announced, if any.
    pub total: Option<u64>,
}

/// A page of parsed items.
pub type Fetched<T> = Chained<Vec<T>>;

pub type PageResult<T> = Result<Fetched<T>, ApiError>;

/// A users-search page, its users borrowing from its body.
pub type UserPageResult = Result<Chained<UserPage>, ApiError>;

/// A page as the API returned it: its items, whether it had none, and its links.
pub trait Paged: Send + 'static {
    type Items: Send + 'static;
    fn into_parts(self) -> (Self::Items, bool, Option<String>, Option<u64>);
}

impl<T: Send + 'static> Paged for Page<T> {
    type Items = Vec<T>;
    fn into_parts(self) -> (Vec<T>, bool, Option<String>, Option<u64>) {
        let empty = self.data.is_empty();
        (self.data, empty, self.links.next, self.meta.and_then(|m| m.total))
    }
}

impl Paged for UserPage {
    type Items = UserPage;
    fn into_parts(self) -> (UserPage, bool, Option<String>, Option<u64>) {
        let (empty, next, total) = (self.users().is_empty(), self.next().map(str::to_owned), self.total());
        (self, empty, next, total)
    }
}

/// Walks a cursor chain: `fetch(cursor)` gets one page; pages go into the returned channel in
/// order, ending after the last page or the first error.
fn spawn_chain<P, F, Fut>(endpoint: Endpoint, start: Option<String>, fetch: F) -> mpsc::Receiver<Result<Chained<P::Items>, ApiError>>
where
    P: Paged,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<P, ApiError>> + Send,
{
    let (tx, rx) = mpsc::channel(PREFETCH);
    tokio::spawn(async move {
        let mut guard = CursorGuard::new(endpoint);
        let mut cursor = start;
        if let Some(c) = &cursor {
            // The starting cursor counts as seen: a server echoing it back is caught too.
            let _ = guard.admit(c);
        }
        loop {
            let page = match fetch(cursor.clone()).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let (items, empty, next, total) = page.into_parts();
            if let Err(e) = guard.page(usize::from(!empty), next.as_deref()) {
                let _ = tx.send(Err(e)).await;
                return;
            }
            let fetched = Chained { items, cursor: cursor.take(), next: next.clone(), total };
            if tx.send(Ok(fetched)).await.is_err() {
                return; // the consumer stopped
            }
            match next {
                Some(n) => cursor = Some(n),
                None => return,
            }
        }
    });
    rx
}

/// Every user of the configured directory, with the given expands, from `start` on; each
/// page parsed inside the retry loop, while the consumer writes the previous one.
pub fn users(client: Arc<AtlassianClient>, expand: Vec<&'static str>, start: Option<String>) -> mpsc::Receiver<UserPageResult> {
    spawn_chain(Endpoint::UsersSearch, start, move |cursor| {
        let client = client.clone();
        let expand = expand.clone();
        async move { client.search_users(cursor.as_deref(), client.page_size(), &expand).await }
    })
}

/// Every managed account (`GET /v1/orgs/{orgId}/users`), from `start`, in the users search's
/// shape. With `sites`, each page waits for the workspaces and its activity entries are
/// joined to them ([`managed::join_user`]): the pages the users pass is made of when the
/// users search is refused.
pub fn managed_users(client: Arc<AtlassianClient>, start: Option<String>, sites: Option<SitesFuture>) -> mpsc::Receiver<UserPageResult> {
    let told = Arc::new(AtomicBool::new(false));
    spawn_chain(Endpoint::ManagedUsers, start, move |cursor| {
        let (client, sites, told) = (client.clone(), sites.clone(), told.clone());
        async move {
            let mut page = client.managed_users_page(cursor.as_deref()).await?;
            if let Some(sites) = sites {
                let sites = sites.await;
                page.with_users_mut(|users| users.iter_mut().for_each(|u| managed::join_user(&client, u, &sites, &told)));
            }
            Ok(page)
        }
    })
}

/// Every user holding `role_id` on the site `resource_id` (an ARI): one filtered users search.
pub fn users_with_role(client: Arc<AtlassianClient>, resource_id: String, role_id: String) -> mpsc::Receiver<PageResult<ApiAccount>> {
    spawn_chain(Endpoint::UsersSearch, None, move |cursor| {
        let client = client.clone();
        let (resource_id, role_id) = (resource_id.clone(), role_id.clone());
        async move { client.search_users_with_roles(cursor.as_deref(), client.page_size(), &[&resource_id], &[&role_id]).await }
    })
}

/// Every workspace (product site) of the organization.
pub fn workspaces(client: Arc<AtlassianClient>) -> mpsc::Receiver<PageResult<ApiWorkspace>> {
    spawn_chain(Endpoint::Workspaces, None, move |cursor| {
        let client = client.clone();
        async move { client.workspaces_page(cursor.as_deref(), super::WORKSPACES_PAGE_LIMIT).await }
    })
}

/// Every group of the directory from `start` on, each with its role assignments (asked for
/// only for the groups that grant roles on some site, one group after another).
pub fn groups(client: Arc<AtlassianClient>, start: Option<String>) -> mpsc::Receiver<PageResult<GroupEntry>> {
    spawn_chain(Endpoint::GroupsSearch, start, move |cursor| {
        let client = client.clone();
        async move {
            let page = client.groups_page(cursor.as_deref()).await?;
            let mut data = Vec::with_capacity(page.data.len());
            for group in page.data {
                let roles = if group.may_grant_roles() { client.group_role_assignments(&group.id).await? } else { Vec::new() };
                data.push(GroupEntry { group, roles });
            }
            Ok(Page { data, links: page.links, meta: page.meta })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_refuses_a_repeated_cursor() {
        let mut g = CursorGuard::new(Endpoint::UsersSearch);
        assert!(g.admit("a").is_ok());
        assert!(g.admit("b").is_ok());
        assert!(matches!(g.admit("a"), Err(ApiError::RepeatedCursor { .. })));
    }

    #[test]
    fn guard_refuses_endless_empty_pages() {
        let mut g = CursorGuard::new(Endpoint::Workspaces);
        for i in 0..MAX_EMPTY_PAGES - 1 {
            assert!(g.page(0, Some(&format!("c{i}"))).is_ok());
        }
        assert!(g.page(3, Some("full")).is_ok(), "a page with items resets the run");
        assert!(g.page(0, None).is_ok(), "an empty last page is fine");
        for i in 0..MAX_EMPTY_PAGES - 1 {
            assert!(g.page(0, Some(&format!("d{i}"))).is_ok());
        }
        assert!(matches!(g.page(0, Some("again")), Err(ApiError::EmptyPages { .. })));
    }
}
