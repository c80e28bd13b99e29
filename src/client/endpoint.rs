//! An API endpoint as data: how it is called, how it pages, the scope a key needs for it,
//! what a 404 means there and whose rate limit it counts against. Streams declare the
//! endpoints they read ([`crate::streams`]); the client builds each request, pages, classifies
//! errors and paces from this alone, so a new endpoint is a constant, not a new variant.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// How an endpoint's list pages: where the cursor goes, and where the next one is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStyle {
    /// One answer, no cursor.
    Single,
    /// POST with the cursor in the body beside the request's own fields (the v2 searches);
    /// `links.next` is a bare cursor.
    BodyCursor,
    /// POST whose later pages send `{"cursor"}` alone (the v2 workspaces); `links.next` bare.
    BodyCursorAlone,
    /// GET `?cursor=`; `links.next` is a bare cursor (v2 lists, last-active-dates).
    QueryCursor,
    /// GET `?cursor=`; `links.next` is a URL whose `cursor` parameter is taken, never the URL
    /// itself (the v1 lists).
    NextUrl,
    /// GET `?cursor=`; the next cursor in `meta.next` (the audit log, policies), else
    /// `links.next` (bare, or a URL whose cursor is taken).
    MetaNext,
    /// GET with `pageSize` and `cursor` and no other parameter (the api-access lists answer
    /// 500 to any other); `links.next` a bare cursor.
    PageSize(u32),
    /// GET `?cursor=`; the list under `items` (the service accounts); `links.next` a bare
    /// cursor or a URL whose cursor is taken.
    Items,
}

/// What a 404 (other than the API's "no such organization") means on an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFound {
    /// Nothing is at that address: `base_url` is not the API root.
    WrongBase,
    /// The list is empty (e.g. an organization without a claimed domain).
    Empty,
    /// The API is not offered to this organization or key (an experimental API).
    Unavailable,
}

/// Whose rate limit the endpoint counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// The organization's quota, shared with most endpoints.
    Shared,
    /// A limit of its own path (the audit log: about 50 requests a minute), learned apart.
    OwnPath,
}

/// Everything the client knows about one endpoint.
#[derive(Debug)]
pub struct EndpointSpec {
    pub method: Method,
    /// The path template as Atlassian documents it, e.g. `/admin/v1/orgs/{orgId}/domains`:
    /// `{orgId}` and `{directoryId}` are the client's; other parameters are the call's.
    pub path: &'static str,
    /// The scope a key created with scopes needs.
    pub scope: &'static str,
    /// The scope as a 403 names it (with a caveat where Atlassian documents none).
    pub scope_advice: &'static str,
    pub pages: PageStyle,
    pub not_found: NotFound,
    pub pacing: Pacing,
}

impl EndpointSpec {
    const fn new(method: Method, path: &'static str, scope: &'static str) -> Self {
        EndpointSpec { method, path, scope, scope_advice: scope, pages: PageStyle::Single, not_found: NotFound::WrongBase, pacing: Pacing::Shared }
    }

    pub const fn get(path: &'static str, scope: &'static str) -> Self {
        Self::new(Method::Get, path, scope)
    }

    pub const fn post(path: &'static str, scope: &'static str) -> Self {
        Self::new(Method::Post, path, scope)
    }

    pub const fn pages(self, pages: PageStyle) -> Self {
        EndpointSpec { pages, ..self }
    }

    pub const fn not_found(self, not_found: NotFound) -> Self {
        EndpointSpec { not_found, ..self }
    }

    pub const fn own_rate_limit(self) -> Self {
        EndpointSpec { pacing: Pacing::OwnPath, ..self }
    }

    pub const fn scope_advice(self, scope_advice: &'static str) -> Self {
        EndpointSpec { scope_advice, ..self }
    }
}

/// An endpoint, named in messages by its method and path template (never a full URL).
#[derive(Clone, Copy)]
pub struct Endpoint(&'static EndpointSpec);

impl Endpoint {
    pub const fn new(spec: &'static EndpointSpec) -> Self {
        Endpoint(spec)
    }

    pub fn spec(self) -> &'static EndpointSpec {
        self.0
    }

    pub fn method(self) -> Method {
        self.0.method
    }

    pub fn path(self) -> &'static str {
        self.0.path
    }

    pub fn scope(self) -> &'static str {
        self.0.scope
    }

    pub fn scope_advice(self) -> &'static str {
        self.0.scope_advice
    }

    pub fn pages(self) -> PageStyle {
        self.0.pages
    }

    pub fn not_found(self) -> NotFound {
        self.0.not_found
    }

    pub fn pacing(self) -> Pacing {
        self.0.pacing
    }
}

/// Two endpoints are the same when their method and path are: a constant's address is not
/// guaranteed to be one.
impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.0.method == other.0.method && self.0.path == other.0.path
    }
}

impl Eq for Endpoint {}

impl Hash for Endpoint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.path.hash(state);
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.method.as_str(), self.0.path)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
