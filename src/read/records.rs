//! Records written once: in incremental mode a record is written unstamped (without
//! `observed_at`, [`Observed::write_unstamped`]) into a scratch buffer, fingerprinted from those bytes, and copied out stamped only when
//! its tracker says it is new or changed ([`to_write`]).

use crate::incremental::{record_fingerprint, Tracker};
use crate::json::{Observed, RawJson, WriteJson};

use super::plan::Mode;

/// The record to write, if any: always in full refresh, never when frozen (callers skip a
/// frozen stream before building its records); in incremental only when its tracker, given
/// `key` and the record's fingerprint, says it is new or changed. The record is then written
/// once, into `scratch`, fingerprinted from those bytes, and stamped with `observed_at`.
pub(super) fn to_write<'a, R: Observed<'a>, T: Tracker>(
    mut record: R,
    mode: &mut Mode<T>,
    key: T::Key<'_>,
    observed_at: &'a str,
    scratch: &'a mut Vec<u8>,
) -> Option<Out<'a, R>> {
    match mode {
        Mode::Frozen(_) => None,
        Mode::FullRefresh => {
            record.observed(observed_at);
            Some(Out::Record(record))
        }
        Mode::Incremental(tracker) => {
            scratch.clear();
            let unstamped = record.write_unstamped(scratch);
            if !tracker.observe(key, record_fingerprint(unstamped.bytes())) {
                return None;
            }
            unstamped.stamp(observed_at);
            Some(Out::Written(RawJson(scratch)))
        }
    }
}

/// A record, as a record or already written.
pub(super) enum Out<'a, R> {
    Record(R),
    Written(RawJson<'a>),
}

impl<R: WriteJson> WriteJson for Out<'_, R> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Out::Record(r) => r.write_json(out),
            Out::Written(raw) => raw.write_json(out),
        }
    }
}
