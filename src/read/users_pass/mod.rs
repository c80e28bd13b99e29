//! The users pass, the one special pass: one walk over the users search serves `users` and
//! `user_activity`, on the driver's contract ([`super::driver`]).
//!
//! Each page is one unit of the writer: its users' records (and their activity records), then,
//! every few pages, a checkpoint of each incremental stream at the page after it. When the walk
//! ends, each stream emits a deletion record for each key it did not see, and writes its final
//! state. Opening the pass settles where activity comes from ([`opening`]).

mod opening;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::cadence::Cadence;
use super::driver::stamp;
use super::error::ReadError;
use super::plan::{Entry, Mode, PlanInput, Planned};
use super::records::to_write;
use super::Reader;
use crate::client::pagination::UserPageResult;
use opening::Opened;
pub use opening::{sees_every_user, UserPages};
use crate::client::ApiError;
use crate::incremental::activity::PairTracker;
use crate::incremental::by_id::ByIdTracker;
use crate::incremental::{PassPosition, Tracker};
use crate::json::WriteJson;
use crate::progress::ProgressBar;
use crate::protocol::{now_ms, FailureType};
use crate::streams::user_activity::{self, UserActivity};
use crate::streams::users::{self, Users};
use super::sites::WorkspaceIndex;
use crate::streams::{Stream, StreamId};
use crate::time;

/// Change detection for `users`: a fingerprint per account.
pub type UsersTracker = ByIdTracker<Users>;
/// Change detection for `user_activity`: a fingerprint per (account, product) pair.
pub type ActivityTracker = PairTracker;

/// `users` in the registry: read by the pass.
pub const USERS: Entry = Entry { id: Users::ID, plan: plan_users, probe: None };
/// `user_activity` in the registry: read by the pass.
pub const USER_ACTIVITY: Entry = Entry { id: UserActivity::ID, plan: plan_activity, probe: None };

fn plan_users(input: &mut PlanInput) -> Result<Option<Planned>, ReadError> {
    Ok(Mode::decide(Users::ID, input)?.map(|mode| Planned::Pass(Member::Users(mode))))
}

fn plan_activity(input: &mut PlanInput) -> Result<Option<Planned>, ReadError> {
    let mode = Mode::<ActivityTracker>::decide(UserActivity::ID, input)?;
    if mode.as_ref().and_then(Mode::tracker).is_some_and(|t| t.started_afresh()) {
        input.warnings.push("The user_activity state was written by an earlier build of this connector (a cursor on last_active): this sync re-reads every (user, site) pair and emits each once more; from the next sync on, only changes and deletions are emitted".into());
    }
    Ok(mode.map(|mode| Planned::Pass(Member::Activity(mode))))
}

/// The stream a users-search failure is reported against, among the configured ones.
pub fn reported_against(configured: &[StreamId]) -> StreamId {
    if configured.contains(&Users::ID) { Users::ID } else { UserActivity::ID }
}

/// A stream of the pass, with its mode.
#[derive(Debug)]
pub enum Member {
    Users(Mode<UsersTracker>),
    Activity(Mode<ActivityTracker>),
}

impl Member {
    pub fn stream(&self) -> StreamId {
        match self {
            Member::Users(_) => Users::ID,
            Member::Activity(_) => UserActivity::ID,
        }
    }

    pub fn is_read(&self) -> bool {
        match self {
            Member::Users(m) => m.is_read(),
            Member::Activity(m) => m.is_read(),
        }
    }
}

/// The streams served by one pass over the users search.
#[derive(Debug, Default)]
pub struct PassPlan {
    pub users: Option<Mode<UsersTracker>>,
    pub activity: Option<Mode<ActivityTracker>>,
}

impl PassPlan {
    pub fn new(members: impl IntoIterator<Item = Member>) -> Self {
        let mut plan = PassPlan::default();
        for member in members {
            match member {
                Member::Users(m) => plan.users = Some(m),
                Member::Activity(m) => plan.activity = Some(m),
            }
        }
        plan
    }

    /// The pass runs when a stream of it is configured and not frozen.
    pub fn runs(&self) -> bool {
        self.users.as_ref().is_some_and(Mode::is_read) || self.activity.as_ref().is_some_and(Mode::is_read)
    }

    /// Where the pass starts: the saved resume position, if every stream read in it is
    /// incremental and they agree on it (a full refresh stream needs every page).
    pub fn start(&self) -> Option<PassPosition> {
        let mut positions = Vec::new();
        let users = self.users.as_ref().map(|m| (m.is_read(), m.tracker().map(Tracker::resume)));
        let activity = self.activity.as_ref().map(|m| (m.is_read(), m.tracker().map(Tracker::resume)));
        for (read, position) in users.into_iter().chain(activity) {
            if read {
                positions.push(position?);
            }
        }
        let first = positions.first().cloned().flatten()?;
        positions.iter().all(|p| *p == Some(first.clone())).then_some(first)
    }
}

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

