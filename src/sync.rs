//! The read loop: configured streams in, RECORD / STATE / TRACE / LOG messages out.
//!
//! One pass over the users search serves both `users` and `user_activity`; the workspaces are
//! fetched alongside it (they are needed first, for the join). Pages arrive from producer tasks
//! through bounded channels, so the next request is in flight while this loop writes.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use crate::catalog::ConfiguredCatalog;
use crate::client::pagination::{self, PageResult};
use crate::client::models::{ApiUser, ApiWorkspace};
use crate::client::{ApiError, AtlassianClient, Notice};
use crate::config::Config;
use crate::protocol::{now_ms, FailureType, LogLevel, Output, StreamStatus};
use crate::state::StateInput;
use crate::streams::workspaces::WorkspaceIndex;
use crate::streams::{user_activity, users, workspaces};

/// How often a progress LOG line is written during a long pass.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A read that failed, with the stream it failed in.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct SyncError {
    pub stream: Option<&'static str>,
    pub failure_type: FailureType,
    #[source]
    pub source: anyhow::Error,
}

impl SyncError {
    fn api(stream: &'static str, e: ApiError) -> Self {
        SyncError { stream: Some(stream), failure_type: e.failure_type(), source: e.into() }
    }
    fn io(e: std::io::Error) -> Self {
        SyncError { stream: None, failure_type: FailureType::SystemError, source: anyhow::Error::new(e).context("writing to stdout failed") }
    }
}

/// Per-stream bookkeeping for statuses and `sourceStats.recordCount`.
struct Tracker {
    name: &'static str,
    running: bool,
    complete: bool,
    since_state: u64,
    total: u64,
}

impl Tracker {
    fn new(name: &'static str) -> Self {
        Tracker { name, running: false, complete: false, since_state: 0, total: 0 }
    }

    /// Call before writing each record: the first one announces RUNNING.
    fn on_record<W: Write>(&mut self, out: &mut Output<W>) -> std::io::Result<()> {
        if !self.running {
            self.running = true;
            out.stream_status(self.name, StreamStatus::Running)?;
        }
        self.since_state += 1;
        self.total += 1;
        Ok(())
    }

    fn complete<W: Write>(&mut self, out: &mut Output<W>) -> std::io::Result<()> {
        out.state(self.name, &json!({}), self.since_state)?;
        self.since_state = 0;
        out.stream_status(self.name, StreamStatus::Complete)?;
        out.info(&format!("Stream '{}' complete: {} records", self.name, self.total))?;
        self.complete = true;
        Ok(())
    }
}

pub struct Sync<'o, W: Write> {
    out: &'o mut Output<W>,
    client: Arc<AtlassianClient>,
    notices: mpsc::UnboundedReceiver<Notice>,
    trackers: Vec<Tracker>,
}

impl<'o, W: Write> Sync<'o, W> {
    pub fn new(config: &Config, catalog: ConfiguredCatalog, _state: StateInput, out: &'o mut Output<W>) -> Result<Self, ApiError> {
        let (tx, notices) = mpsc::unbounded_channel();
        let client = Arc::new(AtlassianClient::new(config)?.with_notices(tx));
        let trackers = catalog.streams.iter().map(|s| Tracker::new(s.info.name)).collect();
        Ok(Sync { out, client, notices, trackers })
    }

    /// Runs the whole read. On failure the started streams are marked INCOMPLETE, an ERROR
    /// trace is written, and the error is returned so the caller exits non-zero.
    pub async fn run(mut self) -> Result<(), SyncError> {
        let result = self.run_streams().await;
        if let Err(e) = &result {
            for t in self.trackers.iter().filter(|t| !t.complete) {
                self.out.stream_status(t.name, StreamStatus::Incomplete).map_err(SyncError::io)?;
            }
            let message = format!("{:#}", e.source);
            self.out.error_trace(&message, Some(&format!("{:?}", e.source)), e.failure_type, e.stream).map_err(SyncError::io)?;
        }
        self.out.flush().map_err(SyncError::io)?;
        result
    }

    async fn run_streams(&mut self) -> Result<(), SyncError> {
        let want_users = self.position(users::INFO.name).is_some();
        let want_activity = self.position(user_activity::INFO.name).is_some();
        let want_workspaces = self.position(workspaces::INFO.name).is_some();
        for t in &self.trackers {
            self.out.stream_status(t.name, StreamStatus::Started).map_err(SyncError::io)?;
        }
        // Both chains start now; the users pages wait in their channel while workspaces drain.
        let workspace_pages = (want_workspaces || want_activity).then(|| pagination::workspaces(self.client.clone()));
        let user_pages = (want_users || want_activity)
            .then(|| pagination::users(self.client.clone(), users::EXPAND.to_vec(), None));

        let mut index = WorkspaceIndex::default();
        if let Some(rx) = workspace_pages {
            self.read_workspaces(rx, &mut index).await?;
        }
        if let Some(rx) = user_pages {
            self.read_users(rx, &index).await?;
        }
        Ok(())
    }

