//! An account id held in 24 bytes: the two forms Atlassian uses are kept as raw bytes (24 hex
//! digits in 12 bytes; `<digits>:<uuid>` as its prefix and 16 bytes), anything else as text.
//! Their order is the order the packed states list ids in ([`super::packed`]): hex ids, then
//! prefixed ids by prefix text and uuid, then the others by text — so a sorted store is
//! written out as it stands.

use std::fmt;

/// The longest `<digits>` prefix kept as bytes (Atlassian's are 6 digits: `557058:`,
/// `712020:`); a longer one makes the id text.
const MAX_PREFIX: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKey {
    Hex([u8; 12]),
    /// The prefix's ASCII digits, padded with NULs (so byte order is text order), and the
    /// uuid's 16 bytes.
    Prefixed { prefix: [u8; MAX_PREFIX], uuid: [u8; 16] },
    Other(Box<str>),
}

const _: () = assert!(std::mem::size_of::<AccountKey>() == 24);

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Lowercase hex digits into bytes (`out.len() * 2` of them).
fn unhex(digits: impl Iterator<Item = u8>, out: &mut [u8]) -> Option<()> {
    let mut digits = digits;
    for byte in out.iter_mut() {
        *byte = nibble(digits.next()?)? << 4 | nibble(digits.next()?)?;
    }
    digits.next().is_none().then_some(())
}

fn push_hex(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

impl AccountKey {
    pub fn new(id: &str) -> AccountKey {
        Self::packed(id).unwrap_or_else(|| AccountKey::Other(id.into()))
    }

    fn packed(id: &str) -> Option<AccountKey> {
        if id.len() == 24 {
            let mut bytes = [0; 12];
            return unhex(id.bytes(), &mut bytes).map(|()| AccountKey::Hex(bytes));
        }
        let (digits, uuid) = id.split_once(':')?;
        let dashes = uuid.len() == 36 && [8, 13, 18, 23].iter().all(|&i| uuid.as_bytes()[i] == b'-');
        if !dashes || digits.is_empty() || digits.len() > MAX_PREFIX || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut prefix = [0; MAX_PREFIX];
        prefix[..digits.len()].copy_from_slice(digits.as_bytes());
        let mut bytes = [0; 16];
        unhex(uuid.bytes().filter(|c| *c != b'-'), &mut bytes)?;
        Some(AccountKey::Prefixed { prefix, uuid: bytes })
    }

    /// A hex id from its 12 bytes (as a state stores it).
    pub fn from_hex_bytes(bytes: [u8; 12]) -> AccountKey {
        AccountKey::Hex(bytes)
    }

    /// A prefixed id from its prefix text and uuid bytes (as a state stores them).
    pub fn from_prefixed(digits: &str, uuid: [u8; 16]) -> AccountKey {
        if !digits.is_empty() && digits.len() <= MAX_PREFIX && digits.bytes().all(|c| c.is_ascii_digit()) {
            let mut prefix = [0; MAX_PREFIX];
            prefix[..digits.len()].copy_from_slice(digits.as_bytes());
            return AccountKey::Prefixed { prefix, uuid };
        }
        let mut hex = String::with_capacity(32);
        push_hex(&uuid, &mut hex);
        AccountKey::new(&format!("{digits}:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
    }

    /// The prefix of a prefixed id, as text.
    pub fn prefix(&self) -> Option<&str> {
        match self {
            AccountKey::Prefixed { prefix, .. } => {
                let len = prefix.iter().position(|b| *b == 0).unwrap_or(MAX_PREFIX);
                Some(std::str::from_utf8(&prefix[..len]).expect("ASCII digits"))
            }
            _ => None,
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountKey::Hex(bytes) => {
                let mut s = String::with_capacity(24);
                push_hex(bytes, &mut s);
                f.write_str(&s)
            }
            AccountKey::Prefixed { uuid, .. } => {
                let mut hex = String::with_capacity(32);
                push_hex(uuid, &mut hex);
                let digits = self.prefix().expect("prefixed");
                write!(f, "{digits}:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
            }
            AccountKey::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips_and_only_canonical_ones_are_packed() {
        let cases = [
            ("5b10ac8d82e05b22cc7d4ef5", true),
            ("712020:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5", true),
            ("0557058:00000000-0000-0000-0000-00000000000a", true),
            ("712020:1ADB9F42-2B31-45DC-BD71-EA0A6BF91ED5", false), // upper case stays text
            ("12345678:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5", false), // a prefix too long to pack
            ("712020:1adb9f42-2b31-45dc-bd71ea0a6bf91ed5-", false),
            ("5B10AC8D82E05B22CC7D4EF5", false),
            ("qm:weird/ID", false),
            ("", false),
        ];
        for (id, packs) in cases {
            let key = AccountKey::new(id);
            assert_eq!(key.to_string(), id);
            assert_eq!(!matches!(key, AccountKey::Other(_)), packs, "{id}");
        }
    }

    #[test]
    fn the_order_is_the_packed_order() {
        let ids = [
            "00aa00aa00aa00aa00aa00aa",
            "ff0000000000000000000000",
            "12:ffffffff-ffff-ffff-ffff-ffffffffffff",
            "120:00000000-0000-0000-0000-000000000000",
            "557058:00000000-0000-0000-0000-000000000001",
            "557058:00000000-0000-0000-0000-000000000002",
            "6:00000000-0000-0000-0000-000000000000",
            "",
            "12345678:00000000-0000-0000-0000-000000000000",
            "A",
        ];
        let mut keys: Vec<AccountKey> = ids.iter().rev().map(|id| AccountKey::new(id)).collect();
        keys.sort();
        assert_eq!(keys.iter().map(ToString::to_string).collect::<Vec<_>>(), ids);
        let uuid = [7; 16];
        assert_eq!(AccountKey::from_prefixed("12345678", uuid), AccountKey::new(&AccountKey::from_prefixed("12345678", uuid).to_string()));
    }
}
