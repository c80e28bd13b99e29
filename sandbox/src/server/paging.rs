//! The one paging helper every list route writes its pages with: the page size a request asks
//! for ([`PageSize`]), opaque cursors ([`Cursors`]: encoded, decoded, a bad one refused with the
//! API's `400 ADMIN-400-1`), offset windows ([`window`]), and the page in each style the API
//! uses ([`Style`]): bare cursors in `links` (v2, last-active-dates, api-access), `links` URLs
//! with a `cursor` parameter (v1 lists), `meta.next` beside URL links (events, policies), and a
//! list under `items` (service accounts).

use std::marker::PhantomData;

use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::extract::CursorArg;
use super::{ok_json, Reply, Shared};

/// What a page size above the maximum gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeyondMax {
    /// A 400.
    Refused,
    /// The maximum.
    Served,
}

/// How a list's page size is asked for and bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageSize {
    /// The parameter (`limit`, `pageSize`).
    pub param: &'static str,
    pub default: usize,
    pub max: usize,
    pub beyond_max: BeyondMax,
    /// The code of the 400 for a size that does not fit.
    pub code: &'static str,
}

impl PageSize {
    /// The size a request asked for (`None`: the default); below 1, or above the maximum when
    /// that is refused, it is the API's 400.
    pub fn read(&self, s: &Shared, asked: Option<u64>) -> Result<usize, Response> {
        match asked {
            None => Ok(self.default),
            Some(n) if n >= 1 && n <= self.max as u64 => Ok(n as usize),
            Some(n) if n >= 1 && self.beyond_max == BeyondMax::Served => Ok(self.max),
            Some(_) => Err(s.bad_request(self.code, &self.expected())),
        }
    }

    fn expected(&self) -> String {
        match self.beyond_max {
            BeyondMax::Refused => format!("'{}' must be an integer between 1 and {}", self.param, self.max),
            BeyondMax::Served => format!("'{}' must be a positive integer", self.param),
        }
    }
}

/// The opaque cursors of one route: a position `C` tagged with `kind` and signed with the
/// server's salt ([`crate::cursor::CursorCodec`]), so another route's, another server's or an
/// edited cursor does not decode.
pub(crate) struct Cursors<C> {
    kind: &'static str,
    position: PhantomData<fn() -> C>,
}

impl<C: Serialize + DeserializeOwned> Cursors<C> {
    pub const fn new(kind: &'static str) -> Self {
        Cursors { kind, position: PhantomData }
    }

    pub fn write(&self, s: &Shared, at: &C) -> String {
        s.codec.encode(self.kind, at)
    }

    /// The position `cursor` names, or the API's `400 ADMIN-400-1`.
    pub fn decode(&self, s: &Shared, cursor: &str) -> Result<C, Response> {
        s.codec.decode(cursor, self.kind).ok_or_else(|| s.invalid_cursor())
    }

    /// The position a request's cursor names: `None` without one (absent or empty); one that
    /// does not decode, or that `valid` refuses, is the API's `400 ADMIN-400-1`.
    pub fn read_if(&self, s: &Shared, given: Option<&str>, valid: impl FnOnce(&C) -> bool) -> Result<Option<C>, Response> {
        match given.filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => match self.decode(s, c)? {
                at if valid(&at) => Ok(Some(at)),
                _ => Err(s.invalid_cursor()),
            },
        }
    }

    /// [`Cursors::read_if`] accepting any position this route issued.
    pub fn read(&self, s: &Shared, given: Option<&str>) -> Result<Option<C>, Response> {
        self.read_if(s, given, |_| true)
    }
}

/// The cursor a JSON body gives: `None` when absent, null or empty; anything but a string is
/// an invalid cursor (`400 ADMIN-400-1`), not an invalid body.
pub(crate) fn body_cursor(s: &Shared, cursor: Option<CursorArg>) -> Result<Option<String>, Response> {
    match cursor {
        None => Ok(None),
        Some(CursorArg::Text(c)) => Ok(Some(c).filter(|c| !c.is_empty())),
        Some(CursorArg::NotText(_)) => Err(s.invalid_cursor()),
    }
}

/// One page of a list read by offset: items `start..end` of `total`, and where the pages
/// before and after it start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start: usize,
    pub end: usize,
    pub prev: Option<usize>,
    pub next: Option<usize>,
}

/// The page of `size` items from `offset` (past the end: an empty page).
pub(crate) fn window(total: usize, offset: usize, size: usize) -> Window {
    let start = offset.min(total);
    let end = start.saturating_add(size).min(total);
    Window { start, end, prev: (start > 0).then(|| start.saturating_sub(size)), next: (end < total).then_some(end) }
}

/// One page: its items (or, for last-active-dates, its object) and the cursors of this page
/// and of its neighbours.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub data: Value,
    /// The cursor this page is read with (`None`: the first page, or a style that does not say).
    pub this: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// `meta` of a style that has none of its own (after `links`).
    pub meta: Option<Value>,
}

impl Page {
    pub fn of(data: impl Serialize) -> Page {
        Page { data: serde_json::to_value(data).unwrap_or(Value::Null), ..Page::default() }
    }

    pub fn this(self, cursor: Option<String>) -> Page {
        Page { this: cursor, ..self }
    }

    pub fn prev(self, cursor: Option<String>) -> Page {
        Page { prev: cursor, ..self }
    }

