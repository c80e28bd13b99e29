//! Logs read through the API's own cursor ([`LogStream`]: the audit log), page after page of
//! one cursor chain in processing order, each page one unit of the writer — its entries, then
//! (incremental) the checkpoint after it: the state is small and does not grow with the log, so
//! every page is checkpointed, and a long backfill (hours at about 50 requests a minute) loses
//! at most a page to a kill. It ends at an empty page, or a `next` that is null, absent or the
//! cursor just used. A key or an organization not entitled to the log fails the stream alone.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde_json::{Map, Value};

use super::driver::{Alone, Context, ReadFn};
use super::error::ReadError;
use super::plan::{Entry, Mode, PlanInput, Planned};
use super::Reader;
use crate::client::models::EventsPage;
use crate::client::{ApiError, AtlassianClient, Endpoint};
use crate::incremental::{LogCursorTracker, Tracker};
use crate::json::RawJson;
use crate::protocol::{now_ms, FailureType};
use crate::streams::{Stream, StreamId};
use crate::time;

const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What the driver asks of a log read by the API's cursor.
pub trait LogStream: Stream {
    /// The log's endpoint.
    const LOG: Endpoint;
    /// How far back the log is kept: nothing older can be read.
    const RETENTION_DAYS: i64;
    /// What `check` says when the log answers with no entry and no cursor.
    const EMPTY_ANSWER: &'static str;
    /// Why such an answer fails a first read.
    const NO_LOG: &'static str;
    /// What an entry's record is completed with, read once before the log (names of codes).
    type Names;
    /// An entry as the API sent it, with what its record reads from it.
    type Entry<'e>;

