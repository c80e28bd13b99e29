//! Opaque page cursors.
//!
//! A cursor is `base64url(json_payload || mac)` where `mac` is an 8-byte keyed
//! hash of the payload with a per-server salt, and the payload is the position
//! with the route's kind tag first (`{"t":"u",...}`). Clients cannot forge or edit
//! cursors, nor give one route another's, and cursors issued by another sandbox
//! instance (different salt) are rejected with `400 ADMIN-400-1`, like stale
//! cursors in the real API. Routes use them through the paging helper
//! (`server/paging.rs`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{de::DeserializeOwned, Serialize};

use crate::rng::hash_str;

/// Encoder/decoder bound to one salt.
#[derive(Debug, Clone, Copy)]
pub struct CursorCodec {
    salt: u64,
}

/// Position inside the users order (users search, v1 users).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UsersCursor {
    /// Sort key hash of the first user of the page (inclusive lower bound).
    pub h: u64,
    /// Account id of that user (tie-break).
    pub a: String,
}

/// Page position for last-active-dates of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LastActiveCursor {
    /// Hash of the account id the cursor belongs to.
    pub u: u64,
    /// Offset of the first entry of the page.
    pub o: usize,
}

/// Position in the organizations list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OrgsCursor {
    /// Offset of the first organization of the page.
    pub o: usize,
}

/// Workspaces page: the original request plus the offset.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct WorkspacesCursor {
    pub o: usize,
    pub l: usize,
    #[serde(default)]
    pub s: serde_json::Value,
    #[serde(default)]
    pub q: serde_json::Value,
}

impl CursorCodec {
    pub fn new(salt: u64) -> Self {
        CursorCodec { salt }
    }

    /// Encode a position of this `kind`.
    pub fn encode<T: Serialize>(&self, kind: &str, position: &T) -> String {
        #[derive(Serialize)]
        struct Tagged<'a, T> {
            t: &'a str,
            #[serde(flatten)]
            at: &'a T,
        }
        let mut bytes = serde_json::to_vec(&Tagged { t: kind, at: position }).unwrap_or_default();
        let mac = hash_str(self.salt, std::str::from_utf8(&bytes).unwrap_or(""));
        bytes.extend_from_slice(&mac.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decode and authenticate a position of this `kind`; `None` for anything malformed, foreign
    /// or of another kind.
    pub fn decode<T: DeserializeOwned>(&self, cursor: &str, kind: &str) -> Option<T> {
        let raw = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
        if raw.len() < 9 {
            return None;
        }
        let (payload, mac) = raw.split_at(raw.len() - 8);
        let text = std::str::from_utf8(payload).ok()?;
        let expected = hash_str(self.salt, text).to_be_bytes();
        if mac != expected {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if v.get("t").and_then(|t| t.as_str()) != Some(kind) {
            return None;
        }
        serde_json::from_value(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_tamper() {
        let c = CursorCodec::new(7);
        let p = UsersCursor { h: 99, a: "abc".into() };
        let s = c.encode("u", &p);
        assert!(URL_SAFE_NO_PAD.decode(&s).unwrap().starts_with(br#"{"t":"u","h":99,"a":"abc"}"#), "the kind first, then the position");
        assert_eq!(c.decode::<UsersCursor>(&s, "u"), Some(p.clone()));
        assert_eq!(c.decode::<UsersCursor>(&s, "l"), None);
        assert_eq!(CursorCodec::new(8).decode::<UsersCursor>(&s, "u"), None);
        let mut t = s.clone().into_bytes();
        t[3] = if t[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(c.decode::<UsersCursor>(std::str::from_utf8(&t).unwrap(), "u"), None);
        assert_eq!(c.decode::<UsersCursor>("not a cursor!", "u"), None);
        assert_eq!(c.decode::<UsersCursor>("", "u"), None);
    }
}