    pub fn next(self, cursor: Option<String>) -> Page {
        Page { next: cursor, ..self }
    }

    pub fn meta(self, meta: Value) -> Page {
        Page { meta: Some(meta), ..self }
    }
}

/// Where a page's cursors go: the paging styles of the API.
pub(crate) enum Style<'a> {
    /// v2 lists, last-active-dates, api-access: `{data, links: {self?, prev?, next?}, meta?}`,
    /// the links bare cursors.
    BareCursor,
    /// v1 lists: `{data, links: {self, prev?, next?}, meta?}`, each link `url?cursor=..`
    /// (`self` is `url` alone on the first page).
    UrlCursor { url: &'a str },
    /// events-stream, policies: `{data, meta: {next, page_size}, links: {self, next?}}`, the
    /// bare cursor in `meta.next` (`null` on the last page), the links `url` with the request's
    /// `query` and the cursor.
    MetaNext { url: &'a str, query: &'a [(&'static str, Option<&'a str>)] },
    /// service accounts: `{items, links: {self?, prev?, next?}, total}`, the links bare cursors.
    Items { total: usize },
}

impl Style<'_> {
    /// The page's JSON in this style.
    pub fn body(&self, page: Page) -> Value {
        match self {
            Style::BareCursor => with_meta(json!({"data": page.data, "links": links(page.this, page.prev, page.next)}), page.meta),
            Style::UrlCursor { url } => {
                let at = |c: Option<String>| c.map(|c| cursor_url(url, Some(&c)));
                let this = Some(cursor_url(url, page.this.as_deref()));
                with_meta(json!({"data": page.data, "links": links(this, at(page.prev), at(page.next))}), page.meta)
            }
            Style::MetaNext { url, query } => {
                let at = |c: Option<&str>| format!("{url}{}", query_string(query, c));
                let links = links(Some(at(page.this.as_deref())), None, page.next.as_deref().map(|n| at(Some(n))));
                let size = page.data.as_array().map_or(0, Vec::len);
                json!({"data": page.data, "meta": {"next": page.next, "page_size": size}, "links": links})
            }
            Style::Items { total } => json!({"items": page.data, "links": links(page.this, page.prev, page.next), "total": total}),
        }
    }

    pub fn reply(&self, page: Page) -> Reply {
        ok_json(&self.body(page))
    }
}

fn links(this: Option<String>, prev: Option<String>, next: Option<String>) -> Map<String, Value> {
    [("self", this), ("prev", prev), ("next", next)].into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v)))).collect()
}

fn with_meta(mut page: Value, meta: Option<Value>) -> Value {
    if let Some(meta) = meta {
        page["meta"] = meta;
    }
    page
}

/// A v1 list URL: `url`, with `?cursor=` when there is one (cursors are URL-safe base64).
pub(crate) fn cursor_url(url: &str, cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!("{url}?cursor={c}"),
        None => url.to_string(),
    }
}

/// `?cursor=..&k=v..`: the request's parameters that were given, `cursor` first (replaced).
fn query_string(query: &[(&str, Option<&str>)], cursor: Option<&str>) -> String {
    let parts: Vec<String> =
        std::iter::once(("cursor", cursor)).chain(query.iter().copied()).filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_slice_and_point_at_their_neighbours() {
        assert_eq!(window(45, 0, 20), Window { start: 0, end: 20, prev: None, next: Some(20) });
        assert_eq!(window(45, 40, 20), Window { start: 40, end: 45, prev: Some(20), next: None });
        assert_eq!(window(45, 10, 20), Window { start: 10, end: 30, prev: Some(0), next: Some(30) });
        assert_eq!(window(5, 9, 3), Window { start: 5, end: 5, prev: Some(2), next: None });
        assert_eq!(window(0, 0, 3), Window { start: 0, end: 0, prev: None, next: None });
        assert_eq!(window(3, 0, usize::MAX).end, 3);
    }

    #[test]
    fn each_style_puts_the_cursors_where_the_api_does() {
        let page = || Page::of([1, 2]).this(Some("c0".into())).prev(Some("cp".into())).next(Some("cn".into()));
        assert_eq!(
            Style::BareCursor.body(page().meta(json!({"total": 2}))),
            json!({"data": [1, 2], "links": {"self": "c0", "prev": "cp", "next": "cn"}, "meta": {"total": 2}})
        );
        assert_eq!(
            Style::UrlCursor { url: "http://h/l" }.body(page().this(None)),
            json!({"data": [1, 2], "links": {"self": "http://h/l", "prev": "http://h/l?cursor=cp", "next": "http://h/l?cursor=cn"}})
        );
        let query = [("limit", Some("2")), ("from", None)];
        assert_eq!(
            Style::MetaNext { url: "http://h/e", query: &query }.body(page()),
            json!({"data": [1, 2], "meta": {"next": "cn", "page_size": 2},
                   "links": {"self": "http://h/e?cursor=c0&limit=2", "next": "http://h/e?cursor=cn&limit=2"}})
        );
        assert_eq!(
            Style::MetaNext { url: "http://h/e", query: &[] }.body(Page::of(Vec::<u8>::new())),
            json!({"data": [], "meta": {"next": null, "page_size": 0}, "links": {"self": "http://h/e"}})
        );
        assert_eq!(Style::Items { total: 9 }.body(page().prev(None)), json!({"items": [1, 2], "links": {"self": "c0", "next": "cn"}, "total": 9}));
    }
}
