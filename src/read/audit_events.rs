//! `audit_events`: the audit log, page after page of one cursor chain in processing order,
//! each page one unit of the writer — its events, then (incremental) the checkpoint after it:
//! the state is small, so every page is checkpointed, and a long backfill (hours at about 50
//! requests a minute) loses at most a page to a kill. It ends at an empty page, or a `next`
//! that is null, absent or the cursor just used. Read last; a key or an org not entitled to
//! the log fails this stream alone.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::error::ReadError;
use super::plan::Mode;
use super::Reader;
use crate::client::{ApiError, Endpoint};
use crate::incremental::{EventsTracker, Tracker};
use crate::protocol::{now_ms, FailureType};
use crate::streams::audit_events::Event;
use crate::streams::StreamId;
use crate::time;

/// Events asked for a page: the most third parties report the API serves.
const PAGE_LIMIT: u32 = 500;
/// The log's retention: nothing older can be read.
const RETENTION_DAYS: i64 = 180;
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Why the log cannot be read with this key or organization.
const NOT_ENTITLED: &str = "audit_events cannot be read: the organization's audit log needs Atlassian Guard Standard or above (admin.atlassian.com → Billing), and a key created with scopes needs the scope 'read:events:admin' (create one under admin.atlassian.com → Settings → API keys). The other streams are read";

fn not_entitled(detail: &str) -> ReadError {
    ReadError { stream: Some(StreamId::AuditEvents), failure_type: FailureType::ConfigError, source: anyhow::anyhow!("{NOT_ENTITLED}. ({detail})") }
}

/// The API rejected the page cursor (`ADMIN-400-1`, or any 400 on a request that had one).
fn cursor_refused(e: &ApiError) -> bool {
    matches!(e.last(), ApiError::Client { status: 400, .. })
}

impl<W: Write> Reader<'_, '_, W> {
    pub(super) async fn read_audit_events(&mut self, mode: Option<Mode<EventsTracker>>) -> Result<(), ReadError> {
        let stream = StreamId::AuditEvents;
        // A full refresh keeps a tracker too (its state is not written): a cursor refused
        // mid-read is recovered from without emitting an event twice.
        let (mut tracker, incremental) = match mode {
            None => return Ok(()),
            Some(Mode::Frozen(saved)) => return self.writer.complete(stream, &saved),
            Some(Mode::FullRefresh) => (EventsTracker::default(), false),
            Some(Mode::Incremental(t)) => (t, true),
        };
        let client = self.client.clone();
        let actions: HashMap<String, String> = match self.wait(stream, client.event_actions()).await? {
            Ok(list) => list.into_iter().filter_map(|(id, name)| Some((id, name?))).collect(),
            Err(e) if e.is_refused() => return Err(not_entitled(&e.to_string())),
            Err(e) => return Err(ReadError::api(stream, e)),
        };
        let now = Utc::now();
        let oldest = now - chrono::Duration::days(RETENTION_DAYS);
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
        let org_id = client.org_id().to_string();
        let (mut emitted, mut repeats, mut pages) = (0u64, 0u64, 0u64);
        let mut last_progress = Instant::now();
        loop {
            let page = match self.wait(stream, client.events_page(cursor.as_deref(), from.map(|f| f.timestamp_millis()), PAGE_LIMIT)).await? {
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
            if pages == 1 && cursor.is_none() && page.data.is_empty() && page.next().is_none() && tracker.cursor().is_none() {
                return Err(not_entitled("events-stream answered with no event and no cursor: the organization has no audit log this key can read"));
            }
            let emitted_at = now_ms();
            let mut unit = self.writer.unit(());
            let mut newest = None;
            for raw in &page.data {
                let Some(event) = Event::parse(raw) else {
                    let e = ApiError::Decode { endpoint: Endpoint::EventsStream, reason: "an event has no 'id'".into() };
                    return Err(ReadError::api(stream, e));
                };
                newest = event.processed_at.or(newest);
                if tracker.is_repeat(event.id, event.processed_at) {
                    repeats += 1;
                    continue;
                }
                tracker.emitted(event.id, event.processed_at);
                unit.record(stream, &event.record(&org_id, &actions), emitted_at)?;
                emitted += 1;
            }
            let covered = unit.done();
            let next = page.next().map(String::from);
            let end = page.data.is_empty() || next.is_none() || next == cursor;
            tracker.page_read(next.as_deref());
            if incremental {
                self.writer.checkpoint(&covered, |_| [(stream, tracker.state())])?;
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                self.writer.info(&progress(emitted, pages, began_at, newest, Utc::now()))?;
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
        let state = if incremental { tracker.state() } else { json!({}) };
        self.writer.complete(stream, &state)
    }
}

/// A progress line: events so far and how far through the log, by processing time.
fn progress(emitted: u64, pages: u64, began_at: DateTime<Utc>, newest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(newest) = newest else { return format!("audit_events: {emitted} events, {pages} pages") };
    let span = (now - began_at).num_milliseconds().max(1) as f64;
    let done = ((newest - began_at).num_milliseconds() as f64 / span * 100.0).clamp(0.0, 100.0);
    format!("audit_events: {emitted} events, {pages} pages; processed up to {} ({done:.0} % of the way to now)", time::format(newest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_the_position_in_processing_time() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let line = progress(10, 2, t("2026-01-01T00:00:00Z"), Some(t("2026-01-06T00:00:00Z")), t("2026-01-11T00:00:00Z"));
        assert!(line.contains("50 %"), "{line}");
    }
}
