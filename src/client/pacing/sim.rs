//! The pacer against the sandbox's rate limiter, in simulated time: `workers` requests in
//! flight at once (the per-user reads' concurrency), each answered after a fixed latency
//! (counted by the limiter when it arrives, as the sandbox does), a 429 retried after what the
//! pacer (or `Retry-After`) says — the client's own loop, without the network and the clock.
//! Deterministic, so the 429 share and the time against the rate-limit floor are asserted
//! exactly, for every shape of window the sandbox offers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use atlassian_sandbox::{Decision, RateLimit, RateLimiter, ResetPrecision, WindowStart};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{retry_after, Admission, Pacer};

type Time = DateTime<Utc>;

/// What a simulated read did.
#[derive(Debug)]
struct Outcome {
    requests: u64,
    throttled: u64,
    /// From the first request to the last answer.
    elapsed: chrono::Duration,
    /// The fastest the limit allows: `jobs` requests at `limit` per `window`.
    floor: chrono::Duration,
}

impl Outcome {
    fn ratio(&self) -> f64 {
        self.elapsed.num_microseconds().unwrap_or(0) as f64 / self.floor.num_microseconds().unwrap_or(1) as f64
    }

    fn throttled_share(&self) -> f64 {
        self.throttled as f64 / self.requests as f64
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A worker asks the pacer.
    Ready(usize),
    /// An admitted request leaves (after an `After` wait).
    Send { worker: usize, admitted: i64 },
    /// It reaches the limiter.
    Arrive { worker: usize, admitted: i64, sent: i64 },
    /// Its answer is back.
    Answer { worker: usize, admitted: i64, sent: i64, reply: usize },
}

fn headers(d: &Decision) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in d.headers() {
        h.insert(HeaderName::from_static(match k {
            "X-RateLimit-Limit" => "x-ratelimit-limit",
            "X-RateLimit-Remaining" => "x-ratelimit-remaining",
            "X-RateLimit-Reset" => "x-ratelimit-reset",
            _ => "retry-after",
        }), HeaderValue::from_str(&v).unwrap());
    }
    h
}

/// `jobs` requests through `workers` concurrent workers against `limit`, `latency_ms` each
/// way (plus a seeded jitter of up to 4 ms, so answers come out of order).
fn simulate(limit: RateLimit, workers: usize, jobs: u64, latency_ms: i64) -> Outcome {
    let t0: Time = "2026-03-01T12:00:10.123456Z".parse().unwrap();
    let at = |n: i64| t0 + chrono::Duration::microseconds(n);
    // The rate limit's floor, or the round trips' when the workers cannot reach the rate.
    let rate = chrono::Duration::from_std(limit.window).unwrap() * i32::try_from(jobs).unwrap() / i32::try_from(limit.limit).unwrap();
    let trips = chrono::Duration::milliseconds(latency_ms + 4) * i32::try_from(jobs.div_ceil(workers as u64)).unwrap();
    let floor = rate.max(trips);
    let pacer = Pacer::default();
    let mut limiter = RateLimiter::new(Some(limit), t0);
    let mut queue = BinaryHeap::new();
    let mut replies: Vec<Decision> = Vec::new();
    for w in 0..workers {
        queue.push(Reverse((0i64, Event::Ready(w))));
    }
    let (mut started, mut done, mut requests, mut throttled, mut last) = (0u64, 0u64, 0u64, 0u64, 0i64);
    let mut busy = vec![false; workers];
    let mut seq = 0u64;
    while let Some(Reverse((now, event))) = queue.pop() {
        let t = at(now);
        match event {
            Event::Ready(w) => {
                if !busy[w] {
                    if started == jobs {
                        continue;
                    }
                    started += 1;
                    busy[w] = true;
                }
                match pacer.admit(t) {
                    Admission::Go => queue.push(Reverse((now, Event::Send { worker: w, admitted: now }))),
                    Admission::After { wait, .. } => {
                        queue.push(Reverse((now + wait.as_micros() as i64, Event::Send { worker: w, admitted: now })))
                    }
                    Admission::UsedUp { wait, .. } | Admission::Paused { wait, .. } => {
                        queue.push(Reverse((now + wait.as_micros().max(1) as i64, Event::Ready(w))))
                    }
                }
            }
            Event::Send { worker, admitted } => {
                requests += 1;
                seq += 1;
                let jitter = (atlassian_sandbox::rng::mix64(seq) % 4000) as i64;
                queue.push(Reverse((now + latency_ms * 1000 + jitter, Event::Arrive { worker, admitted, sent: now })));
            }
            Event::Arrive { worker, admitted, sent } => {
                replies.push(limiter.take(t).expect("a limit"));
                let jitter = (atlassian_sandbox::rng::mix64(seq ^ 0x5eed ^ sent as u64) % 4000) as i64;
                queue.push(Reverse((now + jitter + 100, Event::Answer { worker, admitted, sent, reply: replies.len() - 1 })));
            }
            Event::Answer { worker, admitted, sent, reply } => {
                let d = &replies[reply];
                let h = headers(d);
                pacer.observe(&h, at(sent), t, !d.allowed);
                let next = if d.allowed {
                    done += 1;
                    last = now;
                    busy[worker] = false;
                    now
                } else {
                    throttled += 1;
                    let wait = retry_after(&h).or_else(|| pacer.retry_wait(t)).unwrap_or(Duration::from_millis(250));
                    now + wait.as_micros().max(100_000) as i64
                };
                pacer.done(at(admitted));
                queue.push(Reverse((next, Event::Ready(worker))));
            }
        }
    }
    assert_eq!(done, jobs, "every request answered");
    Outcome { requests, throttled, elapsed: at(last) - t0, floor }
}

