//! The users pass: one walk over the users search serves `users` and `user_activity`.
//!
//! Each page is one unit of the writer: its users' records (and their activity records), then,
//! every few pages, a checkpoint of each incremental stream at the page after it. When the walk
//! ends, `users` emits a deletion record for each account it did not see, and both streams
//! write their final state.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::cadence::Cadence;
use super::error::ReadError;
use super::plan::{Mode, PassPlan};
use super::Reader;
use crate::client::pagination::UserPageResult;
use crate::client::user_pages::Opened;
use crate::client::ApiError;
use super::records::to_write;
use crate::incremental::{ActivityTracker, PassPosition, UsersTracker};
use crate::json::WriteJson;
use crate::progress::ProgressBar;
use crate::protocol::{now_ms, FailureType};
use crate::streams::workspaces::WorkspaceIndex;
use crate::streams::user_activity;
use crate::streams::{users, StreamId};
use crate::time;

/// How often a progress LOG line is written during a long pass.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// What a pass counts, for its progress lines and its summary.
#[derive(Debug, Default)]
struct Counts {
    pages: u64,
    users: u64,
    pages_without_access: u64,
    /// Activity entries without a product id (they cannot be keyed).
    skipped: u64,
    /// Activity records whose product matched no workspace.
    without_site: u64,
}

