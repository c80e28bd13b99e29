//! The read loop: configured streams in, RECORD / STATE / TRACE / LOG messages out.
//!
//! One pass over the users search serves both `users` and `user_activity`; the workspaces are
//! fetched alongside it (they are needed first, for the join). Pages arrive from producer tasks
//! through bounded channels, so the next request is in flight while this loop writes.
//! Incremental bookkeeping lives in [`crate::incremental`]; this loop decides when to emit.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::mpsc;

use crate::catalog::{ConfiguredCatalog, SyncMode};
use crate::client::models::{ApiUser, ApiWorkspace};
use crate::client::pagination::UserPageResult;
use crate::client::pagination::{self, PageResult};
use crate::client::{directory, ApiError, AtlassianClient, Endpoint, Notice};
use crate::config::{ActivitySource, Config};
use crate::incremental::{user_fingerprint, ActivityTracker, PassPosition, PassTracker, UsersTracker};
use crate::json::WriteJson;
use crate::licenses::{LicenseTracker, Site};
use crate::progress::ProgressBar;
use crate::protocol::{error_chain, now_ms, FailureType, LogLevel, Output, StreamStatus};
use crate::state::StateInput;
use crate::streams::workspaces::WorkspaceIndex;
use crate::streams::{license_assignments, user_activity, users, workspaces};
use crate::time;

/// How often a progress LOG line is written during a long pass.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// Checkpoints of a large state are spaced so that, on average, at most this many bytes of
/// state are written per page: a state holds every account, so checkpointing it after every
/// page would make a pass's output grow with the square of the organization's size.
const STATE_BYTES_PER_PAGE: usize = 64 * 1024;

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
    fn state(stream: &'static str, message: String) -> Self {
        SyncError {
            stream: Some(stream),
            failure_type: FailureType::ConfigError,
            source: anyhow::anyhow!(
                "the saved state of stream '{stream}' cannot be used: {}. Pass the state this connector emitted, or reset the stream",
                message.trim_end_matches('.')
            ),
        }
    }
}

/// Per-stream bookkeeping for statuses and `sourceStats.recordCount`.
struct StreamProgress {
    name: &'static str,
    running: bool,
    complete: bool,
    since_state: u64,
    total: u64,
}

impl StreamProgress {
    fn new(name: &'static str) -> Self {
        StreamProgress { name, running: false, complete: false, since_state: 0, total: 0 }
    }

    /// Writes one record of this stream, counted for `recordCount`; the first one announces RUNNING.
    fn emit<W: Write, D: WriteJson>(&mut self, out: &mut Output<W>, data: &D, emitted_at: i64) -> Result<(), SyncError> {
        if !self.running {
            self.running = true;
            out.stream_status(self.name, StreamStatus::Running).map_err(SyncError::io)?;
        }
        self.since_state += 1;
        self.total += 1;
        out.record(self.name, data, emitted_at).map_err(SyncError::io)
    }

    fn checkpoint<W: Write>(&mut self, out: &mut Output<W>, state: &serde_json::Value) -> Result<(), SyncError> {
        out.state(self.name, state, self.since_state).map_err(SyncError::io)?;
        self.since_state = 0;
        Ok(())
    }

    fn complete<W: Write>(&mut self, out: &mut Output<W>, state: &serde_json::Value) -> Result<(), SyncError> {
        self.checkpoint(out, state)?;
        out.stream_status(self.name, StreamStatus::Complete).map_err(SyncError::io)?;
        out.info(&format!("Stream '{}' complete: {} records", self.name, self.total)).map_err(SyncError::io)?;
        self.complete = true;
        Ok(())
    }
}

/// The streams served by one pass over the users search, each with its incremental tracker
/// (`None` in full refresh).
struct UsersPass {
    users: Option<(usize, Option<UsersTracker>)>,
    activity: Option<(usize, Option<ActivityTracker>)>,
}

