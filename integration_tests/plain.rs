//! What every plain stream (one list, change detection by id) must do through the binary,
//! written once: a full refresh equals the sandbox's truth over several pages; incremental
//! reads through each of the org's changes emit exactly the records that changed and a
//! deletion for each id gone, and the deduplicated table equals the truth and a full refresh;
//! a read killed at every checkpoint loses and repeats nothing; a key without the stream's
//! scope fails that stream alone. Each stream's tests give its truth and its mutations; a record is
//! known by its stream's primary key (`id`, or several fields joined by a space).

use std::collections::{BTreeMap, BTreeSet};

use atlassian_sandbox::{Endpoint, Org, Sandbox};
use serde_json::{json, Map, Value};

use crate::harness::*;

/// A plain stream, as its tests see it.
pub struct Plain {
    pub stream: &'static str,
    /// The sandbox route it reads (what its requests are counted as).
    pub endpoint: &'static str,
    /// The scope without which it fails alone.
    pub scope: &'static str,
    /// What the org holds: each record expected, by id, as [`Plain::view`] sees it.
    pub truth: fn(&Org) -> BTreeMap<String, Value>,
    /// The fields of a record compared with the truth.
    pub view: fn(&Map<String, Value>) -> Value,
}

/// Its records among `messages`.
pub fn records_of<'m>(messages: &'m [Message], stream: &'m str) -> impl Iterator<Item = &'m Map<String, Value>> + 'm {
    messages.iter().filter_map(move |m| match m {
        Message::Record { record } if record.stream == stream => Some(&record.data),
        _ => None,
    })
}

impl Plain {
    pub fn catalog(&self, incremental: bool) -> Value {
        let mut cat = catalog_of(&[self.stream]);
        let s = &mut cat["streams"][0];
        assert_eq!(s["stream"]["name"], self.stream, "the sample catalog has {}", self.stream);
        if incremental {
            s["sync_mode"] = json!("incremental");
            s["destination_sync_mode"] = json!("append_dedup");
        }
        cat
    }

    /// A config that checkpoints after every page.
    pub fn config(&self, sb: &Sandbox) -> Value {
        let mut cfg = config_for(sb);
        cfg["checkpoint_interval_pages"] = json!(1);
        cfg
    }

    /// A record's key: its stream's primary key, its fields joined by a space (`id` alone for most).
    fn id(&self, r: &Map<String, Value>) -> String {
        let info = source_atlassian_admin::streams::ALL.iter().map(|e| e.id.info()).find(|s| s.name == self.stream).expect("a registered stream");
        let parts: Vec<&str> = info.primary_key.iter().map(|k| r[*k].as_str().unwrap_or_else(|| panic!("{}: a string {k}", self.stream))).collect();
        parts.join(" ")
    }

    /// What a destination in append + dedup mode holds after these reads, in order: the
    /// latest record per id, without the ids whose latest record is a deletion.
    pub fn deduplicated(&self, reads: &[&[Message]]) -> BTreeMap<String, Value> {
        let mut latest: BTreeMap<String, Option<Value>> = BTreeMap::new();
        for messages in reads {
            for r in records_of(messages, self.stream) {
                latest.insert(self.id(r), (!r["_ab_cdc_deleted_at"].is_string()).then(|| (self.view)(r)));
            }
        }
        latest.into_iter().filter_map(|(id, v)| v.map(|v| (id, v))).collect()
    }

    /// The ids a read emitted, and the ids it deleted, each sorted.
    fn emitted(&self, messages: &[Message]) -> (Vec<String>, Vec<String>) {
        let (mut live, mut gone) = (Vec::new(), Vec::new());
        for r in records_of(messages, self.stream) {
            if r["_ab_cdc_deleted_at"].is_string() { gone.push(self.id(r)) } else { live.push(self.id(r)) }
        }
        live.sort();
        gone.sort();
        (live, gone)
    }

    fn truth_of(&self, sb: &Sandbox) -> BTreeMap<String, Value> {
        sb.with_org(self.truth)
    }

    /// A full refresh: each record once, equal to the truth, valid against the schema.
    pub fn full_refresh_equals_the_truth(&self, sb: &Sandbox) -> Run {
        let run = read_ok(&self.config(sb), &self.catalog(false), &json!([]));
        assert_records_match_schemas(&run);
        let read: BTreeMap<String, Value> = run.records(self.stream).iter().map(|r| (self.id(r), (self.view)(r))).collect();
        assert_eq!(read.len(), run.records(self.stream).len(), "{}: each record once", self.stream);
        assert_eq!(read, self.truth_of(sb), "{}: a full refresh is the truth", self.stream);
        assert!(run.records(self.stream).iter().all(|r| r["_ab_cdc_deleted_at"].is_null()), "no deletion in a full refresh");
        assert_eq!(run.statuses(self.stream), ["STARTED", "RUNNING", "COMPLETE"]);
        run
    }

