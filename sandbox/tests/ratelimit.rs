//! Rate limiters of every shape: windows that open when set, at the first request, or on
//! the clock; resets to the microsecond or the minute; resets skewed per response. The
//! limiter is driven with synthetic times (exact assertions), then over HTTP, where the
//! headers are checked against the window the sandbox reports, never against durations.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use atlassian_sandbox::*;
use chrono::{DateTime, Utc};
use common::*;
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ms(n: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(n)
}

fn reset_header(d: &Decision) -> String {
    d.headers().into_iter().find(|(k, _)| *k == "X-RateLimit-Reset").unwrap().1
}

#[test]
fn a_first_request_window_opens_at_the_first_request_after_the_previous_one_ended() {
    let rl = RateLimit::new(2, Duration::from_secs(1))
        .with_window_start(WindowStart::FirstRequest)
        .with_reset_precision(ResetPrecision::Micros)
        .with_retry_after();
    let t0 = at("2026-03-01T12:00:00Z");
    let mut l = RateLimiter::new(Some(rl), t0);
    assert_eq!(l.window(), None, "nothing runs before the first request");
    let d = l.take(t0 + ms(250)).unwrap();
    assert!(d.allowed);
    assert_eq!((d.remaining, reset_header(&d)), (1, "2026-03-01T12:00:01.250000Z".to_string()));
    assert_eq!(l.window().unwrap().start, t0 + ms(250));
    assert_eq!(l.take(t0 + ms(900)).unwrap().remaining, 0);
    let refused = l.take(t0 + ms(1249)).unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Some(Duration::from_millis(1)));
    assert_eq!(reset_header(&refused), "2026-03-01T12:00:01.250000Z");
    // The next window opens at the first request after the end, not at the end.
    let d = l.take(t0 + ms(1250)).unwrap();
    assert!(d.allowed);
    assert_eq!((d.remaining, reset_header(&d)), (1, "2026-03-01T12:00:02.250000Z".to_string()));
    let late = at("2026-03-01T12:00:07.123456Z");
    let d = l.take(late).unwrap();
    assert_eq!((d.remaining, reset_header(&d)), (1, "2026-03-01T12:00:08.123456Z".to_string()));
    assert_eq!(l.window().unwrap().used, 1);
}

#[test]
fn the_three_window_starts_differ_on_the_same_requests() {
    let set = at("2026-03-01T11:59:59.700Z");
    let first = at("2026-03-01T12:00:00.250Z");
    let reset_of = |start: WindowStart| {
        let rl = RateLimit::new(5, Duration::from_secs(1)).with_window_start(start);
        let mut l = RateLimiter::new(Some(rl), set);
        l.take(first).unwrap().reset
    };
    assert_eq!(reset_of(WindowStart::OnSet), at("2026-03-01T12:00:00.700Z"));
    assert_eq!(reset_of(WindowStart::FirstRequest), at("2026-03-01T12:00:01.250Z"));
    assert_eq!(reset_of(WindowStart::Aligned), at("2026-03-01T12:00:01Z"));
    // Aligned windows follow the clock: 100 ms apart across a minute boundary is two windows.
    let rl = RateLimit::new(1, Duration::from_secs(60)).with_window_start(WindowStart::Aligned);
    let mut l = RateLimiter::new(Some(rl), set);
    assert!(l.take(at("2026-03-01T12:00:59.950Z")).unwrap().allowed);
    assert!(!l.take(at("2026-03-01T12:00:59.990Z")).unwrap().allowed);
    let d = l.take(at("2026-03-01T12:01:00.050Z")).unwrap();
    assert!(d.allowed);
    assert_eq!(d.reset, at("2026-03-01T12:02:00Z"));
}

