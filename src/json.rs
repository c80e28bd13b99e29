//! Writing records as compact JSON: the hot path of a read.
//!
//! A 100k-user read writes ~200 MB of records. Through serde_json, every field name and every
//! string was checked for escapes one byte at a time, through a writer call per fragment,
//! which made output the largest single cost of a read (docs/performance.md). Records
//! implement [`WriteJson`] instead: field names are literals written as they are, strings are
//! checked eight bytes at a time, and text borrowed from a response body without escapes is
//! written without a second look (`Text`). A record type is declared once, with
//! [`json_record!`]: its fields are its JSON keys, in order, so the two cannot drift apart.

/// A value that writes itself as compact JSON.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// Declares a record struct and its [`WriteJson`] from one field list: each field is written
/// under its own name (or the `as "key"` given, for a key that is no Rust name), in order.
/// Followed by `observed`, the struct gets two more fields, written last — `observed_at` and
/// `deleted_at` (as `_ab_cdc_deleted_at`) — and implements [`Observed`]: it can be written
/// unstamped, fingerprinted and then stamped.
///
/// ```ignore
/// json_record! {
///     pub struct Seat<'a> {
///         pub account_id: &'a str,
///         pub deleted_at as "_ab_cdc_deleted_at": Option<&'a str>,
///     }
/// }
/// ```
macro_rules! json_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> {
            $( $(#[$field_meta:meta])* pub $field:ident $(as $key:literal)? : $ty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name<$lt> {
            $( $(#[$field_meta])* pub $field: $ty, )+
        }

        impl $crate::json::WriteJson for $name<'_> {
            fn write_json(&self, out: &mut Vec<u8>) {
                $crate::json::json_record!(@fields self, out, $($field $(as $key)?),+);
                out.push(b'}');
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> {
            $( $(#[$field_meta:meta])* pub $field:ident $(as $key:literal)? : $ty:ty ),+ $(,)?
        }
        observed
    ) => {
        $(#[$meta])*
        pub struct $name<$lt> {
            $( $(#[$field_meta])* pub $field: $ty, )+
            /// When this version was observed (the sync's time): the cursor of incremental syncs.
            pub observed_at: Option<&$lt str>,
            /// Set on the record of a key that is gone (incremental syncs).
            pub deleted_at: Option<&$lt str>,
        }

        impl $crate::json::WriteJson for $name<'_> {
            fn write_json(&self, out: &mut Vec<u8>) {
                $crate::json::json_record!(@fields self, out, $($field $(as $key)?),+);
                out.extend_from_slice(b",\"observed_at\":");
                $crate::json::WriteJson::write_json(&self.observed_at, out);
                out.extend_from_slice(b",\"_ab_cdc_deleted_at\":");
                $crate::json::WriteJson::write_json(&self.deleted_at, out);
                out.push(b'}');
            }
        }

        impl<$lt> $crate::json::Observed<$lt> for $name<$lt> {
            fn observed(&mut self, at: &$lt str) {
                self.observed_at = Some(at);
            }

            fn write_unstamped<'b>(&self, out: &'b mut Vec<u8>) -> $crate::json::Unstamped<'b> {
                let start = out.len();
                $crate::json::json_record!(@fields self, out, $($field $(as $key)?),+);
                $crate::json::Unstamped::end(out, start)
            }
        }
    };
    (@fields $self:ident, $out:ident, $($field:ident $(as $key:literal)?),+) => {
        let mut open = b'{';
        $(
            $out.push(open);
            open = b',';
            $out.extend_from_slice(concat!("\"", $crate::json::json_key!($field $(, $key)?), "\":").as_bytes());
            $crate::json::WriteJson::write_json(&$self.$field, $out);
        )+
        let _ = open;
    };
}
pub(crate) use json_record;

/// The JSON key of a [`json_record!`] field: its name, or the key it names.
macro_rules! json_key {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $key:literal) => {
        $key
    };
}
pub(crate) use json_key;

/// A record that carries when it was observed (declared with `json_record!`'s `observed`
/// form, which puts `observed_at` and `_ab_cdc_deleted_at` last).
pub trait Observed<'a>: WriteJson {
    fn observed(&mut self, at: &'a str);
    /// Writes the record with `observed_at` and `_ab_cdc_deleted_at` null — what an
    /// incremental read fingerprints — to be stamped then ([`Unstamped::stamp`]).
    fn write_unstamped<'b>(&self, out: &'b mut Vec<u8>) -> Unstamped<'b>;
}

/// How a record written unstamped ends: its last two fields, both null.
const UNSTAMPED_END: &[u8] = b",\"observed_at\":null,\"_ab_cdc_deleted_at\":null}";

/// A record just written unstamped at the end of a buffer; only [`Observed::write_unstamped`]
/// makes one, so its tail is known.
#[derive(Debug)]
pub struct Unstamped<'b> {
    out: &'b mut Vec<u8>,
    start: usize,
}

impl<'b> Unstamped<'b> {
    /// Ends a record whose other fields are written at `out[start..]`.
    #[doc(hidden)]
    pub fn end(out: &'b mut Vec<u8>, start: usize) -> Self {
        out.extend_from_slice(UNSTAMPED_END);
        Unstamped { out, start }
    }

    /// The record's JSON.
    pub fn bytes(&self) -> &[u8] {
        &self.out[self.start..]
    }

    /// Sets `observed_at`, as if the record had been written with it.
    pub fn stamp(self, observed_at: &str) {
        self.out.truncate(self.out.len() - UNSTAMPED_END.len());
        self.out.extend_from_slice(b",\"observed_at\":");
        write_str(self.out, observed_at);
        self.out.extend_from_slice(b",\"_ab_cdc_deleted_at\":null}");
    }
}

/// JSON already written (e.g. to fingerprint it first), copied out as it is.
#[derive(Debug)]
pub struct RawJson<'a>(pub &'a [u8]);

impl WriteJson for RawJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0);
    }
}

