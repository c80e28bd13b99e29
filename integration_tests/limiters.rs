//! Per-user reads through the real binary against rate limiters of other shapes than the
//! sandbox's first one: a window that opens at the first request after the previous one
//! ended, its reset reported to the microsecond, skewed per response by up to ±1 s, or
//! truncated to the minute. Counts and outcomes only: every user read, each 429 answered by
//! one repeat of its request and nothing else repeated. How few 429s the pacer leaves (under
//! 1 %) and its time against the limit's floor depend on the wall clock, so they are asserted
//! in simulated time by the pacer's own tests (`client::pacing::sim`) and measured by
//! `scripts/bench.py`.

use std::time::Duration;

use atlassian_sandbox::{Endpoint, RateLimit, ResetPrecision, Sandbox, SandboxOptions, WindowStart};
use serde_json::json;

use crate::harness::*;

fn per_user_read(limit: RateLimit) -> (Run, Sandbox) {
    let sb = Sandbox::start(SandboxOptions {
        users: 500,
        api_key: SANDBOX_KEY.into(),
        latency: Duration::from_millis(20),
        rate_limit: Some(limit),
        ..SandboxOptions::default()
    })
    .expect("start sandbox");
    let mut config = config_for(&sb);
    config["activity_source"] = json!("per_user");
    let run = read_ok(&config, &catalog_of(&["users", "user_activity"]), &json!([]));
    (run, sb)
}

#[test]
fn per_user_reads_complete_under_every_window_shape_each_429_repeated_once() {
    let first_request = |precision, skew_ms| {
        RateLimit::new(50, Duration::from_millis(500))
            .with_window_start(WindowStart::FirstRequest)
            .with_reset_precision(precision)
            .with_reset_skew(Duration::from_millis(skew_ms))
    };
    for (shape, limit) in [
        ("first request, µs", first_request(ResetPrecision::Micros, 0)),
        ("first request, µs, skewed ±1 s", first_request(ResetPrecision::Micros, 1000)),
        ("first request, minute", first_request(ResetPrecision::Minutes, 0)),
    ] {
        let (run, sb) = per_user_read(limit);
        assert_eq!(run.records("users").len(), 500, "{shape}");
        let answered = |e: Endpoint| sb.request_count(e) - sb.throttled_count_for(e);
        assert_eq!(answered(Endpoint::LastActiveDates), 500, "{shape}: one answered request per user, none repeated");
        assert_eq!(sb.total_requests() - sb.throttled_count(), 500 + 5 + 1 + 1, "{shape}: 5 users pages, the workspaces, the count");
    }
}