impl UsersPass {
    /// Each stream's tracker; `None` for a stream read in full refresh.
    fn trackers(&self) -> impl Iterator<Item = Option<&dyn PassTracker>> {
        let users = self.users.as_ref().map(|(_, t)| t.as_ref().map(|t| t as &dyn PassTracker));
        let activity = self.activity.as_ref().map(|(_, t)| t.as_ref().map(|t| t as &dyn PassTracker));
        users.into_iter().chain(activity)
    }

    /// Where to start: the saved resume position, if every stream of the pass is incremental
    /// and they agree on it (a full refresh stream needs every page); else the first page.
    fn start(&self) -> Option<PassPosition> {
        let mut positions = Vec::new();
        for tracker in self.trackers() {
            let tracker = tracker?;
            if !tracker.is_frozen() {
                positions.push(tracker.resume_position());
            }
        }
        let first = positions.first().copied().flatten()?;
        positions.iter().all(|p| *p == Some(first)).then(|| first.clone())
    }

    /// True when every stream of the pass has a cursor in the future: nothing to read.
    fn all_frozen(&self) -> bool {
        self.trackers().all(|t| t.is_some_and(|t| t.is_frozen()))
    }
}

pub struct Sync<'o, W: Write> {
    out: &'o mut Output<W>,
    client: Arc<AtlassianClient>,
    notices: mpsc::UnboundedReceiver<Notice>,
    progress: Vec<StreamProgress>,
    workspaces_at: Option<usize>,
    pass: UsersPass,
    checkpoint_interval: u64,
    /// Size of the last checkpoint's states, which spaces the next one.
    last_state_bytes: usize,
    /// The spacing of checkpoints was explained (once a read is enough).
    spacing_announced: bool,
    activity_source: ActivitySource,
    max_concurrency: usize,
    /// `license_assignments`, with its tracker in incremental mode.
    licenses: Option<(usize, Option<LicenseTracker>)>,
    /// The product sites, as the workspaces list described them (for `license_assignments`).
    sites: Vec<Site>,
    /// Adjustments made to the configured catalog, logged when the read starts.
    catalog_warnings: Vec<String>,
}

impl<'o, W: Write> Sync<'o, W> {
    /// Builds the client and reads every stream's saved state; nothing is requested yet.
    pub fn new(config: &Config, catalog: ConfiguredCatalog, state: StateInput, out: &'o mut Output<W>) -> Result<Self, SyncError> {
        let (tx, notices) = mpsc::unbounded_channel();
        let client = AtlassianClient::new(config).map_err(|e| SyncError { stream: None, failure_type: e.failure_type(), source: e.into() })?;
        let client = Arc::new(client.with_notices(tx));
        let progress: Vec<StreamProgress> = catalog.streams.iter().map(|s| StreamProgress::new(s.info.name)).collect();
        let at = |name: &str| progress.iter().position(|p| p.name == name);
        let now = Utc::now();
        let incremental = |name: &str| catalog.get(name).is_some_and(|s| s.sync_mode == SyncMode::Incremental);

        let users = match at(users::INFO.name) {
            None => None,
            Some(i) if incremental(users::INFO.name) => {
                let tracker = UsersTracker::from_state(state.streams.get(users::INFO.name), now)
                    .map_err(|e| SyncError::state(users::INFO.name, e))?;
                Some((i, Some(tracker)))
            }
            Some(i) => Some((i, None)),
        };
        let activity = match at(user_activity::INFO.name) {
            None => None,
            Some(i) if incremental(user_activity::INFO.name) => {
                let tracker = ActivityTracker::from_state(
                    state.streams.get(user_activity::INFO.name),
                    config.lookback_window,
                    config.start_date,
                    now,
                )
                .map_err(|e| SyncError::state(user_activity::INFO.name, e))?;
                Some((i, Some(tracker)))
            }
            Some(i) => Some((i, None)),
        };
        let licenses = match at(license_assignments::INFO.name) {
            None => None,
            Some(i) if incremental(license_assignments::INFO.name) => {
                let tracker = LicenseTracker::from_state(state.streams.get(license_assignments::INFO.name), now)
                    .map_err(|e| SyncError::state(license_assignments::INFO.name, e))?;
                Some((i, Some(tracker)))
            }
            Some(i) => Some((i, None)),
        };
        Ok(Sync {
            catalog_warnings: catalog.warnings.clone(),
            out,
            client,
            notices,
            workspaces_at: at(workspaces::INFO.name),
            progress,
            pass: UsersPass { users, activity },
            checkpoint_interval: u64::from(config.checkpoint_interval_pages.max(1)),
            last_state_bytes: 0,
            spacing_announced: false,
            activity_source: config.activity_source,
            max_concurrency: config.max_concurrency,
            licenses,
            sites: Vec::new(),
        })
    }

