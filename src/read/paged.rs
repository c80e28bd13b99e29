//! The driver of the streams read page by page from one cursor chain and kept by change
//! detection per id ([`PagedStream`]; today `groups`). Each page is one unit of the writer:
//! its records, then the checkpoint at the page after it, so no record can follow the
//! checkpoint that covers it; at the end, a deletion record per id not seen, the final state,
//! COMPLETE. They are read after every other stream, and a config error (a key without the
//! stream's scope, a plan without the feature) fails the stream alone: its ERROR trace is
//! written, and the read goes on with the next one.
//!
//! A new such stream is a [`PagedStream`] implementation (in `read/<stream>.rs`) and one line
//! of [`paged_streams!`].

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::cadence::Cadence;
use super::error::ReadError;
use super::plan::Mode;
use super::users_pass::stamp;
use super::Reader;
use crate::catalog::ConfiguredCatalog;
use crate::client::pagination::PageResult;
use crate::client::AtlassianClient;
use crate::incremental::changes::{ChangeTracker, Fingerprints};
use crate::incremental::{record_fingerprint, PassPosition};
use crate::json::{RawJson, Unstamped, WriteJson};
use crate::protocol::{now_ms, FailureType};
use crate::state::StateInput;
use crate::streams::workspaces::WorkspaceIndex;
use crate::streams::StreamId;
use crate::time;

/// What a record of a paged stream may be joined to.
pub struct Context<'c> {
    pub org_id: &'c str,
    pub sites: &'c WorkspaceIndex,
}

/// A stream the driver reads: where its pages come from and how an item becomes a record.
pub trait PagedStream {
    const ID: StreamId;
    type Item: Send + 'static;
    /// Its change-detection store, keyed by the item's id.
    type Store: for<'k> Fingerprints<Key<'k> = &'k str, Gone = String>;
    type Deletion<'a>: WriteJson;

    /// Its pages from the cursor `start` on (from the first page without one).
    fn pages(client: Arc<AtlassianClient>, start: Option<String>) -> mpsc::Receiver<PageResult<Self::Item>>;
    fn id(item: &Self::Item) -> &str;
    /// Writes the item's record, unstamped (the driver stamps it).
    fn write<'b>(ctx: &Context, item: &Self::Item, out: &'b mut Vec<u8>) -> Unstamped<'b>;
    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> Self::Deletion<'a>;
}

/// Declares the paged streams: the plan of each ([`PagedPlan`]), decided in this order, and
/// which [`PagedStream`] reads it.
macro_rules! paged_streams {
    ($($variant:ident => $stream:ty),+ $(,)?) => {
        /// How one paged stream is read.
        #[derive(Debug)]
        pub enum PagedPlan {
            $($variant(Mode<ChangeTracker<<$stream as PagedStream>::Store>>),)+
        }

        impl PagedPlan {
            /// The configured paged streams, each with its mode.
            pub fn decide(catalog: &ConfiguredCatalog, state: &StateInput, now: DateTime<Utc>) -> Result<Vec<PagedPlan>, ReadError> {
                let mut planned = Vec::new();
                $(if let Some(mode) = Mode::decide(catalog, state, now)? {
                    planned.push(PagedPlan::$variant(mode));
                })+
                Ok(planned)
            }

            pub fn is_read(&self) -> bool {
                match self {
                    $(PagedPlan::$variant(mode) => mode.is_read(),)+
                }
            }
        }

        impl<W: Write> Reader<'_, '_, W> {
            /// Reads one paged stream with the driver.
            pub(super) async fn read_planned(&mut self, plan: PagedPlan, ctx: &Context<'_>) -> Result<(), ReadError> {
                match plan {
                    $(PagedPlan::$variant(mode) => self.read_paged::<$stream>(mode, ctx).await,)+
                }
            }
        }
    };
}

paged_streams! {
    Groups => super::groups::GroupsStream,
}

impl<W: Write> Reader<'_, '_, W> {
    /// Reads every paged stream of the plan; one that fails with a config error fails alone.
    pub(super) async fn read_paged_streams(&mut self, plans: Vec<PagedPlan>, ctx: &Context<'_>) -> Result<(), ReadError> {
        for plan in plans {
            let result = self.read_planned(plan, ctx).await;
            self.alone(result)?;
        }
        Ok(())
    }

    /// A stream's read that failed with a config error fails it alone: its ERROR trace is
    /// written and the read goes on (ending failed).
    pub(super) fn alone(&mut self, result: Result<(), ReadError>) -> Result<(), ReadError> {
        match result {
            Err(e) if e.failure_type == FailureType::ConfigError && e.stream.is_some() => {
                let name = e.stream.map_or("", StreamId::name);
                let e = ReadError { source: e.source.context(format!("{name} cannot be read (the other streams are read)")), ..e };
                self.writer.fail_stream(&e)?;
                self.failed_alone = true;
                Ok(())
            }
            other => other,
        }
    }

    async fn read_paged<S: PagedStream>(&mut self, mode: Mode<ChangeTracker<S::Store>>, ctx: &Context<'_>) -> Result<(), ReadError> {
        let stream = S::ID;
        let mut mode = match mode {
            Mode::Frozen(saved) => return self.writer.complete(stream, &saved),
            mode => mode,
        };
        let resume = mode.tracker().and_then(ChangeTracker::resume_position).cloned();
        let pass_started = resume.as_ref().and_then(|p| time::parse_lenient(&p.started_at)).unwrap_or_else(Utc::now);
        if let Some(p) = &resume {
            self.writer.info(&format!("{}: resuming the pass begun at {} from its last checkpoint", stream.name(), p.started_at))?;
        }
        let started_text = time::format(pass_started);
        let mut pages = S::pages(self.client.clone(), resume.map(|p| p.next_page));
        let (mut scratch, mut seen) = (Vec::new(), 0u64);
        let mut cadence = Cadence::new(self.settings.checkpoint_interval);
        while let Some(page) = self.wait(stream, pages.recv()).await? {
            let page = page.map_err(|e| ReadError::api(stream, e))?;
            let emitted_at = now_ms();
            let observed_at = stamp(emitted_at, pass_started);
            let position = page.next.as_ref().map(|next| PassPosition { next_page: next.clone(), started_at: started_text.clone() });
            let mut unit = self.writer.unit(position);
            for item in &page.items {
                seen += 1;
                scratch.clear();
                let record = S::write(ctx, item, &mut scratch);
                if let Mode::Incremental(t) = &mut mode {
                    let fingerprint = record_fingerprint(record.bytes());
                    if !t.observe(S::id(item), fingerprint) {
                        continue;
                    }
                }
                record.stamp(&observed_at);
                unit.record(stream, &RawJson(&scratch), emitted_at)?;
            }
            let covered = unit.done();
            if let Mode::Incremental(t) = &mut mode {
                if page.next.is_some() {
                    let entries = t.key_count();
                    cadence.checkpoint(self.writer, Some(stream), entries, &covered, |position| position.iter().map(|p| (stream, t.checkpoint(p))))?;
                }
            }
        }
        self.writer.info(&format!("{}: {seen} read", stream.name()))?;
        let state: Value = match mode {
            Mode::Incremental(mut tracker) => {
                let gone = tracker.finish();
                let now = time::format(Utc::now());
                let what = format!("{} are no longer in the directory", stream.name());
                self.emit_deletions(stream, &what, &gone, |id| S::deletion(ctx, id, &now))?;
                tracker.final_state(pass_started)
            }
            _ => json!({}),
        };
        self.writer.complete(stream, &state)
    }
}
