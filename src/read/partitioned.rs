//! Partitioned streams ([`PartitionedStream`]): one paged search per partition (for
//! `license_assignments`, a site and a billable role). Each search is one unit of the writer:
//! in full refresh its records as its pages come; in incremental mode, once it is complete,
//! the keys new since the last sync and a deletion for each key gone from it, then a STATE
//! when one is due. At the end, the keys of partitions no longer searched are deleted.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::driver::{Alone, Context, ReadFn};
use super::error::ReadError;
use super::plan::{Entry, Mode, PlanInput, Planned};
use super::sites::Site;
use super::Reader;
use crate::client::pagination::PageResult;
use crate::client::AtlassianClient;
use crate::incremental::account_key::AccountKey;
use crate::incremental::PartitionTracker;
use crate::protocol::now_ms;
use crate::streams::Stream;

/// A partition: its two keys as the state keeps them (a site's workspace id, a role).
pub type Partition = (String, &'static str);

/// What the driver asks of a partitioned stream.
pub trait PartitionedStream: Stream {
    type Item: Send + 'static;
    /// Why it cannot be read when the users search is refused (its searches are users searches).
    const WITHOUT_USERS_SEARCH: &'static str;
    /// The partitions to search, in order, from the sites: each a partition, or why a site is
    /// skipped (a LOG line).
    fn partitions(sites: &[Site]) -> Vec<Result<Partition, String>>;
    fn pages(client: Arc<AtlassianClient>, partition: &Partition) -> mpsc::Receiver<PageResult<Self::Item>>;
    fn key(item: &Self::Item) -> &str;
    /// Writes the record of `key` in `partition`, or (with `deleted`) of its removal.
    fn write(org_id: &str, partition: (&str, &str), key: &str, observed_at: &str, deleted: bool, out: &mut Vec<u8>);
    /// The LOG line of a complete read: how many searches, how many keys found.
    fn summary(searches: u64, found: u64) -> String;
    /// The LOG line announcing the deletion of `n` keys of partitions no longer searched.
    fn partitions_gone(n: usize) -> String;
}

impl Entry {
    /// A partitioned stream, `S`.
    pub const fn partitioned<S: PartitionedStream>() -> Entry {
        Entry { id: S::ID, plan: plan::<S>, probe: None }
    }
}

fn plan<S: PartitionedStream>(input: &mut PlanInput) -> Result<Option<Planned>, ReadError> {
    let read: ReadFn<PartitionTracker> = |reader, mode, ctx| Box::pin(reader.read_partitions::<S>(mode, ctx));
    Ok(Mode::decide(S::ID, input)?.map(|mode| Planned::Alone(Box::new(Alone { stream: S::ID, mode, read }))))
}

impl Reader<'_, '_> {
    async fn read_partitions<S: PartitionedStream>(&mut self, mode: Mode<PartitionTracker>, ctx: &Context<'_>) -> Result<(), ReadError> {
        let stream = S::ID;
        let Some(mut run) = self.open(stream, mode, 1)? else { return Ok(()) };
        if self.only_managed {
            return Err(ReadError::unreadable(stream, S::WITHOUT_USERS_SEARCH));
        }
        let (mut searches, mut found_total) = (0u64, 0u64);
        let mut out = Vec::new();
        for partition in S::partitions(&ctx.sites.list) {
            let partition = match partition {
                Ok(p) => p,
                Err(skipped) => {
                    self.writer.info(&format!("{}: {skipped}", stream.name()))?;
                    continue;
                }
            };
            let (first, second) = (partition.0.as_str(), partition.1);
            if run.tracker.as_ref().is_some_and(|t| t.is_done(first, second)) {
                continue; // completed before the interruption this sync resumes
            }
            let mut pages = S::pages(self.client.clone(), &partition);
            let mut found = HashSet::new();
            while let Some(page) = self.wait(stream, pages.recv()).await? {
                let page = page.map_err(|e| ReadError::api(stream, e))?;
                let emitted_at = now_ms();
                let observed_at = run.stamp(emitted_at);
                let mut unit = self.writer.unit(());
                for item in &page.items {
                    if !found.insert(AccountKey::new(S::key(item))) || run.is_incremental() {
                        continue; // a repeat; or incremental, which emits once the search is complete
                    }
                    out.clear();
                    S::write(ctx.org_id, (first, second), S::key(item), &observed_at, false, &mut out);
                    unit.record(stream, &crate::json::RawJson(&out), emitted_at)?;
                }
                unit.done();
            }
            searches += 1;
            found_total += found.len() as u64;
            if let Some(t) = &mut run.tracker {
                let changes = t.complete_search(first, second, found);
                let emitted_at = now_ms();
                let now = run.stamp(emitted_at);
                let mut unit = self.writer.unit(Some(run.started));
                for (keys, deleted) in [(&changes.added, false), (&changes.removed, true)] {
                    for key in keys {
                        out.clear();
                        S::write(ctx.org_id, (first, second), key, &now, deleted, &mut out);
                        unit.record(stream, &crate::json::RawJson(&out), emitted_at)?;
                    }
                }
                let covered = unit.done();
                self.checkpoint_due(&mut run, &covered, |started| *started)?;
            }
        }
        let name = stream.name();
        let announce = |n| format!("{name}: {}", S::partitions_gone(n));
        let org_id = ctx.org_id;
        let deletion = |(first, second, key): &(String, String, String), now: &str, out: &mut Vec<u8>| S::write(org_id, (first, second), key, now, true, out);
        self.writer.info(&format!("{name}: {}", S::summary(searches, found_total)))?;
        self.close(run, announce, deletion)
    }
}