    /// The next page, writing any notices (retries, rate-limit waits) that arrive meanwhile.
    async fn next_page<T>(&mut self, rx: &mut mpsc::Receiver<PageResult<T>>, stream: &'static str) -> Result<Option<PageResult<T>>, SyncError> {
        loop {
            tokio::select! {
                biased;
                Some(notice) = self.notices.recv() => self.write_notice(stream, notice)?,
                page = rx.recv() => return Ok(page),
            }
        }
    }

    fn write_notice(&mut self, stream: &'static str, notice: Notice) -> Result<(), SyncError> {
        if let Some(until) = notice.rate_limited_until_ms {
            self.out.rate_limited(stream, until).map_err(SyncError::io)?;
        }
        self.out.log(LogLevel::Warn, &notice.message).map_err(SyncError::io)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.trackers.iter().position(|t| t.name == name)
    }

    async fn read_workspaces(
        &mut self,
        mut rx: mpsc::Receiver<PageResult<ApiWorkspace>>,
        index: &mut WorkspaceIndex,
    ) -> Result<(), SyncError> {
        let name = workspaces::INFO.name;
        let emit = self.position(name);
        let org_id = self.client.org_id().to_string();
        while let Some(page) = self.next_page(&mut rx, name).await? {
            let page = page.map_err(|e| SyncError::api(name, e))?;
            let emitted_at = now_ms();
            for w in &page.items {
                index.add(w);
                if let Some(i) = emit {
                    self.trackers[i].on_record(self.out).map_err(SyncError::io)?;
                    self.out.record(name, &workspaces::record(&org_id, w), emitted_at).map_err(SyncError::io)?;
                }
            }
        }
        self.out.info(&format!("Fetched {} workspaces", index.len())).map_err(SyncError::io)?;
        if let Some(i) = emit {
            self.trackers[i].complete(self.out).map_err(SyncError::io)?;
        }
        Ok(())
    }

    /// One pass over the users search, emitting `users` and/or `user_activity` records.
    async fn read_users(&mut self, mut rx: mpsc::Receiver<PageResult<ApiUser>>, index: &WorkspaceIndex) -> Result<(), SyncError> {
        let users_at = self.position(users::INFO.name);
        let activity_at = self.position(user_activity::INFO.name);
        let failing_stream = if users_at.is_some() { users::INFO.name } else { user_activity::INFO.name };
        let org_id = self.client.org_id().to_string();
        let (mut pages, mut seen_users, mut skipped, mut without_site, mut pages_without_access) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let started = Instant::now();
        let mut last_progress = Instant::now();
        while let Some(page) = self.next_page(&mut rx, failing_stream).await? {
            let page = page.map_err(|e| SyncError::api(failing_stream, e))?;
            pages += 1;
            if !page.items.is_empty() && page.items.iter().all(|u| u.product_access.is_none()) {
                pages_without_access += 1;
            }
            let emitted_at = now_ms();
            for u in &page.items {
                seen_users += 1;
                if let Some(i) = users_at {
                    self.trackers[i].on_record(self.out).map_err(SyncError::io)?;
                    self.out.record(users::INFO.name, &users::record(&org_id, u), emitted_at).map_err(SyncError::io)?;
                }
                if let Some(i) = activity_at {
                    for rec in user_activity::records(&org_id, u, index, &mut skipped) {
                        without_site += u64::from(rec.workspace_id.is_none());
                        self.trackers[i].on_record(self.out).map_err(SyncError::io)?;
                        self.out.record(user_activity::INFO.name, &rec, emitted_at).map_err(SyncError::io)?;
                    }
                }
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let line = format!("Users search: {pages} pages, {seen_users} users read in {:.0} s", started.elapsed().as_secs_f64());
                self.out.info(&line).map_err(SyncError::io)?;
            }
        }
        let out = &mut *self.out;
        let line = format!("Users search done: {pages} pages, {seen_users} users in {:.1} s", started.elapsed().as_secs_f64());
        out.info(&line).map_err(SyncError::io)?;
        if activity_at.is_some() && seen_users > 0 && pages_without_access == pages {
            out.log(LogLevel::Warn, "The users search returned no productAccess for any user: user_activity is empty and users.last_active is null. The organization or API key may not expose activity in bulk.")
                .map_err(SyncError::io)?;
        }
        if skipped > 0 {
            out.log(LogLevel::Warn, &format!("{skipped} productAccess entries had no product id and were not emitted"))
                .map_err(SyncError::io)?;
        }
        if without_site > 0 {
            out.log(LogLevel::Warn, &format!("{without_site} activity records matched no workspace: their site_url and workspace_name are null"))
                .map_err(SyncError::io)?;
        }
        for i in [users_at, activity_at].into_iter().flatten() {
            self.trackers[i].complete(self.out).map_err(SyncError::io)?;
        }
        Ok(())
    }
}
