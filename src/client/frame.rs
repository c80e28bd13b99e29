//! Finding the top-level members of a list page without parsing its items.
//!
//! The users-search cursor chain is sequential: the next request needs only `links.next`.
//! These scanners find where `data`, `links` and `meta` sit in a body, so the chain can ask
//! for the next page at once, and the items are parsed exactly once, later, by
//! [`super::pagination::users`]. [`scan`] reads around `data` (the members before it and
//! after it, not the users); [`scan_exact`] reads the whole body. A cut-off or malformed body
//! is refused here (and retried like any unreadable body); syntax errors inside balanced
//! items are caught by the later parse.

use std::ops::Range;

use crate::json::{bytes_equal, word_at};

/// Where a page's members sit in its body (byte ranges of their values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub data: Range<usize>,
    pub links: Option<Range<usize>>,
    pub meta: Option<Range<usize>>,
    /// The end of `data` was taken from the end of the body, not checked by a forward scan
    /// (see [`scan`]); only a parse of `data` proves it.
    pub data_end_unchecked: bool,
}

/// Why a body could not be framed, worded like [`super::error::describe_decode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the body ends early, as if cut off ({len} bytes)")]
    CutOff { len: usize },
    #[error("the body is not valid JSON ({what} at byte {at})")]
    Syntax { what: &'static str, at: usize },
    #[error("the JSON has an unexpected shape ({0})")]
    Shape(&'static str),
}

/// Locates `data` (which must be a list), `links` and `meta` in a page body, reading as
/// little of `data` as it can.
///
/// The members before `data` are read forwards and the members after it backwards, from the
/// end of the body, until a value that ends in `]`: in the pages the API sends, that is
/// `data` itself, so the users are never scanned here. If `links` was among the members read,
/// the frame is returned with `data_end_unchecked`: were a list member to follow `data`, the
/// later parse of `data` fails on its trailing text and [`scan_exact`] finds the true end
/// (`links`, read exactly, is right either way). Otherwise the body is scanned exactly.
///
/// A body cut off at the end of an object inside `data` can pass for a whole one here; its
/// `data` then cannot parse, and the read fails on it (instead of retrying the request, as it
/// does for every other cut).
pub fn scan(text: &str) -> Result<Frame, FrameError> {
    match (Scanner { b: text.as_bytes() }).around_data() {
        Ok(Some(frame)) => Ok(frame),
        // Anything unusual, including every error, is left to the exact scan to judge.
        _ => scan_exact(text),
    }
}

/// Locates `data`, `links` and `meta` by reading the whole body forwards (strings skipped
/// eight bytes at a time, brackets counted).
pub fn scan_exact(text: &str) -> Result<Frame, FrameError> {
    let s = Scanner { b: text.as_bytes() };
    let (mut data, mut links, mut meta) = (None, None, None);
    let mut i = s.ws(0)?;
    s.expect(i, b'{', "expected an object")?;
    i = s.ws(i + 1)?;
    if s.b[i] == b'}' {
        i += 1;
    } else {
        loop {
            let (key, start) = s.member_at(i)?;
            let end = s.value_end(start)?;
            let slot = match &s.b[key] {
                b"data" => Some((&mut data, "duplicate field `data`")),
                b"links" => Some((&mut links, "duplicate field `links`")),
                b"meta" => Some((&mut meta, "duplicate field `meta`")),
                _ => None,
            };
            if let Some((slot, duplicate)) = slot {
                if slot.replace(start..end).is_some() {
                    return Err(FrameError::Shape(duplicate));
                }
            }
            i = s.ws(end)?;
            match s.b[i] {
                b',' => i = s.ws(i + 1)?,
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return Err(FrameError::Syntax { what: "expected `,` or `}`", at: i }),
            }
        }
    }
    if let Some(at) = s.b[i..].iter().position(|c| !c.is_ascii_whitespace()) {
        return Err(FrameError::Syntax { what: "trailing characters", at: i + at });
    }
    let data = data.ok_or(FrameError::Shape("missing field `data`"))?;
    if s.b[data.start] != b'[' {
        return Err(FrameError::Shape("`data` is not a list"));
    }
    Ok(Frame { data, links, meta, data_end_unchecked: false })
}

/// True when the list text `[ ... ]` holds no items.
pub fn is_empty_list(list: &str) -> bool {
    list.get(1..list.len().saturating_sub(1)).is_none_or(|inner| inner.trim().is_empty())
}

struct Scanner<'a> {
    b: &'a [u8],
}