    /// Runs the whole read. On failure the started streams are marked INCOMPLETE, an ERROR
    /// trace is written, and the error is returned so the caller exits non-zero.
    pub async fn run(mut self) -> Result<(), SyncError> {
        let result = self.run_streams().await;
        if let Err(e) = &result {
            for p in self.progress.iter().filter(|p| !p.complete) {
                self.out.stream_status(p.name, StreamStatus::Incomplete).map_err(SyncError::io)?;
            }
            let message = format!("{:#}", e.source);
            self.out.error_trace(&message, Some(&error_chain(&e.source)), e.failure_type, e.stream).map_err(SyncError::io)?;
        }
        self.out.flush().map_err(SyncError::io)?;
        result
    }

    async fn run_streams(&mut self) -> Result<(), SyncError> {
        for warning in std::mem::take(&mut self.catalog_warnings) {
            self.out.log(LogLevel::Warn, &warning).map_err(SyncError::io)?;
        }
        for p in &self.progress {
            self.out.stream_status(p.name, StreamStatus::Started).map_err(SyncError::io)?;
        }
        let want_pass = (self.pass.users.is_some() || self.pass.activity.is_some()) && !self.pass.all_frozen();
        let join_needed = self.pass.activity.as_ref().is_some_and(|(_, t)| !t.as_ref().is_some_and(|t| t.is_frozen()));
        let start = if want_pass { self.pass.start() } else { None };
        // Both chains start now; the users pages wait in their channel while workspaces drain.
        let licenses_needed = self.licenses.as_ref().is_some_and(|(_, t)| !t.as_ref().is_some_and(|t| t.is_frozen()));
        let workspace_pages = (self.workspaces_at.is_some() || join_needed || licenses_needed).then(|| pagination::workspaces(self.client.clone()));
        let user_pages = want_pass.then(|| self.user_pages(self.activity_source, start.as_ref().map(|p| p.next_page.clone())));
        let count = want_pass.then(|| {
            let client = self.client.clone();
            tokio::spawn(async move { client.users_count().await })
        });

        let mut index = WorkspaceIndex::default();
        if let Some(rx) = workspace_pages {
            self.read_workspaces(rx, &mut index).await?;
        }
        match user_pages {
            Some(rx) => self.read_users(rx, &index, start, count).await?,
            None => self.finish_pass(Utc::now())?,
        }
        self.read_licenses().await
    }

    /// The next page, writing any notices (retries, rate-limit waits) that arrive meanwhile.
    async fn next_page<T>(&mut self, rx: &mut mpsc::Receiver<Result<T, ApiError>>, stream: &'static str) -> Result<Option<Result<T, ApiError>>, SyncError> {
        loop {
            tokio::select! {
                biased;
                Some(notice) = self.notices.recv() => self.write_notice(stream, notice)?,
                page = rx.recv() => return Ok(page),
            }
        }
    }

