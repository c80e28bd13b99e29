//! Compact, deterministic encodings of the sets an incremental state keeps: account ids with a
//! 31-bit fingerprint and a "seen in this pass" flag (`users`), account id sets
//! (`license_assignments`), and each account's (product, fingerprint) pairs (`user_activity`).
//! Each is a binary blob in base64, so a state of 100,000 users stays about 2 MB instead of
//! 5+ MB of JSON.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::account_key::AccountKey;

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

/// A packed state as it is written: bytes go to `bin`, and whole 3-byte groups of them are
/// turned into base64 as they come, so the binary form of a large state is never held whole.
struct Out {
    bin: Vec<u8>,
    text: String,
}

/// Bytes gathered before they are turned into text.
const SPILL_BYTES: usize = 3 * 4096;

impl Out {
    /// `estimate`: about how many bytes the state will take (the text is reserved for it).
    fn new(version: u8, estimate: usize) -> Out {
        let mut bin = Vec::with_capacity(SPILL_BYTES + 64);
        bin.push(version);
        Out { bin, text: String::with_capacity(estimate.div_ceil(3) * 4 + 4) }
    }

    fn spill(&mut self) {
        if self.bin.len() >= SPILL_BYTES {
            let whole = self.bin.len() / 3 * 3;
            B64.encode_string(&self.bin[..whole], &mut self.text);
            self.bin.drain(..whole);
        }
    }

    fn finish(mut self) -> String {
        B64.encode_string(&self.bin, &mut self.text);
        self.text.shrink_to_fit();
        self.text
    }
}

/// Encodes account id → value, entries in key order. Layout (all counts varints): version;
/// hex ids (12 bytes + u32 each); groups of `<prefix>:<uuid>` ids (prefix text, then 16
/// bytes + u32 each); other ids (length, text, u32). Equal maps give equal text.
pub fn encode_accounts(entries: &[(AccountKey, u32)]) -> String {
    let mut out = Out::new(FORMAT_VERSION, entries.len() * 18);
    put_entries(&mut out, entries, |e| &e.0, |out, run| out.extend_from_slice(&run[0].1.to_le_bytes()));
    out.finish()
}

pub fn decode_accounts(text: &str) -> Result<Vec<(AccountKey, u32)>, DecodeError> {
    let bytes = b64_decode(text)?;
    let mut r = versioned(&bytes, FORMAT_VERSION)?;
    let entries = read_entries(&mut r, 4, |r| r.u32())?;
    finished(&r)?;
    Ok(entries)
}

/// Encodes a set of account ids, in key order: the layout of [`encode_accounts`] without
/// the values (and its own version byte, so one is never read as the other). 12–16 bytes an id.
pub fn encode_ids(ids: &[AccountKey]) -> String {
    let mut out = Out::new(ID_SET_VERSION, ids.len() * 14);
    put_entries(&mut out, ids, |k| k, |_, _| {});
    out.finish()
}

pub fn decode_ids(text: &str) -> Result<Vec<AccountKey>, DecodeError> {
    let bytes = b64_decode(text)?;
    let mut r = versioned(&bytes, ID_SET_VERSION)?;
    let entries = read_entries(&mut r, 0, |_| Ok(()))?;
    finished(&r)?;
    Ok(entries.into_iter().map(|(id, ())| id).collect())
}

const ID_SET_VERSION: u8 = 2;
const PAIRS_VERSION: u8 = 3;

/// One (account, product number) pair and its value: what an activity state keeps per (user,
/// site) pair, the products numbered by a list of their ids.
pub type Pair = ((AccountKey, u32), u32);