impl Scanner<'_> {
    /// The frame of [`scan`]'s shortcut, if it applies.
    fn around_data(&self) -> Result<Option<Frame>, FrameError> {
        let Some((data_start, mut members)) = self.members_before_data()? else { return Ok(None) };
        let Some(data_end) = self.members_after_data(&mut members)? else { return Ok(None) };
        let find = |name: &[u8]| members.iter().find(|(key, _)| &self.b[key.clone()] == name).map(|(_, value)| value.clone());
        let (links, meta) = (find(b"links"), find(b"meta"));
        if links.is_none() || data_end <= data_start {
            return Ok(None);
        }
        Ok(Some(Frame { data: data_start..data_end, links, meta, data_end_unchecked: true }))
    }

    fn cut_off(&self) -> FrameError {
        FrameError::CutOff { len: self.b.len() }
    }

    /// The first non-whitespace position from `i`; the body must not end there.
    fn ws(&self, mut i: usize) -> Result<usize, FrameError> {
        while i < self.b.len() && self.b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < self.b.len() {
            Ok(i)
        } else {
            Err(self.cut_off())
        }
    }

    /// The members before `data` (key and value ranges) and where `data`'s list starts; `None`
    /// if the body has no `data` member or it is not a list, an error if it breaks off (both
    /// left to [`scan_exact`] to judge).
    fn members_before_data(&self) -> Result<Option<(usize, Vec<(Range<usize>, Range<usize>)>)>, FrameError> {
        let mut members = Vec::new();
        let mut i = self.ws(0)?;
        self.expect(i, b'{', "expected an object")?;
        i = self.ws(i + 1)?;
        loop {
            let (key, start) = self.member_at(i)?;
            if &self.b[key.clone()] == b"data" {
                return Ok((self.b[start] == b'[').then_some((start, members)));
            }
            let end = self.value_end(start)?;
            members.push((key, start..end));
            i = self.ws(end)?;
            if self.b[i] != b',' {
                return Ok(None);
            }
            i = self.ws(i + 1)?;
        }
    }

    /// Reads the members after `data` backwards from the end of the body, adding them to
    /// `members`, up to the first value that ends in `]`; returns the position just past that
    /// `]`, or `None` if there is none.
    fn members_after_data(&self, members: &mut Vec<(Range<usize>, Range<usize>)>) -> Result<Option<usize>, FrameError> {
        let mut end = self.ws_back(self.b.len())?;
        self.expect(end, b'}', "expected the body to end in `}`")?;
        loop {
            let last = self.ws_back(end)?;
            if self.b[last] == b']' {
                return Ok(Some(last + 1));
            }
            let start = self.value_start_back(last)?;
            let colon = self.ws_back(start)?;
            self.expect(colon, b':', "expected `:`")?;
            let key_close = self.ws_back(colon)?;
            self.expect(key_close, b'"', "expected a key")?;
            let key_open = self.string_start_back(key_close)?;
            members.push((key_open + 1..key_close, start..last + 1));
            end = self.ws_back(key_open)?;
            match self.b[end] {
                b',' => {}
                b'{' => return Ok(None),
                _ => return Err(FrameError::Syntax { what: "expected `,` or `{`", at: end }),
            }
        }
    }

    /// The last non-whitespace position before `i`.
    fn ws_back(&self, mut i: usize) -> Result<usize, FrameError> {
        while i > 0 {
            i -= 1;
            if !self.b[i].is_ascii_whitespace() {
                return Ok(i);
            }
        }
        Err(self.cut_off())
    }

    /// Where the value ending at `last` (inclusive) starts; values after `data` are small,
    /// so this goes a byte at a time.
    fn value_start_back(&self, last: usize) -> Result<usize, FrameError> {
        match self.b[last] {
            b'"' => self.string_start_back(last),
            b'}' => {
                let mut depth = 0usize;
                let mut j = last;
                loop {
                    match self.b[j] {
                        b'"' => j = self.string_start_back(j)?,
                        b'}' | b']' => depth += 1,
                        b'{' | b'[' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(j);
                            }
                        }
                        _ => {}
                    }
                    j = j.checked_sub(1).ok_or_else(|| self.cut_off())?;
                }
            }
            c if is_scalar_byte(c) => {
                let mut j = last;
                while j > 0 && is_scalar_byte(self.b[j - 1]) {
                    j -= 1;
                }
                Ok(j)
            }
            _ => Err(FrameError::Syntax { what: "expected a value", at: last }),
        }
    }

    /// The opening quote of the string whose closing quote is at `close`: the nearest quote
    /// before it that an even number of backslashes precedes (an odd number escapes it).
    fn string_start_back(&self, close: usize) -> Result<usize, FrameError> {
        let mut j = close;
        loop {
            j = self.b[..j].iter().rposition(|&c| c == b'"').ok_or_else(|| self.cut_off())?;
            let backslashes = self.b[..j].iter().rev().take_while(|&&c| c == b'\\').count();
            if backslashes % 2 == 0 {
                return Ok(j);
            }
        }
    }

    /// The member whose key opens at `i`: the key's range (between its quotes) and where its
    /// value starts.
    fn member_at(&self, i: usize) -> Result<(Range<usize>, usize), FrameError> {
        self.expect(i, b'"', "expected a key")?;
        let key_end = self.string_end(i)?;
        let colon = self.ws(key_end)?;
        self.expect(colon, b':', "expected `:`")?;
        Ok((i + 1..key_end - 1, self.ws(colon + 1)?))
    }

    fn expect(&self, i: usize, c: u8, what: &'static str) -> Result<(), FrameError> {
        if self.b[i] == c {
            Ok(())
        } else {
            Err(FrameError::Syntax { what, at: i })
        }
    }

    /// The position just past the string opening at `i`, eight bytes at a time (strings are
    /// short: a `memchr` call per string cost more).
    fn string_end(&self, i: usize) -> Result<usize, FrameError> {
        let mut j = i + 1;
        while j < self.b.len() {
            let w = word_at(self.b, j);
            let hits = bytes_equal(w, b'"') | bytes_equal(w, b'\\');
            if hits == 0 {
                j += 8;
                continue;
            }
            let k = j + (hits.trailing_zeros() / 8) as usize;
            if self.b[k] == b'"' {
                return Ok(k + 1);
            }
            j = k + 2; // an escape: the next byte is never the end of the string
        }
        Err(self.cut_off())
    }

    /// The position just past the value starting at `i`. Nested values are skipped by
    /// counting brackets outside strings; the later parse checks them in detail.
    fn value_end(&self, i: usize) -> Result<usize, FrameError> {
        match self.b[i] {
            b'"' => self.string_end(i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < self.b.len() {
                    match self.b[j] {
                        b'"' => {
                            j = self.string_end(j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                Err(self.cut_off())
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                let len = self.b[i..].iter().position(|&c| !is_scalar_byte(c));
                // A scalar that runs to the end of the body is cut off (a body never ends in one).
                len.map(|n| i + n).ok_or_else(|| self.cut_off())
            }
            _ => Err(FrameError::Syntax { what: "expected a value", at: i }),
        }
    }
}

/// A byte of a number, `true`, `false` or `null`.
fn is_scalar_byte(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'+' | b'-' | b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::models::{PageBody, UserPage};

    fn members(text: &str) -> (String, Option<String>, Option<String>) {
        let f = scan_exact(text).unwrap();
        let get = |r: Range<usize>| text[r].to_string();
        (get(f.data), f.links.map(get), f.meta.map(get))
    }

    #[test]
    fn finds_members_in_any_order_past_tricky_strings() {
        let text = r#" { "meta" : {"total": 3}, "data":[{"n":"a \"]}\\","x":[1,{"y":"}"}]},{}] ,"other":[true,null,-1.5e3],"links":{"next":"c\"1"} } "#;
        let (data, links, meta) = members(text);
        assert_eq!(data, r#"[{"n":"a \"]}\\","x":[1,{"y":"}"}]},{}]"#);
        assert_eq!(links.as_deref(), Some(r#"{"next":"c\"1"}"#));
        assert_eq!(meta.as_deref(), Some(r#"{"total": 3}"#));
    }

    #[test]
    fn agrees_with_serde_json_on_valid_pages() {
        let page = serde_json::json!({"data": [{"a": "x\u{1}é\"", "b": [1, 2.5, null, {"c": []}]}], "links": {"next": null}, "z": 7});
        for text in [page.to_string(), serde_json::to_string_pretty(&page).unwrap()] {
            let f = scan(&text).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text[f.data.clone()]).unwrap();
            assert_eq!(v, page["data"]);
            assert!(f.meta.is_none());
            let links: serde_json::Value = serde_json::from_str(&text[f.links.unwrap()]).unwrap();
            assert_eq!(links, page["links"]);
        }
    }

    #[test]
    fn a_body_cut_off_anywhere_is_cut_off() {
        let text = r#"{"data":[{"accountId":"a\"b","n":12}],"links":{"next":"x"}}"#;
        for end in 0..text.len() {
            let e = scan(&text[..end]).unwrap_err();
            assert!(matches!(e, FrameError::CutOff { .. } | FrameError::Shape(_)), "{end}: {e:?}");
        }
        assert!(scan(text).is_ok());
    }

    #[test]
    fn wrong_shapes_and_syntax_are_refused() {
        assert_eq!(scan(r#"{"links":{}}"#), Err(FrameError::Shape("missing field `data`")));
        assert_eq!(scan(r#"{"data":{}}"#), Err(FrameError::Shape("`data` is not a list")));
        assert_eq!(scan(r#"{"data":[],"data":[]}"#), Err(FrameError::Shape("duplicate field `data`")));
        assert!(matches!(scan("[1]"), Err(FrameError::Syntax { .. })));
        assert!(matches!(scan(r#"{"data":[]} x"#), Err(FrameError::Syntax { what: "trailing characters", .. })));
        assert!(matches!(scan(r#"{"data":[] "links":{}}"#), Err(FrameError::Syntax { .. })));
        assert!(matches!(scan(r#"{"data":,}"#), Err(FrameError::Syntax { .. })));
        assert!(matches!(scan("<html>"), Err(FrameError::Syntax { .. })));
        assert!(matches!(scan(""), Err(FrameError::CutOff { .. })));
        assert_eq!(scan("{}"), Err(FrameError::Shape("missing field `data`")));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(|f| serde_json::Value::from((f * 64.0).round() / 64.0)),
            "(.|[\\x00-\\x1f\"\\\\]){0,20}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z\"\\\\]{0,9}", inner, 0..6).prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Members in any order and of any value: the shortcut reads the same `links` as the
        /// exact scan, and its `data` is the exact one or one that cannot parse (the parse then
        /// falls back to the exact scan).
        #[test]
        fn the_shortcut_agrees_with_the_exact_scan(
            members in proptest::collection::vec((proptest::sample::select(vec!["links", "meta", "x", r#"y\""#]), json_value()), 0..5),
            at in 0usize..5,
            items in proptest::collection::vec(json_value(), 0..3),
            pretty: bool,
        ) {
            let mut page = serde_json::Map::new();
            for (i, (key, value)) in members.into_iter().enumerate() {
                if i == at {
                    page.insert("data".into(), serde_json::Value::Array(items.clone()));
                }
                page.insert(key.to_string(), value);
            }
            page.entry("data").or_insert(serde_json::Value::Array(items));
            let page = serde_json::Value::Object(page);
            let text = if pretty { serde_json::to_string_pretty(&page).unwrap() } else { page.to_string() };
            let (fast, exact) = (scan(&text).unwrap(), scan_exact(&text).unwrap());
            proptest::prop_assert_eq!(&fast.links, &exact.links);
            if fast.data != exact.data {
                proptest::prop_assert!(fast.data_end_unchecked);
                proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(&text[fast.data]).is_err());
            }
        }

        #[test]
        fn frames_any_page_as_serde_json_reads_it(items in proptest::collection::vec(json_value(), 0..5), next in json_value(), pretty: bool) {
            let page = serde_json::json!({"meta": {"x": next}, "data": items, "links": {"next": next}});
            let text = if pretty { serde_json::to_string_pretty(&page).unwrap() } else { page.to_string() };
            let f = scan(&text).unwrap();
            let data: serde_json::Value = serde_json::from_str(&text[f.data]).unwrap();
            proptest::prop_assert_eq!(&data, &page["data"]);
            let links: serde_json::Value = serde_json::from_str(&text[f.links.unwrap()]).unwrap();
            proptest::prop_assert_eq!(&links, &page["links"]);
            for end in [text.len() / 3, text.len() / 2, text.len() - 1] {
                if let Some(cut) = text.get(..end) {
                    proptest::prop_assert!(scan(cut).is_err());
                }
            }
        }
    }

    #[test]
    fn the_shortcut_reads_around_data_and_leaves_odd_bodies_to_the_exact_scan() {
        let usual = r#"{"data":[{"a":"]\\"},[1]],"links":{"next":"n\"}"},"meta":{"total":2}}"#;
        let f = scan(usual).unwrap();
        assert!(f.data_end_unchecked);
        assert_eq!(&usual[f.data.clone()], r#"[{"a":"]\\"},[1]]"#);
        assert_eq!(&usual[f.links.clone().unwrap()], r#"{"next":"n\"}"}"#);
        assert_eq!(f, Frame { data_end_unchecked: true, ..scan_exact(usual).unwrap() });

        let leading = r#"{"links":{"next":"x"}, "data" : [1] }"#;
        assert_eq!(scan(leading).unwrap(), Frame { data_end_unchecked: true, ..scan_exact(leading).unwrap() });

        // No links around data (a last page, or links elsewhere): scanned exactly.
        for text in [r#"{"data":[1]}"#, r#"{"data":[1],"x":{"links":{}}}"#, r#"{"meta":{},"data":[]}"#] {
            assert_eq!(scan(text).unwrap(), scan_exact(text).unwrap(), "{text}");
            assert!(!scan(text).unwrap().data_end_unchecked);
        }
        // A list member after data: the guess is wrong, and the later parse finds the true end.
        let odd = r#"{"data":[{"accountId":"a"}],"x":[2],"links":{"next":"c"}}"#;
        let (body, f) = PageBody::frame(odd.to_string()).unwrap();
        assert_eq!(&odd[f.links.unwrap()], r#"{"next":"c"}"#);
        assert!(body.data_end_unchecked);
        let page = UserPage::parse(body).unwrap();
        assert_eq!(page.users().len(), 1);

        // Cut off just after a user (whose own `links` pass for the page's): never a silent
        // last page — the users cannot be parsed, so the read fails.
        let cut = r#"{"data":[{"accountId":"a","groups":[],"links":{"self":"s"}},{"accountId":"b","groups":[],"links":{"self":"t"}}"#;
        let (body, f) = PageBody::frame(cut.to_string()).unwrap();
        assert!(f.data_end_unchecked);
        assert!(UserPage::parse(body).unwrap_err().contains("cut off"));
    }

    #[test]
    fn empty_lists() {
        assert!(is_empty_list("[]"));
        assert!(is_empty_list("[ \n ]"));
        assert!(!is_empty_list("[{}]"));
    }
}
