//! Compact, deterministic encodings of the sets an incremental state keeps: account ids with a
//! 31-bit fingerprint and a "seen in this pass" flag (`users`), account id sets
//! (`license_assignments`), and each account's (product, fingerprint) pairs (`user_activity`).
//! Each is a binary blob in base64, so a state of 100,000 users stays about 2 MB instead of
//! 5+ MB of JSON.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// FNV-1a, 64 bits: stable across builds and Rust versions (std's hasher is not), which a
/// fingerprint stored in a state must be.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff; // separator, so ("ab","c") and ("a","bc") differ
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn b64_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    B64.decode(text).map_err(|e| DecodeError(format!("not base64: {e}")))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError("truncated".into()));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("bad varint".into()))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    /// A count of items of at least `item_size` bytes: refuses counts the data cannot hold,
    /// so a hostile state cannot make us allocate.
    fn count(&mut self, item_size: usize) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        if n > (self.bytes.len() / item_size.max(1)) as u64 {
            return Err(DecodeError("count larger than the data".into()));
        }
        Ok(n as usize)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The value kept per account: a 31-bit fingerprint of the record and a "seen" flag.
pub const SEEN_BIT: u32 = 1 << 31;

const FORMAT_VERSION: u8 = 1;

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex_to_bytes(s: &str, out: &mut Vec<u8>) {
    for pair in s.as_bytes().chunks_exact(2) {
        let nib = |c: u8| if c.is_ascii_digit() { c - b'0' } else { c - b'a' + 10 };
        out.push(nib(pair[0]) << 4 | nib(pair[1]));
    }
}

fn bytes_to_hex(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

/// Atlassian account ids come in two forms: 24 lowercase hex digits, or `<digits>:<uuid>`.
/// Both pack into raw bytes; anything else is kept as text.
enum IdForm<'a> {
    Hex24,
    Prefixed { prefix: &'a str, uuid_hex: String },
    Other,
}

fn classify(id: &str) -> IdForm<'_> {
    if id.len() == 24 && is_lower_hex(id) {
        return IdForm::Hex24;
    }
    if let Some((prefix, uuid)) = id.split_once(':') {
        let b = uuid.as_bytes();
        let dashes_ok = uuid.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-');
        let digits_ok = !prefix.is_empty() && prefix.len() <= 20 && prefix.bytes().all(|c| c.is_ascii_digit());
        if dashes_ok && digits_ok {
            let uuid_hex: String = uuid.chars().filter(|c| *c != '-').collect();
            if uuid_hex.len() == 32 && is_lower_hex(&uuid_hex) {
                return IdForm::Prefixed { prefix, uuid_hex };
            }
        }
    }
    IdForm::Other
}

/// Encodes account id → value. Layout (all counts varints): version; hex ids (12 bytes + u32
/// each); groups of `<prefix>:<uuid>` ids (prefix text, then 16 bytes + u32 each); other ids
/// (length, text, u32). Sorted, so equal maps give equal text.
pub fn encode_accounts(map: &HashMap<String, u32>) -> String {
    let mut out = vec![FORMAT_VERSION];
    put_entries(&mut out, map.iter().map(|(k, v)| (k.as_str(), v)), |out, v| out.extend_from_slice(&v.to_le_bytes()));
    B64.encode(out)
}

pub fn decode_accounts(text: &str) -> Result<HashMap<String, u32>, DecodeError> {
    let bytes = b64_decode(text)?;
    let mut r = versioned(&bytes, FORMAT_VERSION)?;
    let entries = read_entries(&mut r, 4, |r| r.u32())?;
    finished(&r)?;
    Ok(entries.into_iter().collect())
}

/// Encodes a set of account ids: the layout of [`encode_accounts`] without the values (and
/// its own version byte, so one is never read as the other). 12–16 bytes an id.
pub fn encode_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = vec![ID_SET_VERSION];
    put_entries(&mut out, ids.into_iter().map(|id| (id, &())), |_, _| {});
    B64.encode(out)
}

pub fn decode_ids(text: &str) -> Result<Vec<String>, DecodeError> {
    let bytes = b64_decode(text)?;
    let mut r = versioned(&bytes, ID_SET_VERSION)?;
    let entries = read_entries(&mut r, 0, |_| Ok(()))?;
    finished(&r)?;
    Ok(entries.into_iter().map(|(id, ())| id).collect())
}

const ID_SET_VERSION: u8 = 2;
const PAIRS_VERSION: u8 = 3;