impl WriteJson for str {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str(out, self);
    }
}

impl WriteJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str(out, self);
    }
}

impl<T: WriteJson + ?Sized> WriteJson for &T {
    fn write_json(&self, out: &mut Vec<u8>) {
        (**self).write_json(out);
    }
}

impl<T: WriteJson> WriteJson for Option<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(v) => v.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: WriteJson> WriteJson for [T] {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            v.write_json(out);
        }
        out.push(b']');
    }
}

impl WriteJson for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl WriteJson for $t {
            fn write_json(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
            }
        }
    )*};
}
integers!(i64, u64);

/// Free-form JSON (workspace labels and regions): rare and small, so serde_json writes it.
impl WriteJson for serde_json::Value {
    fn write_json(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if serde_json::to_writer(&mut *out, self).is_err() {
            // Unreachable (a Value's keys are strings), but never half a value.
            out.truncate(start);
            out.extend_from_slice(b"null");
        }
    }
}

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let Some(first) = first_escape(s.as_bytes()) else { return write_plain_str(out, s) };
    out.reserve(s.len() + 8);
    out.push(b'"');
    write_escaped(out, s.as_bytes(), first);
    out.push(b'"');
}

/// Appends `s` between quotes as it is: only for text known to need no escape.
pub fn write_plain_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Where the first byte that needs an escape is, checking eight bytes at a time (and the last
/// few one by one: short strings — ids, timestamps — are most of what a read writes).
#[inline]
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        if needs_escape(u64::from_le_bytes(chunk.try_into().expect("eight bytes"))) {
            return chunk.iter().position(|&b| is_escaped(b)).map(|k| n * 8 + k);
        }
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| is_escaped(b)).map(|k| bytes.len() - tail.len() + k)
}

#[inline]
fn is_escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Appends `bytes` escaped, the first escape being at `first`.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], first: usize) {
    let mut start = 0;
    for (j, &b) in bytes.iter().enumerate().skip(first) {
        if is_escaped(b) {
            out.extend_from_slice(&bytes[start..j]);
            push_escape(out, b);
            start = j + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// `\u00XX` for control bytes without a short escape, as serde_json writes them.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the escape of `b`, a control byte, `"` or `\`, as serde_json writes it.
#[inline]
fn push_escape(out: &mut Vec<u8>, b: u8) {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// True if any byte of `w` is a control byte, `"` or `\`.
#[inline]
fn needs_escape(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    (below_space | bytes_equal(w, b'"') | bytes_equal(w, b'\\')) & HIGH != 0
}

/// The high bit of each byte of `w` equal to `c`: exact for the first (lowest) such byte,
/// which is all callers use (a borrow can only mark bytes after it).
#[inline]
fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text<T: WriteJson + ?Sized>(v: &T) -> String {
        let mut out = Vec::new();
        v.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    proptest! {
        #[test]
        fn escapes_every_string_as_serde_json_does(s in "(.|[\\x00-\\x1f\"\\\\\\x7f]){0,70}") {
            prop_assert_eq!(text(s.as_str()), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn values_as_serde_json_writes_them(n in any::<i64>(), u in any::<u64>(), b: bool, o in proptest::option::of(".{0,9}")) {
            prop_assert_eq!(text(&n), serde_json::to_string(&n).unwrap());
            prop_assert_eq!(text(&u), serde_json::to_string(&u).unwrap());
            prop_assert_eq!(text(&b), serde_json::to_string(&b).unwrap());
            prop_assert_eq!(text(&o), serde_json::to_string(&o).unwrap());
            let list = vec![o.clone(), None, o];
            prop_assert_eq!(text(list.as_slice()), serde_json::to_string(&list).unwrap());
        }
    }

    json_record! {
        pub struct Sample<'a> {
            pub a: &'a str,
            pub b: Option<u64>,
            pub c: Option<bool>,
            pub d as "_d": serde_json::Value,
        }
    }

    #[test]
    fn records_and_free_form_values() {
        let sample = Sample { a: "x\n", b: Some(7), c: None, d: serde_json::json!(["a\"", {"k": 1.5}]) };
        assert_eq!(text(&sample), r#"{"a":"x\n","b":7,"c":null,"_d":["a\"",{"k":1.5}]}"#);
    }
}
