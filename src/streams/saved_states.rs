//! (Tests.) States written by the release before the stream seam (65da106) load unchanged:
//! each plans a read, and each stream's tracker writes it back byte for byte (the final state
//! as the state after its pass, a mid-pass one as the checkpoint where it stands).

use chrono::Utc;
use serde_json::Value;

use crate::catalog::ConfiguredCatalog;
use crate::incremental::{LogCursorTracker, PartitionTracker, Tracker};
use crate::read::plan::Plan;
use crate::read::users_pass::{ActivityTracker, UsersTracker};
use crate::state::StateInput;
use crate::streams::groups::Groups;

const SAVED: &str = include_str!("../../integration_tests/fixtures/saved-states-65da106.json");

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
fn every_incremental_stream_of_the_old_release_loads_its_saved_state_and_writes_it_back_unchanged() {
    let states = saved();
    let streams: Vec<&str> = states.iter().map(|(s, _, _)| s.as_str()).collect();
    for s in ["users", "user_activity", "license_assignments", "groups", "audit_events"] {
        assert!(streams.contains(&s), "no saved state of {s}, an incremental stream of that release");
    }
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