/// Each account's (product, value) pairs, products numbered by a list of their ids: what an
/// activity state keeps per (user, site) pair.
pub type PairsByAccount = HashMap<String, Vec<(u32, u32)>>;

/// Encodes the product ids, then account id → its (product number, value) pairs, in the
/// account layout of [`encode_accounts`] (its own version byte). A pair costs its product
/// number (a byte for the first 128 products) and a u32; an account its packed id and a count.
pub fn encode_pairs(products: &[String], accounts: &PairsByAccount) -> String {
    let mut out = vec![PAIRS_VERSION];
    put_varint(&mut out, products.len() as u64);
    for p in products {
        put_varint(&mut out, p.len() as u64);
        out.extend_from_slice(p.as_bytes());
    }
    put_entries(&mut out, accounts.iter().map(|(k, v)| (k.as_str(), v)), |out, pairs| {
        let mut pairs = pairs.clone();
        pairs.sort_unstable();
        put_varint(out, pairs.len() as u64);
        for (product, value) in pairs {
            put_varint(out, u64::from(product));
            out.extend_from_slice(&value.to_le_bytes());
        }
    });
    B64.encode(out)
}

pub fn decode_pairs(text: &str) -> Result<(Vec<String>, PairsByAccount), DecodeError> {
    let bytes = b64_decode(text)?;
    let mut r = versioned(&bytes, PAIRS_VERSION)?;
    let n = r.count(1)?;
    let mut products = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.count(1)?;
        products.push(std::str::from_utf8(r.take(len)?).map_err(|_| DecodeError("a product id is not UTF-8".into()))?.to_string());
    }
    let accounts = read_entries(&mut r, 1, |r| {
        let k = r.count(5)?;
        let mut pairs = Vec::with_capacity(k);
        for _ in 0..k {
            let product = r.varint()?;
            if product >= products.len() as u64 {
                return Err(DecodeError("a pair names a product the state does not list".into()));
            }
            pairs.push((product as u32, r.u32()?));
        }
        Ok(pairs)
    })?;
    finished(&r)?;
    Ok((products, accounts.into_iter().collect()))
}

fn versioned(bytes: &[u8], version: u8) -> Result<Reader<'_>, DecodeError> {
    let mut r = Reader { bytes };
    if r.take(1)?[0] != version {
        return Err(DecodeError("unknown format version".into()));
    }
    Ok(r)
}

fn finished(r: &Reader) -> Result<(), DecodeError> {
    if r.bytes.is_empty() {
        Ok(())
    } else {
        Err(DecodeError("trailing bytes".into()))
    }
}

/// Writes (account id, value) entries grouped by id form, each group sorted by id.
fn put_entries<'a, V: 'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a str, &'a V)>, mut put_value: impl FnMut(&mut Vec<u8>, &V)) {
    let mut hex: Vec<(&str, &V)> = Vec::new();
    let mut prefixed: std::collections::BTreeMap<&str, Vec<(String, &V)>> = Default::default();
    let mut other: Vec<(&str, &V)> = Vec::new();
    for (id, v) in entries {
        match classify(id) {
            IdForm::Hex24 => hex.push((id, v)),
            IdForm::Prefixed { prefix, uuid_hex } => prefixed.entry(prefix).or_default().push((uuid_hex, v)),
            IdForm::Other => other.push((id, v)),
        }
    }
    hex.sort_unstable_by_key(|(id, _)| *id);
    other.sort_unstable_by_key(|(id, _)| *id);
    out.reserve((hex.len() + other.len()) * 18 + 16);
    put_varint(out, hex.len() as u64);
    for (id, v) in hex {
        hex_to_bytes(id, out);
        put_value(out, v);
    }
    put_varint(out, prefixed.len() as u64);
    for (prefix, mut ids) in prefixed {
        ids.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        put_varint(out, prefix.len() as u64);
        out.extend_from_slice(prefix.as_bytes());
        put_varint(out, ids.len() as u64);
        for (uuid_hex, v) in ids {
            hex_to_bytes(&uuid_hex, out);
            put_value(out, v);
        }
    }
    put_varint(out, other.len() as u64);
    for (id, v) in other {
        put_varint(out, id.len() as u64);
        out.extend_from_slice(id.as_bytes());
        put_value(out, v);
    }
}