#[test]
fn minute_precision_composes_with_unaligned_windows() {
    let rl = RateLimit::new(10, Duration::from_secs(1))
        .with_window_start(WindowStart::FirstRequest)
        .with_reset_precision(ResetPrecision::Minutes);
    let mut l = RateLimiter::new(Some(rl), at("2026-03-01T12:00:00Z"));
    // A window opened at 12:34:59.5 ends at 12:35:00.5: written 12:35Z.
    let d = l.take(at("2026-03-01T12:34:59.500Z")).unwrap();
    assert_eq!((d.reset, reset_header(&d)), (at("2026-03-01T12:35:00.500Z"), "2026-03-01T12:35Z".to_string()));
    // One opened at 12:35:10 ends at 12:35:11: still written 12:35Z, a time already past.
    let d = l.take(at("2026-03-01T12:35:10Z")).unwrap();
    assert_eq!(reset_header(&d), "2026-03-01T12:35Z");
    assert!(at("2026-03-01T12:35:00Z") < at("2026-03-01T12:35:10Z"));
    let rl = RateLimit::new(10, Duration::from_secs(60))
        .with_window_start(WindowStart::FirstRequest)
        .with_reset_precision(ResetPrecision::Minutes);
    let mut l = RateLimiter::new(Some(rl), at("2026-03-01T12:00:00Z"));
    assert_eq!(reset_header(&l.take(at("2026-03-01T12:34:30Z")).unwrap()), "2026-03-01T12:35Z");
}

#[test]
fn reset_skew_varies_per_response_within_bounds_and_is_seeded() {
    let rl = RateLimit::new(1000, Duration::from_secs(3600))
        .with_reset_precision(ResetPrecision::Micros)
        .with_reset_skew(Duration::from_secs(1));
    let now = at("2026-03-01T12:00:00Z");
    let mut l = RateLimiter::new(Some(rl.clone()), now);
    let skews: Vec<i64> = (0..200)
        .map(|n| {
            let d = l.take(now + ms(n)).unwrap();
            assert_eq!(d.reset, now + chrono::Duration::hours(1), "one true window");
            assert_eq!(d.reported_reset - d.reset, rl.skew(n as u64));
            assert_eq!(reset_header(&d), ResetPrecision::Micros.format(d.reported_reset));
            assert_eq!(d.remaining, 999 - n as u64);
            (d.reported_reset - d.reset).num_microseconds().unwrap()
        })
        .collect();
    assert!(skews.iter().all(|s| s.abs() <= 1_000_000), "within ±1 s");
    assert!(*skews.iter().min().unwrap() < -500_000 && *skews.iter().max().unwrap() > 500_000, "spread over the range");
    assert!(skews.iter().collect::<HashSet<_>>().len() > 190, "a different reset almost every response");
    let again: Vec<_> = (0..200).map(|n| rl.skew(n)).collect();
    assert_eq!(again.iter().map(|d| d.num_microseconds().unwrap()).collect::<Vec<_>>(), skews);
    let other = RateLimit { skew_seed: 9, ..rl.clone() };
    assert_ne!((0..20).map(|n| other.skew(n)).collect::<Vec<_>>(), (0..20).map(|n| rl.skew(n)).collect::<Vec<_>>());
    assert_eq!(RateLimit::new(1, Duration::from_secs(1)).skew(5), chrono::Duration::zero());
    // A refused request's Retry-After runs to its own reported reset, never below zero.
    let rl = RateLimit::new(1, Duration::from_secs(1)).with_reset_skew(Duration::from_secs(5)).with_retry_after();
    let mut l = RateLimiter::new(Some(rl), now);
    l.take(now);
    for n in 1..50 {
        let d = l.take(now + ms(n)).unwrap();
        let want = (d.reported_reset - (now + ms(n))).to_std().unwrap_or(Duration::ZERO);
        assert_eq!(d.retry_after, Some(want));
    }
}

fn header_time(r: &Resp) -> String {
    r.header("X-RateLimit-Reset").unwrap().to_string()
}