    /// Incremental reads, a quiet one then one after each mutation (name, fields): each emits
    /// exactly the ids whose record changed and deletes the ids gone; the deduplicated table
    /// equals the truth, and so does a full refresh, after every change.
    pub fn incremental_through(&self, sb: &Sandbox, mutations: &[(&str, Value)]) {
        let (cfg, cat) = (self.config(sb), self.catalog(true));
        let first = read_ok(&cfg, &cat, &json!([]));
        assert_eq!(self.deduplicated(&[&first.messages]), self.truth_of(sb), "{}: the first incremental read", self.stream);
        let mut reads = vec![first.messages];
        let mut state = state_after(&reads[0]);
        let quiet = read_ok(&cfg, &cat, &state);
        assert_eq!(self.emitted(&quiet.messages), (vec![], vec![]), "{}: nothing changed, nothing emitted", self.stream);
        state = state_after_from(&state, &quiet.messages);
        reads.push(quiet.messages);
        for (name, fields) in mutations {
            let before = self.truth_of(sb);
            sb.mutate(name, fields.clone()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let after = self.truth_of(sb);
            let changed: Vec<String> = after.iter().filter(|(id, v)| before.get(*id) != Some(*v)).map(|(id, _)| id.clone()).collect();
            let gone: Vec<String> = before.keys().filter(|id| !after.contains_key(*id)).cloned().collect();
            assert!(!changed.is_empty() || !gone.is_empty(), "{name} changed nothing {} reads", self.stream);
            let run = read_ok(&cfg, &cat, &state);
            assert_eq!(self.emitted(&run.messages), (changed, gone), "{}: after {name}, what changed and what is gone", self.stream);
            state = state_after_from(&state, &run.messages);
            reads.push(run.messages);
            let all: Vec<&[Message]> = reads.iter().map(Vec::as_slice).collect();
            assert_eq!(self.deduplicated(&all), after, "{}: the deduplicated table after {name}", self.stream);
            self.full_refresh_equals_the_truth(sb);
        }
    }

    /// A read killed at each of its checkpoints, then resumed from the state a platform kept:
    /// every record once, the table equal to the truth, nothing deleted.
    pub fn killed_at_every_checkpoint(&self, sb: &Sandbox, pages: usize) {
        let (cfg, cat) = (self.config(sb), self.catalog(true));
        let endpoint = Endpoint::named(self.endpoint);
        let before = sb.request_count(endpoint);
        let whole = read_ok(&cfg, &cat, &json!([]));
        assert_eq!((sb.request_count(endpoint) - before) as usize, pages, "{}: pages of the list", self.stream);
        let truth = self.truth_of(sb);
        for kill_after in 1..pages {
            let (killed, _) = read_and_stop(&cfg, &cat, &json!([]), self.stream, kill_after, None);
            let resumed = read_ok(&cfg, &cat, &state_after(&killed));
            let ids: Vec<String> = records_of(&killed, self.stream).chain(records_of(&resumed.messages, self.stream)).map(|r| self.id(r)).collect();
            let once: BTreeSet<&String> = ids.iter().collect();
            assert_eq!(ids.len(), once.len(), "{}: killed after checkpoint {kill_after}: a record repeated", self.stream);
            assert_eq!(ids.len(), whole.records(self.stream).len(), "{}: killed after checkpoint {kill_after}: each record once", self.stream);
            assert_eq!(self.deduplicated(&[&killed, &resumed.messages]), truth, "{}: killed after checkpoint {kill_after}", self.stream);
            assert!(self.emitted(&resumed.messages).1.is_empty(), "nothing deleted");
        }
    }

    /// Without its scope the stream fails alone, naming the scope; `with` are read in full.
    pub fn without_its_scope_fails_alone(&self, sb: &Sandbox, with: &[&str]) {
        sb.forbid_scope(self.scope).expect("a scope the sandbox knows");
        let mut streams = with.to_vec();
        streams.push(self.stream);
        let run = read_files(&config_for(sb), &catalog_of(&streams), &json!([]));
        assert_eq!(run.code, 1, "the sync failed, honestly");
        for stream in with {
            assert_eq!(run.statuses(stream).last(), Some(&"COMPLETE"), "{stream} is read normally");
        }
        assert_eq!(run.statuses(self.stream).last(), Some(&"INCOMPLETE"));
        assert!(run.records(self.stream).is_empty());
        let err = run.single_error();
        assert_eq!(err.failure_type, "config_error");
        assert_eq!(err.stream_descriptor.as_ref().map(|d| d.name.as_str()), Some(self.stream));
        assert!(err.message.starts_with(&format!("{} cannot be read (the other streams are read)", self.stream)), "{}", err.message);
        assert!(err.message.contains(&format!("'{}'", self.scope)), "the message names the scope: {}", err.message);
        assert_eq!(sb.request_count(Endpoint::named(self.endpoint)), 1, "a refusal is not retried");
        sb.allow_scope(self.scope).expect("a scope the sandbox knows");
    }
}