    /// A notice is reported against the stream whose request it is about: users-search pages
    /// are fetched while the workspaces are still being read.
    fn write_notice(&mut self, reading: &'static str, notice: Notice) -> Result<(), SyncError> {
        let stream = match notice.endpoint {
            Endpoint::Workspaces if self.workspaces_at.is_some() => workspaces::INFO.name,
            Endpoint::UsersSearch | Endpoint::UsersCount | Endpoint::LastActiveDates if reading == workspaces::INFO.name => {
                self.pass_stream()
            }
            _ => reading,
        };
        if let Some(until) = notice.rate_limited_until_ms {
            self.out.rate_limited(stream, until).map_err(SyncError::io)?;
        }
        self.out.log(LogLevel::Warn, &notice.message).map_err(SyncError::io)
    }

    async fn read_workspaces(&mut self, mut rx: mpsc::Receiver<PageResult<ApiWorkspace>>, index: &mut WorkspaceIndex) -> Result<(), SyncError> {
        let name = workspaces::INFO.name;
        let org_id = self.client.org_id().to_string();
        while let Some(page) = self.next_page(&mut rx, name).await? {
            let page = page.map_err(|e| SyncError::api(name, e))?;
            if let (None, Some(total), Some(_)) = (page.cursor.as_ref(), page.total, self.workspaces_at) {
                self.out.estimate(name, total).map_err(SyncError::io)?;
            }
            let emitted_at = now_ms();
            for w in &page.items {
                index.add(w);
                let a = &w.attributes;
                let skip = license_assignments::skip_reason(a.sandbox.as_ref().and_then(|s| s.kind.as_deref()), a.status.as_deref());
                self.sites.push(Site { workspace_id: w.id.clone(), name: a.name.clone(), skip });
                if let Some(i) = self.workspaces_at {
                    self.progress[i].emit(self.out, &workspaces::record(&org_id, w), emitted_at)?;
                }
            }
        }
        self.out.info(&format!("Fetched {} workspaces", index.len())).map_err(SyncError::io)?;
        if let Some(i) = self.workspaces_at {
            self.progress[i].complete(self.out, &json!({}))?;
        }
        Ok(())
    }

