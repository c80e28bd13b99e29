//! The plan of a read, decided once from the configured catalog, the saved state and the
//! config, before any request: the registry's streams ([`crate::streams::ALL`]) that are
//! configured, each with how it is read — in full, or incrementally with its tracker loaded
//! from the saved state, or not at all because its last pass began in the future (it emits
//! nothing and keeps its state) — and as which kind of read ([`Planned`]).

use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use super::driver::Driven;
use super::error::ReadError;
use super::sites::SitesPlan;
use super::users_pass::Member;
use crate::catalog::{ConfiguredCatalog, SyncMode};
use crate::client::{ApiError, AtlassianClient};
use crate::incremental::Tracker;
use crate::state::StateInput;
use crate::streams::{self, StreamId};

/// How one stream is read.
#[derive(Debug)]
pub enum Mode<T> {
    FullRefresh,
    Incremental(T),
    /// The last pass began in the future (this machine's clock was set back): nothing is
    /// emitted and this state is kept.
    Frozen(Value),
}

impl<T: Tracker> Mode<T> {
    /// Loads the stream's tracker from its saved state, unless the stream is read in full or
    /// not configured (`None`); a tracker whose last pass began after now freezes the stream.
    pub fn decide(stream: StreamId, input: &PlanInput) -> Result<Option<Self>, ReadError> {
        let Some(configured) = input.catalog.get(stream.name()) else { return Ok(None) };
        if configured.sync_mode == SyncMode::FullRefresh {
            return Ok(Some(Mode::FullRefresh));
        }
        let saved = input.state.streams.get(stream.name());
        let tracker = T::from_state(saved, stream.name()).map_err(|e| ReadError::state(stream, e))?;
        Ok(Some(match (tracker.pass_started(), saved) {
            (Some(began), Some(saved)) if began > input.now => Mode::Frozen(saved.clone()),
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

/// What a stream's plan is decided from.
pub struct PlanInput<'a> {
    pub catalog: &'a ConfiguredCatalog,
    pub state: &'a StateInput,
    pub now: DateTime<Utc>,
    /// Adjustments the plan makes, logged when the read starts.
    pub warnings: Vec<String>,
}

/// `check`'s one request proving an optional stream readable: `Ok(Some(doubt))` when it was
/// answered in a way that leaves doubt.
pub type Probe = for<'c> fn(&'c AtlassianClient) -> LocalBoxFuture<'c, Result<Option<String>, ApiError>>;

/// One stream of the registry: its declaration, and how a read plans it.
pub struct Entry {
    pub id: StreamId,
    /// Its plan, or `None` when the catalog does not configure it.
    pub plan: fn(&mut PlanInput) -> Result<Option<Planned>, ReadError>,
    /// For an optional stream, `check`'s probe.
    pub probe: Option<Probe>,
}

/// A configured stream, as the kind of read it is.
pub enum Planned {
    /// The sites: read first, when configured or needed by another planned stream.
    Sites(SitesPlan),
    /// A stream of the users pass, one walk over the users search for all of them.
    Pass(Member),
    /// A stream read on its own by the driver, after the sites and the pass.
    Alone(Box<dyn Driven>),
}

impl Planned {
    fn stream(&self) -> StreamId {
        match self {
            Planned::Sites(s) => s.stream,
            Planned::Pass(m) => m.stream(),
            Planned::Alone(d) => d.stream(),
        }
    }

    fn is_read(&self) -> bool {
        match self {
            Planned::Sites(_) => true,
            Planned::Pass(m) => m.is_read(),
            Planned::Alone(d) => d.is_read(),
        }
    }
}

/// What the read does, stream by stream.
pub struct Plan {
    /// The configured streams, in catalog order.
    pub streams: Vec<StreamId>,
    /// The configured streams in the registry's order, as they are read.
    pub planned: Vec<Planned>,
    /// Adjustments made to the configured catalog or the plan, logged when the read starts.
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn decide(catalog: &ConfiguredCatalog, state: &StateInput, now: DateTime<Utc>) -> Result<Plan, ReadError> {
        let mut input = PlanInput { catalog, state, now, warnings: catalog.warnings.clone() };
        let mut planned = Vec::new();
        for entry in streams::ALL {
            if let Some(p) = (entry.plan)(&mut input)? {
                planned.push(p);
            }
        }
        Ok(Plan { streams: catalog.streams.iter().map(|s| s.id).collect(), planned, warnings: input.warnings })
    }

    /// The sites are read when their stream is configured, or a stream read joins to them.
    pub fn reads_sites(&self) -> bool {
        self.planned.iter().any(|p| matches!(p, Planned::Sites(s) if s.emit) || (p.is_read() && p.stream().info().needs_sites))
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

    /// The configured streams planned, and whether each is read.
    fn names(plan: &Plan) -> Vec<(&'static str, bool)> {
        plan.planned.iter().filter(|p| plan.streams.contains(&p.stream())).map(|p| (p.stream().name(), p.is_read())).collect()
    }

    #[test]
    fn a_pass_begun_in_the_future_freezes_only_its_stream() {
        let now = Utc::now();
        let future_users = json!({"version": 1, "cursor": "2099-01-01T00:00:00Z", "accounts": no_accounts()});
        let cat = catalog(&[("users", "incremental"), ("user_activity", "incremental"), ("workspaces", "full_refresh")]);
        let plan = Plan::decide(&cat, &state(&[("users", future_users.clone())]), now).unwrap();
        assert_eq!(names(&plan), [("users", false), ("user_activity", true), ("workspaces", true)]);
        assert!(plan.reads_sites());
        assert_eq!(plan.streams.iter().map(|s| s.name()).collect::<Vec<_>>(), ["users", "user_activity", "workspaces"]);

        let future_activity = json!({"version": 2, "cursor": "2099-01-01T00:00:00Z", "pairs": crate::incremental::packed::encode_pairs(&[], &[])});
        let cat = catalog(&[("users", "incremental"), ("user_activity", "incremental")]);
        let plan = Plan::decide(&cat, &state(&[("users", future_users), ("user_activity", future_activity)]), now).unwrap();
        assert_eq!(names(&plan), [("users", false), ("user_activity", false)], "every stream of the pass is frozen");
        assert!(!plan.reads_sites(), "no join, no seats: no workspaces");
    }

    /// The audit log's times are the API's: a newest event processed after this machine's
    /// now (the API's clock ahead) reads the log as usual.
    #[test]
    fn no_clock_freezes_a_log_read_by_the_api_cursor() {
        let ahead = json!({"version": 1, "cursor": "c9", "newest_processed_at": "2099-01-01T00:00:00Z", "overlap_ids": ["e1"]});
        let plan = Plan::decide(&catalog(&[("audit_events", "incremental")]), &state(&[("audit_events", ahead)]), Utc::now()).unwrap();
        assert_eq!(names(&plan), [("audit_events", true)]);
    }

    #[test]
    fn an_unusable_state_names_its_stream() {
        let cat = catalog(&[("license_assignments", "incremental")]);
        let err = Plan::decide(&cat, &state(&[("license_assignments", json!({"version": 9}))]), Utc::now()).err().expect("an error");
        assert_eq!(err.stream.map(StreamId::name), Some("license_assignments"));
        assert!(err.source.to_string().contains("license_assignments state has version 9"), "{}", err.source);
    }
}

/// States written by the release before the stream seam (65da106) load unchanged: each plans
/// a read, and each tracker writes it back byte for byte (the final state as the state after
/// its pass, a mid-pass one as the checkpoint where it stands).
#[cfg(test)]
mod saved_states {
    use serde_json::Value;

    use super::*;
    use crate::incremental::{LogCursorTracker, PartitionTracker};
    use crate::read::users_pass::{ActivityTracker, UsersTracker};
    use crate::streams::groups::Groups;

    const SAVED: &str = include_str!("../../integration_tests/fixtures/saved-states-65da106.json");
    /// The incremental streams of 65da106, whose states the file holds.
    const STREAMS_AT_65DA106: [&str; 5] = ["users", "user_activity", "license_assignments", "groups", "audit_events"];

    fn saved() -> Vec<(String, String, Value)> {
        let all: Value = serde_json::from_str(SAVED).unwrap();
        let mut out = Vec::new();
        for (stream, states) in all["states"].as_object().unwrap() {
            for (which, state) in states.as_object().unwrap() {
                out.push((stream.clone(), which.clone(), state.clone()));
            }
        }
        out
    }

    /// The tracker of `T` loads `state` and writes it again as it was.
    fn rewrites<T: Tracker>(stream: &str, which: &str, state: &Value) -> Value {
        let mut t = T::from_state(Some(state), stream).unwrap_or_else(|e| panic!("{stream} {which}: {e}"));
        match (which, t.resume()) {
            ("mid_pass", Some(at)) => t.checkpoint(&at),
            ("mid_pass", None) => panic!("{stream}: a mid-pass state that does not say where the pass stands"),
            _ => {
                let started = state["cursor"].as_str().and_then(crate::time::parse_lenient).unwrap_or_default();
                t.final_state(started)
            }
        }
    }

    #[test]
    fn every_incremental_stream_loads_its_saved_state_and_writes_it_back_unchanged() {
        let states = saved();
        let streams: Vec<&str> = states.iter().map(|(s, _, _)| s.as_str()).collect();
        // Every incremental stream 65da106 had; a stream added since has no state written by it.
        for s in streams::ALL.iter().map(|e| e.id.info()).filter(|s| s.supports_incremental() && STREAMS_AT_65DA106.contains(&s.name)) {
            assert!(streams.contains(&s.name), "no saved state of {}", s.name);
        }
        assert_eq!(STREAMS_AT_65DA106.iter().filter(|s| streams.contains(s)).count(), STREAMS_AT_65DA106.len());
        for (stream, which, state) in &states {
            let catalog = ConfiguredCatalog::from_json(&serde_json::json!({"streams": [{"stream": {"name": stream}, "sync_mode": "incremental"}]}).to_string()).unwrap();
            let input = StateInput { streams: [(stream.clone(), state.clone())].into() };
            let plan = Plan::decide(&catalog, &input, Utc::now()).unwrap_or_else(|e| panic!("{stream} {which}: {}", e.source));
            assert!(plan.planned.iter().any(|p| p.stream().name() == stream && p.is_read()), "{stream} {which}");
            let again = match stream.as_str() {
                "users" => rewrites::<UsersTracker>(stream, which, state),
                "user_activity" => rewrites::<ActivityTracker>(stream, which, state),
                "license_assignments" => rewrites::<PartitionTracker>(stream, which, state),
                "groups" => rewrites::<crate::incremental::by_id::ByIdTracker<Groups>>(stream, which, state),
                // Every state of a log is where its cursor stands: written the same mid-pass and at the end.
                "audit_events" => rewrites::<LogCursorTracker>(stream, "final", state),
                other => panic!("a saved state of {other}, which has no tracker here"),
            };
            assert_eq!(serde_json::to_string(&again).unwrap(), serde_json::to_string(state).unwrap(), "{stream} {which}");
        }
    }
}