/// Encodes the product ids, then account id → its (product number, value) pairs, in the
/// account layout of [`encode_accounts`] (its own version byte); `pairs` in key order. A pair
/// costs its product number (a byte for the first 128 products) and a u32; an account its
/// packed id and a count.
pub fn encode_pairs(products: &[String], pairs: &[Pair]) -> String {
    let mut out = Out::new(PAIRS_VERSION, pairs.len() * 12);
    put_varint(&mut out.bin, products.len() as u64);
    for p in products {
        put_varint(&mut out.bin, p.len() as u64);
        out.bin.extend_from_slice(p.as_bytes());
        out.spill();
    }
    put_entries(&mut out, pairs, |p| &p.0 .0, |out, run| {
        put_varint(out, run.len() as u64);
        for ((_, product), value) in run {
            put_varint(out, u64::from(*product));
            out.extend_from_slice(&value.to_le_bytes());
        }
    });
    out.finish()
}

pub fn decode_pairs(text: &str) -> Result<(Vec<String>, Vec<Pair>), DecodeError> {
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
    let mut flat = Vec::with_capacity(accounts.iter().map(|(_, p)| p.len()).sum());
    for (account, pairs) in accounts {
        flat.extend(pairs.into_iter().map(|(product, value)| ((account.clone(), product), value)));
    }
    Ok((products, flat))
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

/// Writes entries in key order, grouped by id form: a run of entries with one key is one
/// account, whose value `put_value` writes. Key order puts hex ids first, then prefixed ids
/// by prefix, then the others: each group is a slice.
fn put_entries<T>(out: &mut Out, entries: &[T], key: impl Fn(&T) -> &AccountKey, mut put_value: impl FnMut(&mut Vec<u8>, &[T])) {
    debug_assert!(entries.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "entries in key order");
    let accounts = |slice: &'_ [T]| slice.chunk_by(|a, b| key(a) == key(b)).count() as u64;
    let hex_end = entries.partition_point(|e| matches!(key(e), AccountKey::Hex(_)));
    let other_start = entries.partition_point(|e| !matches!(key(e), AccountKey::Other(_)));
    let (hex, other) = (&entries[..hex_end], &entries[other_start..]);
    let prefixed: Vec<&[T]> = entries[hex_end..other_start].chunk_by(|a, b| key(a).prefix() == key(b).prefix()).collect();

    put_varint(&mut out.bin, accounts(hex));
    for run in hex.chunk_by(|a, b| key(a) == key(b)) {
        if let AccountKey::Hex(bytes) = key(&run[0]) {
            out.bin.extend_from_slice(bytes);
        }
        put_value(&mut out.bin, run);
        out.spill();
    }
    put_varint(&mut out.bin, prefixed.len() as u64);
    for group in prefixed {
        let prefix = key(&group[0]).prefix().expect("a prefixed id");
        put_varint(&mut out.bin, prefix.len() as u64);
        out.bin.extend_from_slice(prefix.as_bytes());
        put_varint(&mut out.bin, accounts(group));
        for run in group.chunk_by(|a, b| key(a) == key(b)) {
            if let AccountKey::Prefixed { uuid, .. } = key(&run[0]) {
                out.bin.extend_from_slice(uuid);
            }
            put_value(&mut out.bin, run);
            out.spill();
        }
    }
    put_varint(&mut out.bin, accounts(other));
    for run in other.chunk_by(|a, b| key(a) == key(b)) {
        let text = key(&run[0]).to_string();
        put_varint(&mut out.bin, text.len() as u64);
        out.bin.extend_from_slice(text.as_bytes());
        put_value(&mut out.bin, run);
        out.spill();
    }
}

/// Reads what [`put_entries`] wrote; `min_value` is the fewest bytes a value takes (for the
/// count checks).
fn read_entries<'b, V>(
    r: &mut Reader<'b>,
    min_value: usize,
    mut value: impl FnMut(&mut Reader<'b>) -> Result<V, DecodeError>,
) -> Result<Vec<(AccountKey, V)>, DecodeError> {
    let mut entries = Vec::new();
    let n_hex = r.count(12 + min_value)?;
    for _ in 0..n_hex {
        let id = AccountKey::from_hex_bytes(r.take(12)?.try_into().expect("12 bytes"));
        entries.push((id, value(r)?));
    }
    let groups = r.count(2)?;
    for _ in 0..groups {
        let len = r.count(1)?;
        let prefix = std::str::from_utf8(r.take(len)?).map_err(|_| DecodeError("prefix is not UTF-8".into()))?.to_string();
        let n = r.count(16 + min_value)?;
        for _ in 0..n {
            let id = AccountKey::from_prefixed(&prefix, r.take(16)?.try_into().expect("16 bytes"));
            entries.push((id, value(r)?));
        }
    }
    let n_other = r.count(1 + min_value)?;
    for _ in 0..n_other {
        let len = r.count(1)?;
        let id = std::str::from_utf8(r.take(len)?).map_err(|_| DecodeError("id is not UTF-8".into()))?;
        entries.push((AccountKey::new(id), value(r)?));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The encoder as it was before the stores kept [`AccountKey`]s (commit 5f3709b), but for
    /// the 7-digit limit on a packed prefix: states must not change.
    mod reference {
        use std::collections::HashMap;

        use super::super::{put_varint, B64};
        use base64::Engine;

    fn is_lower_hex(s: &str) -> bool {
        s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    fn hex_to_bytes(s: &str, out: &mut Vec<u8>) {
        for pair in s.as_bytes().chunks_exact(2) {
            let nib = |c: u8| if c.is_ascii_digit() { c - b'0' } else { c - b'a' + 10 };
            out.push(nib(pair[0]) << 4 | nib(pair[1]));
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
            if dashes_ok && digits_ok && prefix.len() <= 7 {
                let uuid_hex: String = uuid.chars().filter(|c| *c != '-').collect();
                if uuid_hex.len() == 32 && is_lower_hex(&uuid_hex) {
                    return IdForm::Prefixed { prefix, uuid_hex };
                }
            }
        }
        IdForm::Other
    }


    pub(super) fn encode_accounts(map: &HashMap<String, u32>) -> String {
        let mut out = vec![super::FORMAT_VERSION];
        put_entries(&mut out, map.iter().map(|(k, v)| (k.as_str(), v)), |out, v| out.extend_from_slice(&v.to_le_bytes()));
        B64.encode(out)
    }


    pub(super) fn encode_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
        let mut out = vec![super::ID_SET_VERSION];
        put_entries(&mut out, ids.into_iter().map(|id| (id, &())), |_, _| {});
        B64.encode(out)
    }


    pub(super) fn encode_pairs(products: &[String], accounts: &HashMap<String, Vec<(u32, u32)>>) -> String {
        let mut out = vec![super::PAIRS_VERSION];
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

    }

    fn keys(ids: &[&str]) -> Vec<AccountKey> {
        let mut keys: Vec<AccountKey> = ids.iter().map(|id| AccountKey::new(id)).collect();
        keys.sort();
        keys
    }

    /// Ids of every form, many enough to cross the base64 spill boundary.
    fn many_ids() -> Vec<String> {
        let mut ids = vec!["qm:weird/ID".to_string(), "712020:1ADB9F42-2B31-45DC-BD71-EA0A6BF91ED5".into(), "12345678:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5".into()];
        for i in 0..3000u64 {
            let h = fnv1a(&[&i.to_le_bytes()]);
            ids.push(match i % 4 {
                0 | 1 => format!("{:024x}", u128::from(h) << 32 | u128::from(h as u32)),
                2 => format!("{}:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", ["557058", "712020", "70121"][(h % 3) as usize], h as u32, (h >> 8) as u16, (h >> 16) as u16, (h >> 24) as u16, h >> 16),
                _ => format!("other-{h}"),
            });
        }
        ids
    }

    #[test]
    fn states_are_byte_identical_to_the_reference_encoder() {
        let ids = many_ids();
        let map: HashMap<String, u32> = ids.iter().enumerate().map(|(i, id)| (id.clone(), i as u32 | (SEEN_BIT * (i as u32 & 1)))).collect();
        let mut entries: Vec<(AccountKey, u32)> = map.iter().map(|(k, v)| (AccountKey::new(k), *v)).collect();
        entries.sort();
        assert_eq!(encode_accounts(&entries), reference::encode_accounts(&map));
        let sorted_keys: Vec<AccountKey> = entries.iter().map(|e| e.0.clone()).collect();
        assert_eq!(encode_ids(&sorted_keys), reference::encode_ids(ids.iter().map(String::as_str)));
        let products = vec!["jira".to_string(), "confluence".to_string(), "bitbucket".to_string()];
        let mut by_account: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut pairs: Vec<Pair> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            for product in (0..3u32).filter(|p| (i as u32 + p) % 2 == 0 || *p == 2) {
                by_account.entry(id.clone()).or_default().push((product, i as u32 * 3 + product));
                pairs.push(((AccountKey::new(id), product), i as u32 * 3 + product));
            }
        }
        pairs.sort();
        assert_eq!(encode_pairs(&products, &pairs), reference::encode_pairs(&products, &by_account));
        assert_eq!(encode_accounts(&[]), reference::encode_accounts(&HashMap::new()));
        assert_eq!(encode_pairs(&[], &[]), reference::encode_pairs(&[], &HashMap::new()));
    }

    #[test]
    fn accounts_round_trip_in_every_id_form() {
        let mut entries: Vec<(AccountKey, u32)> = many_ids().iter().enumerate().map(|(i, id)| (AccountKey::new(id), i as u32)).collect();
        entries.sort();
        let text = encode_accounts(&entries);
        let mut back = decode_accounts(&text).unwrap();
        back.sort();
        assert_eq!(back, entries);
    }

    #[test]
    fn a_long_prefix_packed_by_an_older_version_reads_back() {
        // Written as text by this version; an older state that packed it still decodes.
        let mut packed = vec![FORMAT_VERSION, 0, 1, 8];
        packed.extend_from_slice(b"12345678");
        packed.push(1);
        packed.extend_from_slice(&[0x1a; 16]);
        packed.extend_from_slice(&7u32.to_le_bytes());
        packed.push(0);
        let back = decode_accounts(&B64.encode(packed)).unwrap();
        assert_eq!(back, vec![(AccountKey::new("12345678:1a1a1a1a-1a1a-1a1a-1a1a-1a1a1a1a1a1a"), 7)]);
    }

    #[test]
    fn id_sets_round_trip_and_are_not_account_maps() {
        let ids = keys(&["5b10ac8d82e05b22cc7d4ef5", "712020:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5", "qm:weird/ID"]);
        let text = encode_ids(&ids);
        assert_eq!(decode_ids(&text).unwrap(), ids);
        assert!(decode_accounts(&text).is_err() && decode_ids(&encode_accounts(&[])).is_err());
        assert_eq!(decode_ids(&encode_ids(&[])).unwrap(), Vec::<AccountKey>::new());
        for bad in ["%%%", "Ag==", "Av////8P", "AgE="] {
            assert!(decode_ids(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pairs_round_trip_and_garbage_is_refused() {
        let products = vec!["ari:cloud:jira-software::site/a".to_string(), "ari:cloud:confluence::site/a".to_string()];
        let mut pairs: Vec<Pair> = vec![
            ((AccountKey::new("5b10ac8d82e05b22cc7d4ef5"), 1), 7 | SEEN_BIT),
            ((AccountKey::new("5b10ac8d82e05b22cc7d4ef5"), 0), 9),
            ((AccountKey::new("712020:1adb9f42-2b31-45dc-bd71-ea0a6bf91ed5"), 0), 3),
        ];
        pairs.sort();
        let text = encode_pairs(&products, &pairs);
        let (p, back) = decode_pairs(&text).unwrap();
        assert_eq!((p, back), (products.clone(), pairs));
        // A pair naming a product beyond the list, or a count larger than the data, is refused.
        let bad = [((AccountKey::new("5b10ac8d82e05b22cc7d4ef5"), 5), 1)];
        assert!(decode_pairs(&encode_pairs(&products, &bad)).is_err());
        for junk in ["%%%", "AAAA", "Aw==", "A/////8P", &encode_accounts(&[])] {
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
