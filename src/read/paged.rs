//! Plain streams ([`PlainStream`]): one list read page by page from one cursor chain, kept by
//! change detection per id. Each page is one unit of the writer: its records, then the
//! checkpoint at the page after it (when due), so no record can follow the checkpoint that
//! covers it; at the end, a deletion record per id not seen, the final state, COMPLETE.
//!
//! A new plain stream is a module under `src/streams/` implementing [`PlainStream`] and one
//! line of the registry, `Entry::paged::<S>()`.

use std::sync::Arc;

use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use serde::de::IgnoredAny;
use tokio::sync::mpsc;

use super::driver::{Alone, Context, ReadFn};
use super::error::ReadError;
use super::plan::{Entry, Mode, PlanInput, Planned};
use super::Reader;
use crate::client::models::Page;
use crate::client::pagination::{PageResult, Request};
use crate::client::{ApiError, AtlassianClient, Endpoint};
use crate::incremental::by_id::{ByIdTracker, KeyedById};
use crate::incremental::{record_fingerprint, PassPosition, Tracker};
use crate::json::{RawJson, Unstamped, WriteJson};
use crate::protocol::now_ms;
use crate::streams::Stream;

/// What the driver asks of a plain stream: its list, how an item becomes a record, and the
/// record of an id that is gone. Its state keeps a fingerprint per id in the field
/// [`KeyedById::FIELD`].
pub trait PlainStream: Stream + KeyedById {
    /// The list it reads: its page style, scope and what a 404 means there.
    const LIST: Endpoint;
    /// What each request of the list carries besides the cursor (a search's body, say).
    fn request() -> Request {
        Request::default()
    }
    type Item: Send + 'static;
    type Deletion<'a>: WriteJson;

    /// Its items from the cursor `start` on (from the first page without one): the list's
    /// pages, or more than that (a group with its role assignments, one request per site).
    fn pages(client: Arc<AtlassianClient>, start: Option<String>, ctx: &Context) -> mpsc::Receiver<PageResult<Self::Item>>;
    fn id(item: &Self::Item) -> &str;
    /// Writes the item's record, unstamped (the driver stamps it).
    fn write<'b>(ctx: &Context, item: &Self::Item, out: &'b mut Vec<u8>) -> Unstamped<'b>;
    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> Self::Deletion<'a>;

    /// How `check` asks whether the stream can be read (one request; a refusal says it cannot):
    /// by default the first page of its list, its items not even parsed. A stream whose list is
    /// not a page (a count) asks its own way.
    fn probe(client: &AtlassianClient) -> LocalBoxFuture<'_, Result<Option<String>, ApiError>> {
        async move { client.page::<IgnoredAny>(Self::LIST, &Self::request(), None).await.map(|_: Page<IgnoredAny>| None) }.boxed_local()
    }
}

impl Entry {
    /// A plain stream, `S`.
    pub const fn paged<S: PlainStream>() -> Entry {
        Entry { id: S::ID, plan: plan::<S>, probe: if S::INFO.optional.is_some() { Some(S::probe) } else { None } }
    }
}

fn plan<S: PlainStream>(input: &mut PlanInput) -> Result<Option<Planned>, ReadError> {
    let read: ReadFn<ByIdTracker<S>> = |reader, mode, ctx| Box::pin(reader.read_paged::<S>(mode, ctx));
    Ok(Mode::decide(S::ID, input)?.map(|mode| Planned::Alone(Box::new(Alone { stream: S::ID, mode, read }))))
}

impl Reader<'_, '_> {
    async fn read_paged<S: PlainStream>(&mut self, mode: Mode<ByIdTracker<S>>, ctx: &Context<'_>) -> Result<(), ReadError> {
        let stream = S::ID;
        let Some(mut run) = self.open(stream, mode, self.settings.checkpoint_interval)? else { return Ok(()) };
        if let Some(p) = &run.resume {
            self.writer.info(&format!("{}: resuming the pass begun at {} from its last checkpoint", stream.name(), p.started_at))?;
        }
        let mut pages = S::pages(self.client.clone(), run.resume.as_ref().map(|p| p.next_page.clone()), ctx);
        let (mut scratch, mut seen) = (Vec::new(), 0u64);
        while let Some(page) = self.wait(stream, pages.recv()).await? {
            let page = page.map_err(|e| ReadError::api(stream, e))?;
            let emitted_at = now_ms();
            let observed_at = run.stamp(emitted_at);
            let position = page.next.as_ref().map(|next| PassPosition { next_page: next.clone(), started_at: run.started_text.clone() });
            let mut unit = self.writer.unit(position);
            for item in &page.items {
                seen += 1;
                scratch.clear();
                let record = S::write(ctx, item, &mut scratch);
                if let Some(t) = &mut run.tracker {
                    if !t.observe(S::id(item), record_fingerprint(record.bytes())) {
                        continue;
                    }
                }
                record.stamp(&observed_at);
                unit.record(stream, &RawJson(&scratch), emitted_at)?;
            }
            let covered = unit.done();
            self.checkpoint_due(&mut run, &covered, Clone::clone)?;
        }
        self.writer.info(&format!("{}: {seen} read", stream.name()))?;
        let what = format!("{} are no longer in the directory", stream.name());
        self.close(run, |n| format!("{n} {what}: emitting deletion records"), |id, now, out| S::deletion(ctx, id, now).write_json(out))
    }
}