impl<W: Write> Reader<'_, '_, W> {
    pub(super) async fn users_pass(
        &mut self,
        mut plan: PassPlan,
        start: Option<PassPosition>,
        opening: JoinHandle<Opened>,
        count: JoinHandle<Result<u64, ApiError>>,
        sites: &WorkspaceIndex,
    ) -> Result<(), ReadError> {
        let stream = self.pass_stream;
        let org_id = self.client.org_id().to_string();
        let pass_started = match &start {
            Some(p) => {
                self.writer.info(&format!("Resuming the users pass begun at {} from its last checkpoint", p.started_at))?;
                time::parse_lenient(&p.started_at).unwrap_or_else(Utc::now)
            }
            None => Utc::now(),
        };
        let started_text = time::format(pass_started);
        let Opened { mut pages, restarted, activity } = self.wait(stream, opening).await?.map_err(|e| ReadError {
            stream: Some(stream),
            failure_type: FailureType::SystemError,
            source: anyhow::anyhow!("the users pass stopped unexpectedly: {e}"),
        })?;
        if restarted {
            self.writer.warn("The API rejected the saved resume position (the page cursor is invalid or expired): restarting the users pass from the first page. Records already emitted are not emitted again.")?;
        }
        self.writer.info(&activity.describe())?;
        self.only_managed = !activity.sees_every_user();
        let total_users = self.announce_estimates(&plan, count, pages.peek()).await?;

        let mut counts = Counts::default();
        let mut cadence = Cadence::new(self.settings.checkpoint_interval);
        let started = Instant::now();
        let mut last_progress = Instant::now();
        let mut bar = ProgressBar::new();
        let mut scratch = Vec::new();
        let start_date = self.settings.start_date;
        while let Some(page) = self.wait(stream, pages.next()).await? {
            let page = page.map_err(|e| ReadError::api(stream, e))?;
            let users = page.items.users();
            counts.pages += 1;
            if !users.is_empty() && users.iter().all(|u| u.product_access.is_none()) {
                counts.pages_without_access += 1;
            }
            let emitted_at = now_ms();
            let observed_at = stamp(emitted_at, pass_started);
            let position = page.next.as_ref().map(|next| PassPosition { next_page: next.clone(), started_at: started_text.clone() });
            let mut unit = self.writer.unit(position);
            for u in users {
                counts.users += 1;
                if let Some(mode) = plan.users.as_mut().filter(|m| m.is_read()) {
                    let changed = |t: &mut UsersTracker, fp| t.observe(&u.account_id, fp);
                    if let Some(record) = to_write(users::record(&org_id, u), mode, changed, &observed_at, &mut scratch) {
                        unit.record(StreamId::Users, &record, emitted_at)?;
                    }
                }
                if let Some(mode) = plan.activity.as_mut().filter(|m| m.is_read()) {
                    for entry in user_activity::records(&org_id, u, sites, &mut counts.skipped) {
                        if start_date.is_some_and(|start| entry.last_active_at.is_some_and(|at| at < start)) {
                            continue; // older than start_date: never emitted, in any mode
                        }
                        let without_site = entry.record.workspace_id.is_none();
                        let (account, product): (&str, &str) = (&u.account_id, entry.record.product_id);
                        let changed = |t: &mut ActivityTracker, fp| t.observe((account, product), fp);
                        if let Some(record) = to_write(entry.record, mode, changed, &observed_at, &mut scratch) {
                            counts.without_site += u64::from(without_site);
                            unit.record(StreamId::UserActivity, &record, emitted_at)?;
                        }
                    }
                }
            }
            let covered = unit.done();
            if page.next.is_some() {
                cadence.checkpoint(self.writer, None, pass_entries(&plan), &covered, |position| pass_checkpoint(&mut plan, position.as_ref()))?;
            }
            bar.update(counts.users, total_users, self.pass_records(&plan));
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let line = format!("{}: {} in {:.0} s", self.pass_name(), self.pass_progress(&plan, &counts, total_users), started.elapsed().as_secs_f64());
                self.writer.info(&line)?;
            }
        }
        bar.finish();
        let line = format!("{} done: {} in {:.1} s", self.pass_name(), self.pass_progress(&plan, &counts, total_users), started.elapsed().as_secs_f64());
        self.writer.info(&line)?;
        if plan.activity.is_some() && counts.users > 0 && counts.pages_without_access == counts.pages {
            self.writer.warn("The users search returned no productAccess for any user: user_activity is empty and users.last_active is null. Set activity_source to auto or per_user to read activity user by user.")?;
        }
        if counts.skipped > 0 {
            self.writer.warn(&format!("{} productAccess entries had no product id and were not emitted", counts.skipped))?;
        }
        if counts.without_site > 0 {
            self.writer.warn(&format!("{} activity records matched no workspace: their site_url and workspace_name are null", counts.without_site))?;
        }
        self.finish_pass(plan, pass_started)
    }

    /// Records written so far by the streams of the pass.
    fn pass_records(&self, plan: &PassPlan) -> u64 {
        pass_streams(plan).map(|s| self.writer.total(s)).sum()
    }

    /// Where a users pass stands: pages, users (and the share of the total, when known),
    /// records per stream, requests (all of the read's, retries included) and rate-limit waiting.
    fn pass_progress(&self, plan: &PassPlan, counts: &Counts, total_users: Option<u64>) -> String {
        let percent =
            total_users.filter(|t| *t > 0).map(|t| format!(" ({:.0} %)", 100.0 * counts.users as f64 / t as f64)).unwrap_or_default();
        let records: Vec<String> = pass_streams(plan).map(|s| format!("{} {}", s.name(), self.writer.total(s))).collect();
        format!(
            "{} pages, {} users{percent}; records emitted: {}; {} requests, {:.1} s waiting for the rate limit",
            counts.pages,
            counts.users,
            records.join(", "),
            self.client.requests_sent(),
            self.client.rate_limit_waited().as_secs_f64()
        )
    }

    /// ESTIMATE traces for the full-refresh streams of the pass once the user count is known;
    /// returns the count (for progress). A failed count only costs the estimate.
    async fn announce_estimates(
        &mut self,
        plan: &PassPlan,
        count: JoinHandle<Result<u64, ApiError>>,
        first: Option<&UserPageResult>,
    ) -> Result<Option<u64>, ReadError> {
        // Only the managed accounts visible (the count is refused too): their list's total.
        let listed = first.and_then(|p| p.as_ref().ok()).and_then(|p| p.total).filter(|_| self.only_managed);
        let total = match self.wait(self.pass_stream, count).await? {
            Ok(Ok(n)) => n,
            Ok(Err(_)) if listed.is_some() => listed.unwrap_or_default(),
            Ok(Err(e)) => {
                self.writer.warn(&format!("No estimate or percentage: {e}"))?;
                return Ok(None);
            }
            Err(_) => return Ok(None),
        };
        if matches!(plan.users, Some(Mode::FullRefresh)) {
            self.writer.estimate(StreamId::Users, total)?;
        }
        if let (Some(Mode::FullRefresh), Some(Ok(page))) = (&plan.activity, first) {
            let users = page.items.users();
            if !users.is_empty() {
                let entries: usize = users.iter().map(|u| u.product_access.as_ref().map_or(0, Vec::len)).sum();
                let rows = (entries as f64 / users.len() as f64 * total as f64).round() as u64;
                self.writer.estimate(StreamId::UserActivity, rows)?;
            }
        }
        Ok(Some(total))
    }

    /// What the pass reads, for its progress lines.
    fn pass_name(&self) -> &'static str {
        if self.only_managed {
            "Managed accounts (the users search is refused)"
        } else {
            "Users search"
        }
    }

    /// Ends the pass: deletion records, then each stream's final STATE and COMPLETE.
    pub(super) fn finish_pass(&mut self, plan: PassPlan, pass_started: DateTime<Utc>) -> Result<(), ReadError> {
        let (org_id, now) = (self.client.org_id().to_string(), time::format(Utc::now()));
        if let Some(mode) = plan.users {
            let state = match mode {
                Mode::FullRefresh => json!({}),
                Mode::Frozen(saved) => saved,
                Mode::Incremental(mut tracker) => {
                    if self.only_managed {
                        tracker.keep_invisible(); // unmanaged users are invisible, not gone
                    }
                    let deleted = tracker.finish();
                    let what = "users are no longer in the directory";
                    self.emit_deletions(StreamId::Users, what, &deleted, |id| users::deletion(&org_id, id, &now))?;
                    tracker.final_state(pass_started)
                }
            };
            self.writer.complete(StreamId::Users, &state)?;
        }
        if let Some(mode) = plan.activity {
            let state = match mode {
                Mode::FullRefresh => json!({}),
                Mode::Frozen(saved) => saved,
                Mode::Incremental(mut tracker) => {
                    if self.only_managed {
                        tracker.keep_invisible(); // unmanaged users are invisible, not gone
                    }
                    let gone = tracker.finish();
                    let what = "(user, site) activity pairs are gone";
                    self.emit_deletions(StreamId::UserActivity, what, &gone, |(account, product)| {
                        user_activity::deletion(&org_id, account, product, &now)
                    })?;
                    tracker.final_state(pass_started)
                }
            };
            self.writer.complete(StreamId::UserActivity, &state)?;
        }
        Ok(())
    }

    /// One deletion record per key of `gone`, announced in an INFO line.
    pub(super) fn emit_deletions<'g, K, D: WriteJson>(
        &mut self,
        stream: StreamId,
        what: &str,
        gone: &'g [K],
        record: impl Fn(&'g K) -> D,
    ) -> Result<(), ReadError> {
        if gone.is_empty() {
            return Ok(());
        }
        self.writer.info(&format!("{} {what}: emitting deletion records", gone.len()))?;
        let emitted_at = now_ms();
        let mut unit = self.writer.unit(());
        for key in gone {
            unit.record(stream, &record(key), emitted_at)?;
        }
        unit.done();
        Ok(())
    }
}