#[test]
fn over_http_the_headers_report_the_window_the_sandbox_counts() {
    let sb = Sandbox::start(SandboxOptions { users: 20, ..Default::default() }).unwrap();
    let api = Api::new(&sb);
    let org = format!("/admin/v1/orgs/{}", api.org);
    let rl = RateLimit::new(3, Duration::from_secs(3600))
        .with_window_start(WindowStart::FirstRequest)
        .with_reset_precision(ResetPrecision::Micros);
    sb.set_rate_limit(Some(rl));
    assert_eq!(sb.rate_limit_window(), None);
    let before = Utc::now();
    let r = api.get(&org);
    let after = Utc::now();
    let w = sb.rate_limit_window().unwrap();
    assert!(before <= w.start && w.start <= after, "the window opened with the request");
    assert_eq!(header_time(&r), ResetPrecision::Micros.format(w.reset));
    assert_eq!(w.reset - w.start, chrono::Duration::hours(1));
    assert_eq!(api.workspaces(&json!({})).header("X-RateLimit-Remaining"), Some("1"));
    assert_eq!(api.get(&format!("{org}/users")).header("X-RateLimit-Remaining"), Some("0"));
    let refused = [api.workspaces(&json!({})), api.search(&json!({})), api.search(&json!({}))];
    assert!(refused.iter().all(|r| r.status == 429 && header_time(r) == ResetPrecision::Micros.format(w.reset)));
    assert_eq!(sb.throttled_count(), 3);
    assert_eq!(sb.throttled_count_for(Endpoint::UsersSearch), 2);
    assert_eq!(sb.throttled_count_for(Endpoint::Workspaces), 1);
    assert_eq!(sb.throttled_count_for(Endpoint::Org), 0);
    let stats = sb.stats_json();
    assert_eq!(stats["throttled_by_endpoint"]["users_search"], 2);
    assert_eq!(stats["throttled_by_endpoint"]["workspaces"], 1);
    assert_eq!(sb.rate_limit_window().unwrap().used, 6);

    // Skewed resets over HTTP: each response's header is the window's reset plus its own skew.
    let rl = RateLimit::new(1000, Duration::from_secs(3600))
        .with_reset_precision(ResetPrecision::Micros)
        .with_reset_skew(Duration::from_secs(1));
    sb.set_rate_limit(Some(rl.clone()));
    let w = sb.rate_limit_window().unwrap();
    let headers: Vec<String> = (0..30).map(|_| header_time(&api.get(&org))).collect();
    for (n, h) in headers.iter().enumerate() {
        assert_eq!(*h, ResetPrecision::Micros.format(w.reset + rl.skew(n as u64)), "response {n}");
    }
    assert!(headers.iter().collect::<HashSet<_>>().len() > 25);

    // Minute precision on an unaligned window.
    sb.set_rate_limit(Some(RateLimit::new(5, Duration::from_secs(90)).with_window_start(WindowStart::FirstRequest).with_reset_precision(ResetPrecision::Minutes)));
    let h = header_time(&api.get(&org));
    assert_eq!(h, ResetPrecision::Minutes.format(sb.rate_limit_window().unwrap().reset));
    // Aligned windows start on a multiple of their length.
    sb.set_rate_limit(Some(RateLimit::new(5, Duration::from_secs(3600)).with_window_start(WindowStart::Aligned)));
    api.get(&org);
    let w = sb.rate_limit_window().unwrap();
    assert_eq!((w.start.timestamp() % 3600, w.start.timestamp_subsec_nanos()), (0, 0));
}

#[test]
fn the_command_line_spells_every_shape() {
    let (mut child, info) = spawn_cli(&["--users", "10", "--rate-limit", "100/s,start=first-request,reset-precision=us,reset-skew=1s"]);
    let r = request(info["base_url"].as_str().unwrap(), "GET", "/admin/v1/orgs", info["api_key"].as_str(), None);
    assert_eq!(r.status, 200);
    let reset = header_time(&r);
    let frac = reset.trim_end_matches('Z').rsplit('.').next().unwrap();
    assert_eq!(frac.len(), 6, "microseconds: {reset}");
    assert_eq!(r.header("X-RateLimit-Remaining"), Some("99"));
    drop(child.stdin.take());
    let _ = child.wait();
    let help = help_text();
    for word in ["start=set|first-request|aligned", "reset-skew=DUR", "reset-precision=us|ms|s|minute", "skew-seed"] {
        assert!(help.contains(word), "--help mentions {word}");
    }
}