impl Reader<'_, '_> {
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
                    if let Some(record) = to_write(users::record(&org_id, u), mode, &*u.account_id, &observed_at, &mut scratch) {
                        unit.record(Users::ID, &record, emitted_at)?;
                    }
                }
                if let Some(mode) = plan.activity.as_mut().filter(|m| m.is_read()) {
                    for entry in user_activity::records(&org_id, u, sites, &mut counts.skipped) {
                        if start_date.is_some_and(|start| entry.last_active_at.is_some_and(|at| at < start)) {
                            continue; // older than start_date: never emitted, in any mode
                        }
                        let without_site = entry.record.workspace_id.is_none();
                        let key: (&str, &str) = (&u.account_id, entry.record.product_id);
                        if let Some(record) = to_write(entry.record, mode, key, &observed_at, &mut scratch) {
                            counts.without_site += u64::from(without_site);
                            unit.record(UserActivity::ID, &record, emitted_at)?;
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
            self.writer.estimate(Users::ID, total)?;
        }
        if let (Some(Mode::FullRefresh), Some(Ok(page))) = (&plan.activity, first) {
            let users = page.items.users();
            if !users.is_empty() {
                let entries: usize = users.iter().map(|u| u.product_access.as_ref().map_or(0, Vec::len)).sum();
                let rows = (entries as f64 / users.len() as f64 * total as f64).round() as u64;
                self.writer.estimate(UserActivity::ID, rows)?;
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

    /// Ends the pass: each stream's deletion records, then its final STATE and COMPLETE.
    pub(super) fn finish_pass(&mut self, plan: PassPlan, pass_started: DateTime<Utc>) -> Result<(), ReadError> {
        let org_id = self.client.org_id().to_string();
        if let Some(mode) = plan.users {
            self.finish_member(Users::ID, mode, pass_started, "users are no longer in the directory", |id, now, out| {
                users::deletion(&org_id, id, now).write_json(out)
            })?;
        }
        if let Some(mode) = plan.activity {
            self.finish_member(UserActivity::ID, mode, pass_started, "(user, site) activity pairs are gone", |(account, product), now, out| {
                user_activity::deletion(&org_id, account, product, now).write_json(out)
            })?;
        }
        Ok(())
    }

    /// Closes one stream of the pass. With only the managed accounts visible, unmanaged users
    /// are invisible, not gone.
    fn finish_member<T: Tracker<Position = PassPosition> + KeepInvisible>(
        &mut self,
        stream: StreamId,
        mode: Mode<T>,
        pass_started: DateTime<Utc>,
        what: &str,
        deletion: impl Fn(&T::Gone, &str, &mut Vec<u8>),
    ) -> Result<(), ReadError> {
        let Some(mut run) = self.open(stream, mode, 1)? else { return Ok(()) };
        run.started = pass_started;
        if let Some(t) = run.tracker.as_mut().filter(|_| self.only_managed) {
            t.keep_invisible();
        }
        self.close(run, |n| format!("{n} {what}: emitting deletion records"), deletion)
    }
}

/// A pass's tracker that can keep what a partial pass (the managed accounts alone) did not see.
trait KeepInvisible {
    fn keep_invisible(&mut self);
}

impl<S: crate::incremental::changes::Fingerprints> KeepInvisible for crate::incremental::changes::ChangeTracker<S> {
    fn keep_invisible(&mut self) {
        crate::incremental::changes::ChangeTracker::keep_invisible(self);
    }
}

/// The configured streams of the pass.
fn pass_streams(plan: &PassPlan) -> impl Iterator<Item = StreamId> {
    let users = plan.users.as_ref().map(|_| Users::ID);
    let activity = plan.activity.as_ref().map(|_| UserActivity::ID);
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
    let users = users.into_iter().map(move |t| (Users::ID, t.checkpoint(position())));
    users.chain(activity.into_iter().map(move |t| (UserActivity::ID, t.checkpoint(position()))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::ConfiguredCatalog;
    use crate::read::plan::Plan;
    use crate::state::StateInput;

    fn pass_of(modes: &[(&str, &str)], saved: &[(&str, Value)]) -> PassPlan {
        let streams: Vec<Value> = modes.iter().map(|(name, mode)| json!({"stream": {"name": name}, "sync_mode": mode})).collect();
        let catalog = ConfiguredCatalog::from_json(&json!({"streams": streams}).to_string()).unwrap();
        let state = StateInput { streams: saved.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() };
        let plan = Plan::decide(&catalog, &state, Utc::now()).unwrap();
        PassPlan::new(plan.planned.into_iter().filter_map(|p| match p {
            Planned::Pass(m) => Some(m),
            _ => None,
        }))
    }

    #[test]
    fn the_pass_resumes_only_where_every_stream_read_agrees() {
        let pass = json!({"next_page": "c5", "started_at": "2026-11-28T00:00:00Z"});
        let users = json!({"version": 1, "accounts": crate::incremental::packed::encode_accounts(&[]), "pass": pass});
        let activity = json!({"version": 2, "pairs": crate::incremental::packed::encode_pairs(&[], &[]), "pass": pass.clone()});
        let both = [("users", "incremental"), ("user_activity", "incremental")];
        let plan = pass_of(&both, &[("users", users.clone()), ("user_activity", activity)]);
        assert_eq!(plan.start().map(|p| p.next_page), Some("c5".into()));
        assert_eq!(pass_of(&both, &[("users", users.clone())]).start(), None, "activity starts a new pass: the positions disagree");
        let mixed = [("users", "incremental"), ("user_activity", "full_refresh")];
        assert_eq!(pass_of(&mixed, &[("users", users)]).start(), None, "a full refresh stream needs every page");
    }
}