/// Reads what [`put_entries`] wrote; `min_value` is the fewest bytes a value takes (for the
/// count checks).
fn read_entries<'b, V>(
    r: &mut Reader<'b>,
    min_value: usize,
    mut value: impl FnMut(&mut Reader<'b>) -> Result<V, DecodeError>,
) -> Result<Vec<(String, V)>, DecodeError> {
    let mut entries = Vec::new();
    let n_hex = r.count(12 + min_value)?;
    for _ in 0..n_hex {
        let mut id = String::with_capacity(24);
        bytes_to_hex(r.take(12)?, &mut id);
        entries.push((id, value(r)?));
    }
    let groups = r.count(2)?;
    for _ in 0..groups {
        let len = r.count(1)?;
        let prefix = std::str::from_utf8(r.take(len)?).map_err(|_| DecodeError("prefix is not UTF-8".into()))?.to_string();
        let n = r.count(16 + min_value)?;
        for _ in 0..n {
            let mut hex = String::with_capacity(32);
            bytes_to_hex(r.take(16)?, &mut hex);
            let id = format!("{prefix}:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
            entries.push((id, value(r)?));
        }
    }
    let n_other = r.count(1 + min_value)?;
    for _ in 0..n_other {
        let len = r.count(1)?;
        let id = std::str::from_utf8(r.take(len)?).map_err(|_| DecodeError("id is not UTF-8".into()))?.to_string();
        entries.push((id, value(r)?));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_in_every_id_form() {
        let mut m = HashMap::new();
        m.insert("5b10ac8d82e05b22cc7d4ef5".to_string(), 7);
        m.insert("712020:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5".to_string(), SEEN_BIT | 3);
        m.insert("557058:00000000-0000-0000-0000-00000000000a".to_string(), 0);
        m.insert("qm:weird/ID".to_string(), 42);
        m.insert("712020:1ADB9F42-2B31-45DC-BD71-EA0A6BF91ED5".to_string(), 9); // upper case stays text
        let text = encode_accounts(&m);
        assert_eq!(decode_accounts(&text).unwrap(), m);
        assert_eq!(encode_accounts(&decode_accounts(&text).unwrap()), text, "deterministic");
    }

    #[test]
    fn id_sets_round_trip_and_are_not_account_maps() {
        let ids = ["5b10ac8d82e05b22cc7d4ef5", "712020:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5", "qm:weird/ID"];
        let text = encode_ids(ids);
        let mut back = decode_ids(&text).unwrap();
        back.sort();
        let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(back, want);
        assert_eq!(encode_ids(back.iter().map(String::as_str)), text, "deterministic");
        assert!(decode_accounts(&text).is_err() && decode_ids(&encode_accounts(&HashMap::new())).is_err());
        assert_eq!(decode_ids(&encode_ids([])).unwrap(), Vec::<String>::new());
        for bad in ["%%%", "Ag==", "Av////8P", "AgE="] {
            assert!(decode_ids(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pairs_round_trip_and_garbage_is_refused() {
        let products = vec!["ari:cloud:jira-software::site/a".to_string(), "ari:cloud:confluence::site/a".to_string()];
        let mut accounts = PairsByAccount::new();
        accounts.insert("5b10ac8d82e05b22cc7d4ef5".into(), vec![(1, 7 | SEEN_BIT), (0, 9)]);
        accounts.insert("712020:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5".into(), vec![(0, 3)]);
        accounts.insert("odd id".into(), vec![]);
        let text = encode_pairs(&products, &accounts);
        let (p, mut back) = decode_pairs(&text).unwrap();
        assert_eq!(p, products);
        back.get_mut("5b10ac8d82e05b22cc7d4ef5").unwrap().sort_unstable_by_key(|(p, _)| std::cmp::Reverse(*p));
        assert_eq!(back, accounts);
        assert_eq!(encode_pairs(&p, &back), text, "deterministic");
        // A pair naming a product beyond the list, or a count larger than the data, is refused.
        let mut bad = PairsByAccount::new();
        bad.insert("5b10ac8d82e05b22cc7d4ef5".into(), vec![(5, 1)]);
        assert!(decode_pairs(&encode_pairs(&products, &bad)).is_err());
        for junk in ["%%%", "AAAA", "Aw==", "A/////8P", &encode_accounts(&HashMap::new())] {
            assert!(decode_pairs(junk).is_err(), "{junk}");
        }
        for bad in ["%%%", "AAAA", "AQ==", "Af////8P"] {
            assert!(decode_accounts(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fnv_separates_parts() {
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
        assert_eq!(fnv1a(&[b"x"]), fnv1a(&[b"x"]));
    }
}
