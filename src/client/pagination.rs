//! Paging through the API's two cursor styles, as producer tasks that fetch the next page while
//! the consumer is still writing the previous one (a bounded channel keeps memory flat).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::error::{ApiError, Endpoint};
use super::models::{ApiUser, ApiWorkspace, Page};
use super::AtlassianClient;

/// Pages fetched ahead of the consumer.
const PREFETCH: usize = 2;

/// Refuses a cursor it has already seen, so a server that repeats itself ends the read with an
/// error instead of looping. Keeps 8 bytes per page, not the cursors themselves.
#[derive(Debug)]
pub struct CursorGuard {
    endpoint: Endpoint,
    seen: HashSet<u64>,
}

impl CursorGuard {
    pub fn new(endpoint: Endpoint) -> Self {
        CursorGuard { endpoint, seen: HashSet::new() }
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
pub struct Fetched<T> {
    pub items: Vec<T>,
    /// The cursor that fetched this page (`None` for the first page).
    pub cursor: Option<String>,
    /// The cursor of the following page, `None` on the last page.
    pub next: Option<String>,
    /// The total the API announced, if any.
    pub total: Option<u64>,
}

pub type PageResult<T> = Result<Fetched<T>, ApiError>;

/// Walks a cursor chain: `fetch(cursor)` gets one page; pages go into the returned channel in
/// order, ending after the last page or the first error.
fn spawn_chain<T, F, Fut>(endpoint: Endpoint, start: Option<String>, fetch: F) -> mpsc::Receiver<PageResult<T>>
where
    T: Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, ApiError>> + Send,
{
    let (tx, rx) = mpsc::channel(PREFETCH);
    tokio::spawn(async move {
        let mut guard = CursorGuard::new(endpoint);
        let mut cursor = start;
        if let Some(c) = &cursor {
            // The starting cursor counts as seen: a server echoing it back is caught too.
            guard.admit(c).expect("a fresh guard admits its first cursor");
        }
        loop {
            let page = match fetch(cursor.clone()).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let next = page.links.next;
            if let Some(n) = &next {
                if let Err(e) = guard.admit(n) {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            let fetched = Fetched {
                items: page.data,
                cursor: cursor.take(),
                next: next.clone(),
                total: page.meta.and_then(|m| m.total),
            };
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

/// Every user of the configured directory, with the given expands, from `start` on.
pub fn users(client: Arc<AtlassianClient>, expand: Vec<&'static str>, start: Option<String>) -> mpsc::Receiver<PageResult<ApiUser>> {
    spawn_chain(Endpoint::UsersSearch, start, move |cursor| {
        let client = client.clone();
        let expand = expand.clone();
        async move { client.search_users(cursor.as_deref(), client.page_size(), &expand).await }
    })
}

/// Every workspace (product site) of the organization.
pub fn workspaces(client: Arc<AtlassianClient>) -> mpsc::Receiver<PageResult<ApiWorkspace>> {
    spawn_chain(Endpoint::Workspaces, None, move |cursor| {
        let client = client.clone();
        async move { client.workspaces_page(cursor.as_deref(), super::WORKSPACES_PAGE_LIMIT).await }
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
}
