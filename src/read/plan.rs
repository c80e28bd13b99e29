//! The plan of a read, decided once from the configured catalog, the saved state and the
//! config, before any request: for each stream, whether it is read, and how — in full, or
//! incrementally with its tracker loaded from the saved state, or not at all because its
//! saved cursor lies in the future (it emits nothing and keeps its state).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::ReadError;
use crate::catalog::{ConfiguredCatalog, SyncMode};
use super::paged::PagedPlan;
use crate::incremental::{ActivityTracker, EventsTracker, LicenseTracker, PassPosition, Tracker, UsersTracker};
use crate::state::StateInput;
use crate::streams::StreamId;

/// How one stream is read.
#[derive(Debug)]
pub enum Mode<T> {
    FullRefresh,
    Incremental(T),
    /// The saved cursor lies in the future: nothing is emitted and this state is kept.
    Frozen(Value),
}

impl<T: Tracker> Mode<T> {
    /// Loads the stream's tracker from its saved state, unless the stream is read in full or
    /// not configured (`None`); a tracker whose cursor lies after `now` freezes the stream.
    pub(super) fn decide(catalog: &ConfiguredCatalog, state: &StateInput, now: DateTime<Utc>) -> Result<Option<Self>, ReadError> {
        let stream = T::STREAM;
        let Some(configured) = catalog.get(stream.name()) else { return Ok(None) };
        if configured.sync_mode == SyncMode::FullRefresh {
            return Ok(Some(Mode::FullRefresh));
        }
        let saved = state.streams.get(stream.name());
        let tracker = T::from_state(saved).map_err(|e| ReadError::state(stream, e))?;
        Ok(Some(match (tracker.cursor(), saved) {
            (Some(c), Some(saved)) if c > now => Mode::Frozen(saved.clone()),
            _ => Mode::Incremental(tracker),
        }))
    }
}

impl<T> Mode<T> {
    /// True unless the stream is frozen: it is read.
    pub fn is_read(&self) -> bool {
        !matches!(self, Mode::Frozen(_))
    }

    pub fn tracker(&self) -> Option<&T> {
        match self {
            Mode::Incremental(t) => Some(t),
            _ => None,
        }
    }

    pub fn tracker_mut(&mut self) -> Option<&mut T> {
        match self {
            Mode::Incremental(t) => Some(t),
            _ => None,
        }
    }
}

/// The streams served by one pass over the users search.
#[derive(Debug)]
pub struct PassPlan {
    pub users: Option<Mode<UsersTracker>>,
    pub activity: Option<Mode<ActivityTracker>>,
}

impl PassPlan {
    /// The pass runs when a stream of it is configured and not frozen.
    pub fn runs(&self) -> bool {
        self.users.as_ref().is_some_and(Mode::is_read) || self.activity.as_ref().is_some_and(Mode::is_read)
    }

    /// Where the pass starts: the saved resume position, if every stream read in it is
    /// incremental and they agree on it (a full refresh stream needs every page).
    pub fn start(&self) -> Option<PassPosition> {
        let mut positions = Vec::new();
        let users = self.users.as_ref().map(|m| (m.is_read(), m.tracker().map(UsersTracker::resume_position)));
        let activity = self.activity.as_ref().map(|m| (m.is_read(), m.tracker().map(ActivityTracker::resume_position)));
        for (read, position) in users.into_iter().chain(activity) {
            if read {
                positions.push(position?);
            }
        }
        let first = positions.first().copied().flatten()?;
        positions.iter().all(|p| *p == Some(first)).then(|| first.clone())
    }
}

/// What the read does, stream by stream.
#[derive(Debug)]
pub struct Plan {
    /// The configured streams, in catalog order.
    pub streams: Vec<StreamId>,
    pub pass: PassPlan,
    pub workspaces: bool,
    pub licenses: Option<Mode<LicenseTracker>>,
    /// The streams read by the paged-stream driver, after the others.
    pub paged: Vec<PagedPlan>,
    /// The audit log, read last.
    pub events: Option<Mode<EventsTracker>>,
    /// Adjustments made to the configured catalog, logged when the read starts.
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn decide(catalog: &ConfiguredCatalog, state: &StateInput, now: DateTime<Utc>) -> Result<Plan, ReadError> {
        let users = Mode::<UsersTracker>::decide(catalog, state, now)?;
        let activity = Mode::<ActivityTracker>::decide(catalog, state, now)?;
        let mut warnings = catalog.warnings.clone();
        if activity.as_ref().and_then(Mode::tracker).is_some_and(ActivityTracker::started_afresh) {
            warnings.push("The user_activity state was written by an earlier build of this connector (a cursor on last_active): this sync re-reads every (user, site) pair and emits each once more; from the next sync on, only changes and deletions are emitted".into());
        }
        let licenses = Mode::<LicenseTracker>::decide(catalog, state, now)?;
        Ok(Plan {
            streams: catalog.streams.iter().map(|s| s.info.id).collect(),
            pass: PassPlan { users, activity },
            workspaces: catalog.get(StreamId::Workspaces.name()).is_some(),
            licenses,
            paged: PagedPlan::decide(catalog, state, now)?,
            events: Mode::decide(catalog, state, now)?,
            warnings,
        })
    }