    /// The stream a users-search failure is reported against.
    fn pass_stream(&self) -> &'static str {
        if self.pass.users.is_some() {
            users::INFO.name
        } else {
            user_activity::INFO.name
        }
    }

    /// The users-search page chain from `cursor`, with activity from the given source.
    fn user_pages(&self, source: ActivitySource, cursor: Option<String>) -> mpsc::Receiver<UserPageResult> {
        match source {
            ActivitySource::PerUser => {
                let expand = users::EXPAND.iter().copied().filter(|e| *e != users::PRODUCT_ACCESS).collect();
                let pages = pagination::users(self.client.clone(), expand, cursor);
                directory::with_per_user_activity(self.client.clone(), None, pages, self.max_concurrency)
            }
            ActivitySource::Auto | ActivitySource::Bulk => pagination::users(self.client.clone(), users::EXPAND.to_vec(), cursor),
        }
    }

    /// The first page of the pass, after the two decisions it settles: a saved resume position
    /// the API rejects restarts the pass; in `auto`, a rejected `productAccess` expand or a page
    /// without any `productAccess` switches to per-user activity.
    async fn open_pass(
        &mut self,
        rx: &mut mpsc::Receiver<UserPageResult>,
        start: &Option<PassPosition>,
    ) -> Result<Option<UserPageResult>, SyncError> {
        let stream = self.pass_stream();
        let mut cursor = start.as_ref().map(|p| p.next_page.clone());
        let mut first = self.next_page(rx, stream).await?;
        if cursor.is_some() && matches!(&first, Some(Err(ApiError::Client { status: 400, code: Some(c), .. })) if c == "ADMIN-400-1") {
            self.out
                .log(LogLevel::Warn, "The API rejected the saved resume position (the page cursor is invalid or expired): restarting the users pass from the first page. Records already emitted are not emitted again.")
                .map_err(SyncError::io)?;
            cursor = None;
            *rx = self.user_pages(self.activity_source, None);
            first = self.next_page(rx, stream).await?;
        }
        let message = match (self.activity_source, &first) {
            (ActivitySource::Auto, Some(Err(ApiError::Client { status: 400, .. }))) => {
                *rx = self.user_pages(ActivitySource::PerUser, cursor);
                first = self.next_page(rx, stream).await?;
                "Activity source: the users search rejected the productAccess expand; falling back to one last-active-dates request per user"
            }
            (ActivitySource::Auto, Some(Ok(page))) if !page.items.users().is_empty() && page.items.users().iter().all(|u| u.product_access.is_none()) => {
                let pages = std::mem::replace(rx, mpsc::channel(1).1);
                let page = first.take().and_then(Result::ok);
                *rx = directory::with_per_user_activity(self.client.clone(), page, pages, self.max_concurrency);
                first = self.next_page(rx, stream).await?;
                "Activity source: the users search returned no productAccess; falling back to one last-active-dates request per user"
            }
            (ActivitySource::PerUser, _) => "Activity source: per-user last-active-dates requests (activity_source = per_user)",
            _ => "Activity source: the bulk users search with productAccess",
        };
        self.out.info(message).map_err(SyncError::io)?;
        Ok(first)
    }

    /// One pass over the users search, emitting `users` and/or `user_activity` records.
    async fn read_users(
        &mut self,
        mut rx: mpsc::Receiver<UserPageResult>,
        index: &WorkspaceIndex,
        start: Option<PassPosition>,
        count: Option<tokio::task::JoinHandle<Result<u64, ApiError>>>,
    ) -> Result<(), SyncError> {
        let stream = self.pass_stream();
        let org_id = self.client.org_id().to_string();
        let pass_started = match &start {
            Some(p) => {
                let msg = format!("Resuming the users pass begun at {} from its last checkpoint", p.started_at);
                self.out.info(&msg).map_err(SyncError::io)?;
                time::parse_lenient(&p.started_at).unwrap_or_else(Utc::now)
            }
            None => Utc::now(),
        };
        let started_text = time::format(pass_started);
        let mut first = self.open_pass(&mut rx, &start).await?;
        let total_users = self.announce_estimates(count, &first).await?;
        let (mut pages, mut seen_users, mut skipped, mut without_site, mut pages_without_access) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut since_checkpoint = 0u64;
        let started = Instant::now();
        let mut last_progress = Instant::now();
        let mut bar = ProgressBar::new();
        loop {
            let page = match first.take() {
                Some(p) => p,
                None => match self.next_page(&mut rx, stream).await? {
                    Some(p) => p,
                    None => break,
                },
            };
            let page = page.map_err(|e| SyncError::api(stream, e))?;
            pages += 1;
            if !page.items.users().is_empty() && page.items.users().iter().all(|u| u.product_access.is_none()) {
                pages_without_access += 1;
            }
            let emitted_at = now_ms();
            let observed_at = stamp(emitted_at, pass_started);
            for u in page.items.users() {
                seen_users += 1;
                self.emit_user(&org_id, u, &observed_at, emitted_at)?;
                if let Some((i, tracker)) = &mut self.pass.activity {
                    for rec in user_activity::records(&org_id, u, index, &mut skipped) {
                        if let Some(t) = tracker {
                            let last_active = rec.last_active.as_deref().and_then(time::parse_lenient);
                            if !t.observe(rec.account_id, rec.product_id, last_active, rec.last_active.as_deref()) {
                                continue;
                            }
                        }
                        without_site += u64::from(rec.workspace_id.is_none());
                        self.progress[*i].emit(self.out, &rec, emitted_at)?;
                    }
                }
            }
            since_checkpoint += 1;
            if let Some(next) = page.next.as_ref().filter(|_| since_checkpoint >= self.effective_interval()) {
                since_checkpoint = 0;
                self.checkpoint(&PassPosition { next_page: next.clone(), started_at: started_text.clone() })?;
            }
            let records: u64 = self.progress.iter().map(|p| p.total).sum();
            bar.update(seen_users, total_users, records);
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let line = format!("Users search: {} in {:.0} s", self.pass_progress(pages, seen_users, total_users), started.elapsed().as_secs_f64());
                self.out.info(&line).map_err(SyncError::io)?;
            }
        }
        bar.finish();
        let line = format!("Users search done: {} in {:.1} s", self.pass_progress(pages, seen_users, total_users), started.elapsed().as_secs_f64());
        self.out.info(&line).map_err(SyncError::io)?;
        if self.pass.activity.is_some() && seen_users > 0 && pages_without_access == pages {
            self.out.log(LogLevel::Warn, "The users search returned no productAccess for any user: user_activity is empty and users.last_active is null. Set activity_source to auto or per_user to read activity user by user.")
                .map_err(SyncError::io)?;
        }
        if skipped > 0 {
            self.out.log(LogLevel::Warn, &format!("{skipped} productAccess entries had no product id and were not emitted"))
                .map_err(SyncError::io)?;
        }
        if without_site > 0 {
            self.out.log(LogLevel::Warn, &format!("{without_site} activity records matched no workspace: their site_url and workspace_name are null"))
                .map_err(SyncError::io)?;
        }
        self.finish_pass(pass_started)
    }

    /// Where a users pass stands: pages, users (and the share of the total, when known),
    /// records, requests (all of the read's, retries included) and rate-limit waiting.
    fn pass_progress(&self, pages: u64, users: u64, total_users: Option<u64>) -> String {
        let percent = total_users.filter(|t| *t > 0).map(|t| format!(" ({:.0} %)", 100.0 * users as f64 / t as f64)).unwrap_or_default();
        let pass_streams = [self.pass.users.as_ref().map(|(i, _)| *i), self.pass.activity.as_ref().map(|(i, _)| *i)];
        let records: Vec<String> =
            pass_streams.into_iter().flatten().map(|i| format!("{} {}", self.progress[i].name, self.progress[i].total)).collect();
        format!(
            "{pages} pages, {users} users{percent}; records emitted: {}; {} requests, {:.1} s waiting for the rate limit",
            records.join(", "),
            self.client.requests_sent(),
            self.client.rate_limit_waited().as_secs_f64()
        )
    }

    /// ESTIMATE traces for the full-refresh streams of the pass once the user count is known;
    /// returns the count (for progress). A failed count only costs the estimate.
    async fn announce_estimates(
        &mut self,
        count: Option<tokio::task::JoinHandle<Result<u64, ApiError>>>,
        first: &Option<UserPageResult>,
    ) -> Result<Option<u64>, SyncError> {
        let Some(handle) = count else { return Ok(None) };
        let total = match handle.await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.out.log(LogLevel::Warn, &format!("No estimate or percentage: {e}")).map_err(SyncError::io)?;
                return Ok(None);
            }
            Err(_) => return Ok(None),
        };
        if matches!(self.pass.users, Some((_, None))) {
            self.out.estimate(users::INFO.name, total).map_err(SyncError::io)?;
        }
        if let (Some((_, None)), Some(Ok(page))) = (&self.pass.activity, first) {
            let users = page.items.users();
            if !users.is_empty() {
                let entries: usize = users.iter().map(|u| u.product_access.as_ref().map_or(0, Vec::len)).sum();
                let rows = (entries as f64 / users.len() as f64 * total as f64).round() as u64;
                self.out.estimate(user_activity::INFO.name, rows).map_err(SyncError::io)?;
            }
        }
        Ok(Some(total))
    }

    /// A `users` record: always in full refresh, only when new or changed in incremental.
    fn emit_user(&mut self, org_id: &str, u: &ApiUser, observed_at: &str, emitted_at: i64) -> Result<(), SyncError> {
        let Some((i, tracker)) = &mut self.pass.users else { return Ok(()) };
        let mut rec = users::record(org_id, u);
        if let Some(t) = tracker {
            let mut content = Vec::new();
            rec.write_json(&mut content);
            if !t.observe(&u.account_id, user_fingerprint(&content)) {
                return Ok(());
            }
        }
        rec.observed_at = Some(observed_at);
        self.progress[*i].emit(self.out, &rec, emitted_at)
    }

    /// Pages between checkpoints: the configured interval, stretched for a large state.
    fn effective_interval(&self) -> u64 {
        self.checkpoint_interval.max(self.last_state_bytes.div_ceil(STATE_BYTES_PER_PAGE) as u64)
    }

    /// A STATE for each incremental stream of the pass; every record before it is written.
    fn checkpoint(&mut self, position: &PassPosition) -> Result<(), SyncError> {
        let before = self.effective_interval();
        let mut bytes = 0;
        if let Some((i, Some(t))) = &self.pass.users {
            if !t.is_frozen() {
                let state = t.checkpoint(position);
                bytes += text_bytes(&state);
                self.progress[*i].checkpoint(self.out, &state)?;
            }
        }
        if let Some((i, Some(t))) = &mut self.pass.activity {
            if !t.is_frozen() {
                let state = t.checkpoint(position);
                bytes += text_bytes(&state);
                self.progress[*i].checkpoint(self.out, &state)?;
            }
        }
        self.last_state_bytes = bytes;
        let after = self.effective_interval();
        if after > before && after > self.checkpoint_interval && !self.spacing_announced {
            self.spacing_announced = true;
            let line = format!(
                "The incremental state is {:.1} MB: checkpointing every {after} pages or more instead of every {} (the spacing grows with the state) to keep the output small",
                bytes as f64 / 1e6,
                self.checkpoint_interval
            );
            self.out.info(&line).map_err(SyncError::io)?;
        }
        Ok(())
    }

    /// `license_assignments`: one filtered users search per site and billable role, sandbox
    /// and offline sites skipped (a LOG line says so). In incremental mode only new seats and
    /// deletions are emitted, with a STATE after each search.
    async fn read_licenses(&mut self) -> Result<(), SyncError> {
        let name = license_assignments::INFO.name;
        let Some((i, mut tracker)) = self.licenses.take() else { return Ok(()) };
        if tracker.as_ref().is_some_and(|t| t.is_frozen()) {
            let state = tracker.as_ref().map_or_else(|| json!({}), |t| t.final_state(Utc::now()));
            return self.progress[i].complete(self.out, &state);
        }
        let org_id = self.client.org_id().to_string();
        let started = tracker.as_ref().and_then(|t| t.resumed_from()).unwrap_or_else(Utc::now);
        let sites = std::mem::take(&mut self.sites);
        let (mut searches, mut seats) = (0u64, 0u64);
        for site in &sites {
            let label = site.name.as_deref().unwrap_or("(unnamed)");
            if let Some(reason) = site.skip {
                self.out.info(&format!("{name}: skipping site '{label}' ({}): {reason}", site.workspace_id)).map_err(SyncError::io)?;
                continue;
            }
            for role in license_assignments::BILLABLE_ROLES {
                if tracker.as_ref().is_some_and(|t| t.is_done(&site.workspace_id, role)) {
                    continue; // completed before the interruption this sync resumes
                }
                let mut rx = pagination::users_with_role(self.client.clone(), site.workspace_id.clone(), role.to_string());
                let mut found = std::collections::BTreeSet::new();
                while let Some(page) = self.next_page(&mut rx, name).await? {
                    let page = page.map_err(|e| SyncError::api(name, e))?;
                    let emitted_at = now_ms();
                    let observed_at = stamp(emitted_at, started);
                    for u in &page.items {
                        if !found.insert(u.account_id.to_string()) || tracker.is_some() {
                            continue; // a repeat; or incremental, which emits once the search is complete
                        }
                        let rec = license_assignments::record(&org_id, &site.workspace_id, &u.account_id, role, &observed_at);
                        self.progress[i].emit(self.out, &rec, emitted_at)?;
                    }
                }
                searches += 1;
                seats += found.len() as u64;
                if let Some(t) = &mut tracker {
                    let changes = t.complete_search(&site.workspace_id, role, found);
                    let emitted_at = now_ms();
                    let now = stamp(emitted_at, started);
                    for account in &changes.added {
                        let rec = license_assignments::record(&org_id, &site.workspace_id, account, role, &now);
                        self.progress[i].emit(self.out, &rec, emitted_at)?;
                    }
                    for account in &changes.removed {
                        let rec = license_assignments::deletion(&org_id, &site.workspace_id, account, role, &now);
                        self.progress[i].emit(self.out, &rec, emitted_at)?;
                    }
                    let state = t.checkpoint(started);
                    self.progress[i].checkpoint(self.out, &state)?;
                }
            }
        }
        let state = match &mut tracker {
            Some(t) => {
                let gone = t.finish();
                if !gone.is_empty() {
                    self.out.info(&format!("{name}: {} seats are on sites no longer read: emitting deletion records", gone.len())).map_err(SyncError::io)?;
                }
                let emitted_at = now_ms();
                let now = stamp(emitted_at, started);
                for (workspace_id, role, account) in &gone {
                    let rec = license_assignments::deletion(&org_id, workspace_id, account, role, &now);
                    self.progress[i].emit(self.out, &rec, emitted_at)?;
                }
                t.final_state(started)
            }
            None => json!({}),
        };
        self.out.info(&format!("{name}: {searches} site/role searches, {seats} billable seats")).map_err(SyncError::io)?;
        self.progress[i].complete(self.out, &state)
    }

    /// Ends the pass: deletion records, then each stream's final STATE and COMPLETE.
    fn finish_pass(&mut self, pass_started: DateTime<Utc>) -> Result<(), SyncError> {
        if let Some((i, tracker)) = &mut self.pass.users {
            let state = match tracker {
                Some(t) => {
                    let deleted = t.finish();
                    if !deleted.is_empty() {
                        let line = format!("{} users are no longer in the directory: emitting deletion records", deleted.len());
                        self.out.info(&line).map_err(SyncError::io)?;
                    }
                    let emitted_at = now_ms();
                    let now = time::format(Utc::now());
                    let org_id = self.client.org_id();
                    for account_id in &deleted {
                        let rec = users::deletion(org_id, account_id, &now);
                        self.progress[*i].emit(self.out, &rec, emitted_at)?;
                    }
                    t.final_state(pass_started)
                }
                None => json!({}),
            };
            self.progress[*i].complete(self.out, &state)?;
        }
        if let Some((i, tracker)) = &mut self.pass.activity {
            let state = tracker.as_mut().map_or_else(|| json!({}), |t| t.final_state());
            self.progress[*i].complete(self.out, &state)?;
        }
        Ok(())
    }
}

/// The length of a state's text fields: nearly all of its size, without serializing it again.
fn text_bytes(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) => s.len(),
        serde_json::Value::Object(o) => o.values().map(text_bytes).sum(),
        serde_json::Value::Array(a) => a.iter().map(text_bytes).sum(),
        _ => 0,
    }
}

/// The `observed_at` of records emitted at `emitted_at` (ms), as RFC 3339 text.
fn stamp(emitted_at: i64, fallback: DateTime<Utc>) -> String {
    time::format(DateTime::from_timestamp_millis(emitted_at).unwrap_or(fallback))
}