fn per_second(start: WindowStart, precision: ResetPrecision, skew_ms: u64) -> RateLimit {
    shape(100, 1000, (start, precision, skew_ms))
}

/// Per-user reads' shape (8 in flight, 50 ms latency, 100 requests a second): under every
/// window shape, fewer than 1 % of requests answered 429, within 1.15× the floor.
#[test]
fn every_window_shape_is_paced_under_one_percent_of_429s_within_the_floor() {
    let shapes = [
        ("opens when set, ms", per_second(WindowStart::OnSet, ResetPrecision::Millis, 0)),
        ("first request, µs", per_second(WindowStart::FirstRequest, ResetPrecision::Micros, 0)),
        ("first request, µs, skew ±1 s", per_second(WindowStart::FirstRequest, ResetPrecision::Micros, 1000)),
        ("first request, µs, skew ±100 ms", per_second(WindowStart::FirstRequest, ResetPrecision::Micros, 100)),
        ("first request, minute", per_second(WindowStart::FirstRequest, ResetPrecision::Minutes, 0)),
        ("first request, seconds", per_second(WindowStart::FirstRequest, ResetPrecision::Seconds, 0)),
        ("aligned, ms", per_second(WindowStart::Aligned, ResetPrecision::Millis, 0)),
        ("aligned, minute", per_second(WindowStart::Aligned, ResetPrecision::Minutes, 0)),
        ("aligned, µs, skew ±1 s", per_second(WindowStart::Aligned, ResetPrecision::Micros, 1000)),
    ];
    let mut failed = Vec::new();
    for (name, shape) in shapes {
        let o = simulate(shape, 8, 5000, 50);
        eprintln!("{name}: {o:?}, {:.2} % throttled, {:.3}× the floor", 100.0 * o.throttled_share(), o.ratio());
        if o.throttled_share() >= 0.01 || o.ratio() > 1.15 {
            failed.push(format!("{name}: {:.2} % throttled, {:.3}× the floor", 100.0 * o.throttled_share(), o.ratio()));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Other limits (100 a second, 200 a minute), latencies (50 and 300 ms) and concurrencies
/// (1 to 16 in flight), under the four shapes: still under 1 % and within 1.15× the floor.
#[test]
fn other_limits_latencies_and_concurrencies_too() {
    let mut failed = Vec::new();
    for (limit, window_ms) in [(100u64, 1000u64), (200, 60_000)] {
        for latency in [50i64, 300] {
            for workers in [1usize, 4, 16] {
                for (start, precision, skew) in SHAPES {
                    let o = simulate(shape(limit, window_ms, (start, precision, skew)), workers, (limit * 30).min(6000), latency);
                    if o.throttled_share() >= 0.01 || o.ratio() > 1.15 {
                        failed.push(format!(
                            "{limit}/{window_ms} ms, {latency} ms, {workers} in flight, {start:?} {precision:?} ±{skew} ms: {:.2} % throttled, {:.3}×",
                            100.0 * o.throttled_share(),
                            o.ratio()
                        ));
                    }
                }
            }
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Limits of a handful of requests a window never stall a read; learning a window whose reset
/// says nothing costs a few 429s there (each is a larger share of so few requests).
#[test]
fn tiny_limits_never_stall() {
    for (limit, window_ms) in [(5u64, 700u64), (20, 1000)] {
        for latency in [0i64, 50] {
            for workers in [1usize, 4, 16] {
                for s in SHAPES {
                    let o = simulate(shape(limit, window_ms, s), workers, limit * 20, latency);
                    assert!(o.throttled_share() < 0.25, "{limit}/{window_ms} ms, {latency} ms, {workers}: {o:?}");
                }
            }
        }
    }
}

fn shape(limit: u64, window_ms: u64, (start, precision, skew_ms): (WindowStart, ResetPrecision, u64)) -> RateLimit {
    RateLimit::new(limit, Duration::from_millis(window_ms))
        .with_window_start(start)
        .with_reset_precision(precision)
        .with_reset_skew(Duration::from_millis(skew_ms))
}

const SHAPES: [(WindowStart, ResetPrecision, u64); 4] = [
    (WindowStart::OnSet, ResetPrecision::Millis, 0),
    (WindowStart::FirstRequest, ResetPrecision::Micros, 1000),
    (WindowStart::FirstRequest, ResetPrecision::Minutes, 0),
    (WindowStart::Aligned, ResetPrecision::Minutes, 0),
];