    /// The workspaces list is read when its stream is configured, or to join activity and
    /// groups' role assignments to sites, or to know the sites whose seats are read.
    pub fn reads_workspaces(&self) -> bool {
        self.workspaces
            || self.pass.activity.as_ref().is_some_and(Mode::is_read)
            || self.licenses.as_ref().is_some_and(Mode::is_read)
            || self.paged.iter().any(PagedPlan::is_read)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn catalog(modes: &[(&str, &str)]) -> ConfiguredCatalog {
        let streams: Vec<Value> = modes.iter().map(|(name, mode)| json!({"stream": {"name": name}, "sync_mode": mode})).collect();
        ConfiguredCatalog::from_json(&json!({"streams": streams}).to_string()).unwrap()
    }

    fn state(pairs: &[(&str, Value)]) -> StateInput {
        StateInput { streams: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    fn no_accounts() -> String {
        crate::incremental::packed::encode_accounts(&[])
    }

    #[test]
    fn a_cursor_in_the_future_freezes_only_its_stream() {
        let now = Utc::now();
        let future_users = json!({"version": 1, "cursor": "2099-01-01T00:00:00Z", "accounts": no_accounts()});
        let cat = catalog(&[("users", "incremental"), ("user_activity", "incremental"), ("workspaces", "full_refresh")]);
        let plan = Plan::decide(&cat, &state(&[("users", future_users.clone())]), now).unwrap();
        assert!(matches!(&plan.pass.users, Some(Mode::Frozen(v)) if *v == future_users));
        assert!(matches!(plan.pass.activity, Some(Mode::Incremental(_))));
        assert!(plan.pass.runs() && plan.reads_workspaces());
        assert_eq!(plan.streams, [StreamId::Users, StreamId::UserActivity, StreamId::Workspaces]);

        let future_activity = json!({"version": 2, "cursor": "2099-01-01T00:00:00Z", "pairs": crate::incremental::packed::encode_pairs(&[], &[])});
        let cat = catalog(&[("users", "incremental"), ("user_activity", "incremental")]);
        let plan = Plan::decide(&cat, &state(&[("users", future_users), ("user_activity", future_activity)]), now).unwrap();
        assert!(!plan.pass.runs(), "every stream of the pass is frozen");
        assert!(!plan.reads_workspaces(), "no join, no seats: no workspaces");
    }

    #[test]
    fn the_pass_resumes_only_where_every_stream_read_agrees() {
        let now = Utc::now();
        let pass = json!({"next_page": "c5", "started_at": "2026-11-28T00:00:00Z"});
        let users = json!({"version": 1, "accounts": no_accounts(), "pass": pass});
        let activity = json!({"version": 2, "pairs": crate::incremental::packed::encode_pairs(&[], &[]), "pass": pass.clone()});
        let both = catalog(&[("users", "incremental"), ("user_activity", "incremental")]);
        let plan = Plan::decide(&both, &state(&[("users", users.clone()), ("user_activity", activity)]), now).unwrap();
        assert_eq!(plan.pass.start().map(|p| p.next_page), Some("c5".into()));
        let plan = Plan::decide(&both, &state(&[("users", users.clone())]), now).unwrap();
        assert_eq!(plan.pass.start(), None, "activity starts a new pass: the positions disagree");
        let mixed = catalog(&[("users", "incremental"), ("user_activity", "full_refresh")]);
        let plan = Plan::decide(&mixed, &state(&[("users", users)]), now).unwrap();
        assert_eq!(plan.pass.start(), None, "a full refresh stream needs every page");
    }

    #[test]
    fn an_unusable_state_names_its_stream() {
        let cat = catalog(&[("license_assignments", "incremental")]);
        let err = Plan::decide(&cat, &state(&[("license_assignments", json!({"version": 9}))]), Utc::now()).unwrap_err();
        assert_eq!(err.stream, Some(StreamId::LicenseAssignments));
        assert!(err.source.to_string().contains("license_assignments state has version 9"), "{}", err.source);
    }
}
