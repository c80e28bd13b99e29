//! Paging, once per page style ([`PageStyle`]): where a request puts its cursor
//! ([`AtlassianClient::fetch`]), where a page's next cursor is found
//! ([`AtlassianClient::next_cursor`]), and the cursor chain that walks the pages as a producer
//! task, fetching the next page while the consumer still writes the previous one (a bounded
//! channel keeps memory flat) and refusing a cursor it has seen ([`CursorGuard`]).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::endpoint::{Method, PageStyle};
use super::endpoints::{MANAGED_USERS, USERS_SEARCH, WORKSPACES};
use super::error::{ApiError, Endpoint};
use super::http::{json_body, Call};
use super::managed::{self, SitesFuture};
use super::models::{ApiAccount, ApiWorkspace, Page, UserPage};
use super::AtlassianClient;

/// What one request of an endpoint carries besides its cursor.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The values of the path's own parameters (all but `{orgId}` and `{directoryId}`), in order.
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    /// The fields of a POST body.
    pub body: Option<Value>,
}

impl Request {
    pub fn body(body: Value) -> Self {
        Request { body: Some(body), ..Request::default() }
    }

    pub fn path(path: Vec<String>) -> Self {
        Request { path, ..Request::default() }
    }

    pub fn query(query: Vec<(&'static str, String)>) -> Self {
        Request { query, ..Request::default() }
    }
}

impl AtlassianClient {
    /// One call of `endpoint` at `cursor` (the first page without one), the cursor placed as
    /// its page style wants, its body read by `decode`.
    pub(crate) async fn fetch<T>(&self, endpoint: Endpoint, request: &Request, cursor: Option<&str>, decode: fn(String) -> Result<T, String>) -> Result<T, ApiError> {
        let (url, body) = self.request_of(endpoint, request, cursor);
        let method = match endpoint.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        self.call(Call { endpoint, method, url, body: body.as_ref(), decode }).await
    }