/// The configured streams of the pass.
fn pass_streams(plan: &PassPlan) -> impl Iterator<Item = StreamId> {
    let users = plan.users.as_ref().map(|_| StreamId::Users);
    let activity = plan.activity.as_ref().map(|_| StreamId::UserActivity);
    users.into_iter().chain(activity)
}

/// The keys the pass's incremental states hold (what their size grows with).
fn pass_entries(plan: &PassPlan) -> usize {
    plan.users.as_ref().and_then(Mode::tracker).map_or(0, |t| t.key_count()) + plan.activity.as_ref().and_then(Mode::tracker).map_or(0, |t| t.key_count())
}

/// The checkpoint of each incremental stream of the pass at `position` (the page after the
/// one just written); none on the last page. Each state is built as it is written.
fn pass_checkpoint<'p>(plan: &'p mut PassPlan, position: Option<&'p PassPosition>) -> impl Iterator<Item = (StreamId, Value)> + 'p {
    let users = plan.users.as_mut().and_then(Mode::tracker_mut).filter(|_| position.is_some());
    let activity = plan.activity.as_mut().and_then(Mode::tracker_mut).filter(|_| position.is_some());
    let position = move || position.expect("checked");
    let users = users.into_iter().map(move |t| (StreamId::Users, t.checkpoint(position())));
    users.chain(activity.into_iter().map(move |t| (StreamId::UserActivity, t.checkpoint(position()))))
}

/// The `observed_at` of records emitted at `emitted_at` (ms), as RFC 3339 text.
pub(super) fn stamp(emitted_at: i64, fallback: DateTime<Utc>) -> String {
    time::format(DateTime::from_timestamp_millis(emitted_at).unwrap_or(fallback))
}
