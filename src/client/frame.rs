//! Finding the top-level members of a list page without parsing its items.
//!
//! The users-search cursor chain is sequential: the next request needs only `links.next`.
//! This scanner finds where `data`, `links` and `meta` sit in the body (strings skipped eight
//! bytes at a time, brackets counted), so the chain can ask for the next page at once and the items
//! are parsed exactly once, later, by [`super::pagination::users`]. A body cut off anywhere is
//! caught here (and retried like any unreadable body); syntax errors inside balanced items are
//! caught by that later parse.

use std::ops::Range;

use crate::json::{bytes_equal, word_at};

/// Where a page's members sit in its body (byte ranges of their values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub data: Range<usize>,
    pub links: Option<Range<usize>>,
    pub meta: Option<Range<usize>>,
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

/// Locates `data` (which must be a list), `links` and `meta` in a page body.
pub fn scan(text: &str) -> Result<Frame, FrameError> {
    let s = Scanner { b: text.as_bytes() };
    let (mut data, mut links, mut meta) = (None, None, None);
    let mut i = s.ws(0)?;
    s.expect(i, b'{', "expected an object")?;
    i = s.ws(i + 1)?;
    if s.b[i] == b'}' {
        i += 1;
    } else {
        loop {
            s.expect(i, b'"', "expected a key")?;
            let key_end = s.string_end(i)?;
            let key = &s.b[i + 1..key_end - 1];
            i = s.ws(key_end)?;
            s.expect(i, b':', "expected `:`")?;
            let start = s.ws(i + 1)?;
            let end = s.value_end(start)?;
            let slot = match key {
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
    Ok(Frame { data, links, meta })
}

/// True when the list text `[ ... ]` holds no items.
pub fn is_empty_list(list: &str) -> bool {
    list.get(1..list.len().saturating_sub(1)).is_none_or(|inner| inner.trim().is_empty())
}

struct Scanner<'a> {
    b: &'a [u8],
}

impl Scanner<'_> {
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
                let len = self.b[i..].iter().position(|c| !matches!(c, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'+' | b'-' | b'.'));
                // A scalar that runs to the end of the body is cut off (a body never ends in one).
                len.map(|n| i + n).ok_or_else(|| self.cut_off())
            }
            _ => Err(FrameError::Syntax { what: "expected a value", at: i }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> (String, Option<String>, Option<String>) {
        let f = scan(text).unwrap();
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
    fn empty_lists() {
        assert!(is_empty_list("[]"));
        assert!(is_empty_list("[ \n ]"));
        assert!(!is_empty_list("[{}]"));
    }
}