    /// The URL and body of `endpoint`'s request at `cursor`.
    fn request_of(&self, endpoint: Endpoint, request: &Request, cursor: Option<&str>) -> (url::Url, Option<Value>) {
        let mut args = request.path.iter();
        let segments: Vec<&str> = endpoint
            .path()
            .trim_start_matches("/admin/")
            .split('/')
            .map(|segment| match segment {
                "{orgId}" => self.org_id(),
                "{directoryId}" => &self.directory_id,
                s if s.starts_with('{') => args.next().map_or("", String::as_str),
                s => s,
            })
            .collect();
        let mut url = self.url(&segments);
        let mut body = request.body.clone();
        {
            let mut query = url.query_pairs_mut();
            if let PageStyle::PageSize(size) = endpoint.pages() {
                query.append_pair("pageSize", &size.to_string());
            }
            for (k, v) in &request.query {
                query.append_pair(k, v);
            }
            match (endpoint.pages(), cursor) {
                (_, None) | (PageStyle::Single, _) => {}
                (PageStyle::BodyCursor, Some(c)) => {
                    body.get_or_insert_with(|| json!({}))["cursor"] = json!(c);
                }
                (PageStyle::BodyCursorAlone, Some(c)) => body = Some(json!({"cursor": c})),
                (PageStyle::QueryCursor | PageStyle::NextUrl | PageStyle::MetaNext | PageStyle::PageSize(_) | PageStyle::Items, Some(c)) => {
                    query.append_pair("cursor", c);
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        (url, body)
    }

    /// One page of a list, its next cursor found as its page style says (in `links.next`).
    pub async fn page<T: DeserializeOwned>(&self, endpoint: Endpoint, request: &Request, cursor: Option<&str>) -> Result<Page<T>, ApiError> {
        let mut page: Page<T> = self.fetch(endpoint, request, cursor, json_body).await?;
        let meta_next = page.meta.as_mut().and_then(|m| m.next.take());
        page.links.next = self.next_cursor(endpoint, page.links.next.as_deref(), meta_next)?;
        Ok(page)
    }

    /// The cursor of the page after this one: `links.next` as it is, or the `cursor` of the
    /// URL it is ([`PageStyle::NextUrl`]; either, as it looks, [`PageStyle::Items`]), or
    /// `meta.next` first ([`PageStyle::MetaNext`]).
    pub(crate) fn next_cursor(&self, endpoint: Endpoint, links_next: Option<&str>, meta_next: Option<String>) -> Result<Option<String>, ApiError> {
        match endpoint.pages() {
            PageStyle::Single => Ok(None),
            PageStyle::NextUrl => links_next.map(|link| self.cursor_of_link(endpoint, link)).transpose(),
            PageStyle::MetaNext if meta_next.is_some() => Ok(meta_next),
            PageStyle::MetaNext | PageStyle::Items => {
                links_next.map(|link| if looks_like_link(link) { self.cursor_of_link(endpoint, link) } else { Ok(link.to_string()) }).transpose()
            }
            PageStyle::BodyCursor | PageStyle::BodyCursorAlone | PageStyle::QueryCursor | PageStyle::PageSize(_) => Ok(links_next.map(str::to_string)),
        }
    }
}

/// A `links.next` that is a URL (absolute, or a path) rather than a bare cursor.
fn looks_like_link(next: &str) -> bool {
    next.starts_with('/') || next.starts_with("http://") || next.starts_with("https://")
}

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
pub fn spawn_chain<P, F, Fut>(endpoint: Endpoint, start: Option<String>, fetch: F) -> mpsc::Receiver<Result<Chained<P::Items>, ApiError>>
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

/// Every item of `endpoint`'s list from the cursor `start` on (from the first page without
/// one), page after page as its page style says; a 404 where the endpoint reads it as
/// [`NotFound::Empty`](super::endpoint::NotFound::Empty) is an empty list.
pub fn pages<T: DeserializeOwned + Send + 'static>(client: Arc<AtlassianClient>, endpoint: Endpoint, request: Request, start: Option<String>) -> mpsc::Receiver<PageResult<T>> {
    let request = Arc::new(request);
    spawn_chain(endpoint, start, move |cursor| {
        let (client, request) = (client.clone(), request.clone());
        async move { client.page_or_empty(endpoint, &request, cursor.as_deref()).await }
    })
}

impl AtlassianClient {
    /// Every item of a list over all its pages, a repeated cursor refused.
    pub async fn every_page<T: DeserializeOwned>(&self, endpoint: Endpoint, request: &Request) -> Result<Vec<T>, ApiError> {
        let mut guard = CursorGuard::new(endpoint);
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let page: Page<T> = self.page_or_empty(endpoint, request, cursor.as_deref()).await?;
            let empty = page.data.is_empty();
            out.extend(page.data);
            match page.links.next {
                Some(next) => {
                    guard.page(usize::from(!empty), Some(&next))?;
                    cursor = Some(next);
                }
                None => return Ok(out),
            }
        }
    }

    /// A page; an empty last one for a 404 the endpoint reads as an empty list.
    async fn page_or_empty<T: DeserializeOwned>(&self, endpoint: Endpoint, request: &Request, cursor: Option<&str>) -> Result<Page<T>, ApiError> {
        match self.page(endpoint, request, cursor).await {
            Err(e) if endpoint.not_found() == super::endpoint::NotFound::Empty && e.is_not_found() => Ok(Page::empty()),
            other => other,
        }
    }
}

/// Every user of the configured directory, with the given expands, from `start` on; each
/// page parsed inside the retry loop, while the consumer writes the previous one.
pub fn users(client: Arc<AtlassianClient>, expand: Vec<&'static str>, start: Option<String>) -> mpsc::Receiver<UserPageResult> {
    spawn_chain(USERS_SEARCH, start, move |cursor| {
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
    spawn_chain(MANAGED_USERS, start, move |cursor| {
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
    spawn_chain(USERS_SEARCH, None, move |cursor| {
        let client = client.clone();
        let (resource_id, role_id) = (resource_id.clone(), role_id.clone());
        async move { client.search_users_with_roles(cursor.as_deref(), client.page_size(), &[&resource_id], &[&role_id]).await }
    })
}

/// Every workspace (product site) of the organization.
pub fn workspaces(client: Arc<AtlassianClient>) -> mpsc::Receiver<PageResult<ApiWorkspace>> {
    spawn_chain(WORKSPACES, None, move |cursor| {
        let client = client.clone();
        async move { client.workspaces_page(cursor.as_deref(), super::WORKSPACES_PAGE_LIMIT).await }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> AtlassianClient {
        let config = crate::config::Config::from_value(&json!({"api_key": "k-12345678", "org_id": "o1", "base_url": "https://api.example.com"})).unwrap();
        AtlassianClient::new(&config).unwrap()
    }

    fn spec(method: Method, path: &'static str, pages: PageStyle) -> Endpoint {
        let spec = match method {
            Method::Get => super::super::endpoint::EndpointSpec::get(path, "read:x:admin"),
            Method::Post => super::super::endpoint::EndpointSpec::post(path, "read:x:admin"),
        };
        Endpoint::new(Box::leak(Box::new(spec.pages(pages))))
    }

    /// Where each page style puts the cursor, and what else it sends.
    #[test]
    fn each_page_style_asks_for_the_next_page_its_own_way() {
        let c = client();
        let search = Request::body(json!({"limit": 20}));
        let none = Request::default();
        let cases: Vec<(Endpoint, &Request, &str, Option<Value>)> = vec![
            (spec(Method::Post, "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search", PageStyle::BodyCursor), &search,
                "https://api.example.com/admin/v2/orgs/o1/directories/-/groups/search", Some(json!({"limit": 20, "cursor": "c2"}))),
            (spec(Method::Post, "/admin/v2/orgs/{orgId}/workspaces", PageStyle::BodyCursorAlone), &search,
                "https://api.example.com/admin/v2/orgs/o1/workspaces", Some(json!({"cursor": "c2"}))),
            (spec(Method::Get, "/admin/v1/orgs/{orgId}/domains", PageStyle::NextUrl), &none,
                "https://api.example.com/admin/v1/orgs/o1/domains?cursor=c2", None),
            (spec(Method::Get, "/admin/api-access/v1/orgs/{orgId}/api-tokens", PageStyle::PageSize(50)), &none,
                "https://api.example.com/admin/api-access/v1/orgs/o1/api-tokens?pageSize=50&cursor=c2", None),
            (spec(Method::Get, "/admin/api-access/v1/orgs/{orgId}/service-accounts", PageStyle::Items), &none,
                "https://api.example.com/admin/api-access/v1/orgs/o1/service-accounts?cursor=c2", None),
        ];
        for (endpoint, request, url, body) in cases {
            let (u, b) = c.request_of(endpoint, request, Some("c2"));
            assert_eq!((u.as_str(), b), (url, body), "{endpoint}");
        }
        let first = c.request_of(spec(Method::Get, "/admin/api-access/v1/orgs/{orgId}/api-tokens", PageStyle::PageSize(50)), &Request::default(), None);
        assert_eq!(first.0.as_str(), "https://api.example.com/admin/api-access/v1/orgs/o1/api-tokens?pageSize=50", "pageSize alone, nothing else");
        let path = Request::path(vec!["g/1 x".into()]);
        let (u, _) = c.request_of(spec(Method::Get, "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments", PageStyle::QueryCursor), &path, None);
        assert_eq!(u.as_str(), "https://api.example.com/admin/v2/orgs/o1/directories/-/groups/g%2F1%20x/role-assignments", "a path parameter is one segment");
    }

    /// Where each page style finds the next cursor.
    #[test]
    fn each_page_style_finds_the_next_cursor_where_it_is() {
        let c = client();
        let next = |style, links: Option<&str>, meta: Option<&str>| c.next_cursor(spec(Method::Get, "/admin/v1/x", style), links, meta.map(String::from)).unwrap();
        let url = "https://api.atlassian.com/admin/v1/x?cursor=u1";
        assert_eq!(next(PageStyle::QueryCursor, Some("b1"), None), Some("b1".into()));
        assert_eq!(next(PageStyle::PageSize(50), Some("b1"), Some("m1")), Some("b1".into()));
        assert_eq!(next(PageStyle::NextUrl, Some(url), None), Some("u1".into()));
        assert_eq!(next(PageStyle::MetaNext, Some(url), Some("m1")), Some("m1".into()), "meta.next first");
        assert_eq!(next(PageStyle::MetaNext, Some(url), None), Some("u1".into()));
        assert_eq!(next(PageStyle::Items, Some("b1"), None), Some("b1".into()));
        assert_eq!(next(PageStyle::Items, Some(url), None), Some("u1".into()));
        assert_eq!(next(PageStyle::Single, Some("b1"), Some("m1")), None);
        assert_eq!(next(PageStyle::NextUrl, None, None), None);
        assert!(c.next_cursor(spec(Method::Get, "/admin/v1/x", PageStyle::NextUrl), Some("https://api.atlassian.com/admin/v1/x"), None).is_err(), "a link without a cursor");
    }

    #[test]
    fn guard_refuses_a_repeated_cursor() {
        let mut g = CursorGuard::new(USERS_SEARCH);
        assert!(g.admit("a").is_ok());
        assert!(g.admit("b").is_ok());
        assert!(matches!(g.admit("a"), Err(ApiError::RepeatedCursor { .. })));
    }

    #[test]
    fn guard_refuses_endless_empty_pages() {
        let mut g = CursorGuard::new(WORKSPACES);
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