    fn names(client: &AtlassianClient) -> impl Future<Output = Result<Self::Names, ApiError>> + '_;
    /// One page of the log from `cursor`, or without one from `from_ms` (epoch milliseconds).
    fn page<'c>(client: &'c AtlassianClient, cursor: Option<&'c str>, from_ms: Option<i64>, limit: u32) -> impl Future<Output = Result<EventsPage, ApiError>> + 'c;
    /// Why the log cannot be read with this key or organization, with what was answered.
    fn not_entitled(detail: &str) -> String;
    /// `None` when the entry has no id.
    fn parse(raw: &Map<String, Value>) -> Option<Self::Entry<'_>>;
    fn id<'a>(entry: &'a Self::Entry<'_>) -> &'a str;
    fn processed_at(entry: &Self::Entry<'_>) -> Option<DateTime<Utc>>;
    fn write(org_id: &str, entry: &Self::Entry<'_>, names: &Self::Names, out: &mut Vec<u8>);
}

/// Entries asked for a page: the most third parties report the API serves.
const PAGE_LIMIT: u32 = 500;

impl Entry {
    /// A log read by the API's cursor, `S`.
    pub const fn log<S: LogStream>() -> Entry {
        Entry { id: S::ID, plan: plan::<S>, probe: Some(probe::<S>) }
    }
}

fn plan<S: LogStream>(input: &mut PlanInput) -> Result<Option<Planned>, ReadError> {
    let read: ReadFn<LogCursorTracker> = |reader, mode, ctx| Box::pin(reader.read_log::<S>(mode, ctx));
    Ok(Mode::decide(S::ID, input)?.map(|mode| Planned::Alone(Box::new(Alone { stream: S::ID, mode, read }))))
}

/// One entry asked for: an answer with no entry and no cursor leaves doubt.
fn probe<S: LogStream>(client: &AtlassianClient) -> futures_util::future::LocalBoxFuture<'_, Result<Option<String>, ApiError>> {
    async move {
        let page = S::page(client, None, None, 1).await?;
        Ok((page.data.is_empty() && page.next().is_none()).then(|| S::EMPTY_ANSWER.to_string()))
    }
    .boxed_local()
}

/// The API rejected the page cursor (`ADMIN-400-1`, or any 400 on a request that had one).
fn cursor_refused(e: &ApiError) -> bool {
    matches!(e.last(), ApiError::Client { status: 400, .. })
}

impl Reader<'_, '_> {
    async fn read_log<S: LogStream>(&mut self, mode: Mode<LogCursorTracker>, ctx: &Context<'_>) -> Result<(), ReadError> {
        let stream = S::ID;
        let not_entitled = |detail: &str| ReadError { stream: Some(stream), failure_type: FailureType::ConfigError, source: anyhow::anyhow!(S::not_entitled(detail)) };
        let Some(mut run) = self.open(stream, mode, 1)? else { return Ok(()) };
        // A full refresh keeps a tracker too (its state is not written): a cursor refused
        // mid-read is recovered from without emitting an entry twice.
        let incremental = run.is_incremental();
        let mut tracker = run.tracker.take().unwrap_or_default();
        let client = self.client.clone();
        let names = match self.wait(stream, S::names(&client)).await? {
            Ok(names) => names,
            Err(e) if e.is_refused() => return Err(not_entitled(&e.to_string())),
            Err(e) => return Err(ReadError::api(stream, e)),
        };
        let now = Utc::now();
        let oldest = now - chrono::Duration::days(S::RETENTION_DAYS);
        let first_from = self.settings.start_date.map(|s| s.max(oldest));
        let mut cursor = tracker.api_cursor().map(String::from);
        let mut from = match cursor {
            None => tracker.restart_from().map(|f| f.max(oldest)).or(first_from),
            Some(_) => None,
        };
        let began_at = from.unwrap_or(oldest);
        if cursor.is_some() {
            self.writer.info(&format!("{}: continuing from the saved cursor", stream.name()))?;
        }
        let (mut emitted, mut repeats, mut pages) = (0u64, 0u64, 0u64);
        let mut last_progress = Instant::now();
        let mut out = Vec::new();
        loop {
            let page = match self.wait(stream, S::page(&client, cursor.as_deref(), from.map(|f| f.timestamp_millis()), PAGE_LIMIT)).await? {
                Ok(page) => page,
                Err(e) if e.is_refused() => return Err(not_entitled(&e.to_string())),
                Err(e) if cursor.is_some() && cursor_refused(&e) => {
                    tracker.cursor_rejected();
                    from = tracker.restart_from().map(|f| f.max(oldest)).or(first_from);
                    let at = from.map_or_else(|| "the start of the retention".to_string(), time::format);
                    self.writer.warn(&format!("{}: the API refused the page cursor ({e}); reading again from {at}, skipping the events already emitted", stream.name()))?;
                    cursor = None;
                    continue;
                }
                Err(e) => return Err(ReadError::api(stream, e)),
            };
            pages += 1;
            if pages == 1 && cursor.is_none() && page.data.is_empty() && page.next().is_none() && tracker.newest().is_none() {
                return Err(not_entitled(S::NO_LOG));
            }
            let emitted_at = now_ms();
            let mut unit = self.writer.unit(());
            let mut newest = None;
            for raw in &page.data {
                let Some(entry) = S::parse(raw) else {
                    let e = ApiError::Decode { endpoint: S::LOG, reason: "an event has no 'id'".into() };
                    return Err(ReadError::api(stream, e));
                };
                let processed_at = S::processed_at(&entry);
                newest = processed_at.or(newest);
                if !tracker.observe((S::id(&entry), processed_at), 0) {
                    repeats += 1;
                    continue;
                }
                out.clear();
                S::write(ctx.org_id, &entry, &names, &mut out);
                unit.record(stream, &RawJson(&out), emitted_at)?;
                emitted += 1;
            }
            let covered = unit.done();
            let next = page.next().map(String::from);
            let end = page.data.is_empty() || next.is_none() || next == cursor;
            tracker.page_read(next.as_deref());
            if incremental {
                self.writer.checkpoint(&covered, |_| [(stream, tracker.checkpoint(&()))])?;
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                self.writer.info(&progress(stream, emitted, pages, began_at, newest, Utc::now()))?;
            }
            if end {
                break;
            }
            (cursor, from) = (next, None);
        }
        if repeats > 0 {
            self.writer.info(&format!("{}: {repeats} events already emitted were read again and skipped", stream.name()))?;
        }
        self.writer.info(&format!("{}: {emitted} events in {pages} pages", stream.name()))?;
        run.tracker = incremental.then_some(tracker);
        self.close(run, |_| String::new(), |gone, _, _| match *gone {})
    }
}

/// A progress line: events so far and how far through the log, by processing time.
fn progress(stream: StreamId, emitted: u64, pages: u64, began_at: DateTime<Utc>, newest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let name = stream.name();
    let Some(newest) = newest else { return format!("{name}: {emitted} events, {pages} pages") };
    let span = (now - began_at).num_milliseconds().max(1) as f64;
    let done = ((newest - began_at).num_milliseconds() as f64 / span * 100.0).clamp(0.0, 100.0);
    format!("{name}: {emitted} events, {pages} pages; processed up to {} ({done:.0} % of the way to now)", time::format(newest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_the_position_in_processing_time() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let line = progress(crate::streams::audit_events::AuditEvents::ID, 10, 2, t("2026-01-01T00:00:00Z"), Some(t("2026-01-06T00:00:00Z")), t("2026-01-11T00:00:00Z"));
        assert!(line.contains("50 %"), "{line}");
    }
}
