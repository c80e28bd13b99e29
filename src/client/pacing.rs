//! Pacing: reading the quota the API reports on each response (`X-RateLimit-Limit`,
//! `-Remaining`, `-Reset`) and slowing down before it runs out, instead of running into 429s;
//! and the server's hint of when to come back after a 429 or a 5xx.
//!
//! Gateways report the reset in many shapes: exactly, to the microsecond; skewed per
//! response by up to a second (each node computes it); truncated to the minute (so usually
//! already past); and windows open when set, on the clock, or at the first request after the
//! previous one ended. So the pacer does not trust the reset alone. It follows the windows
//! by `remaining` (a response sent after the one that reported the lowest count, with a
//! higher count, was counted in a new window), and learns the window's length from them:
//! a request still counted in a window proves the window longer than the time since it
//! opened; a new window opening proves it at most that long. A window ends:
//! - when its reset says, if every response of it reported the same reset (to the ms);
//! - else its opening plus the learned length (or, before any was learned, plus the median
//!   of the resets its responses reported), held within a coarse reset's bounds;
//! - and when nothing tells, one request at a time probes, further and further apart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::endpoint::Pacing;
use super::error::Endpoint;
use super::retry::secs;
use super::{AtlassianClient, Pause};

/// The longest proactive pause: pacing is an optimisation, the server's 429 is the authority.
const MAX_PACING_WAIT: Duration = Duration::from_secs(60);

mod windows;

use windows::{median, ms, parse_reset_precision, push_capped, Learned, Membership, Span, Time, Window, OFFSETS, SPANS};

/// How often a request waiting for a probe's answer asks again.
const PROBE_POLL_MS: i64 = 10;
/// The shortest gap before a probe of a window whose end is unknown.
const FIRST_PROBE_GAP_MS: i64 = 20;

/// The pacers of one client: one for the quota most endpoints share, and one per endpoint
/// limited on its own path ([`Pacing::OwnPath`]: the audit log, about 50 requests a minute,
/// third parties report), whose windows are learned apart.
#[derive(Debug, Default)]
pub struct Pacers {
    org: Pacer,
    own: Mutex<HashMap<&'static str, Arc<Pacer>>>,
}

impl Pacers {
    pub fn of(&self, endpoint: Endpoint) -> PacerRef<'_> {
        match endpoint.pacing() {
            Pacing::Shared => PacerRef::Shared(&self.org),
            Pacing::OwnPath => {
                let mut own = self.own.lock().unwrap_or_else(|e| e.into_inner());
                PacerRef::Own(own.entry(endpoint.path()).or_default().clone())
            }
        }
    }
}

/// A client's pacer for one endpoint.
#[derive(Debug, Clone)]
pub enum PacerRef<'a> {
    Shared(&'a Pacer),
    Own(Arc<Pacer>),
}

impl std::ops::Deref for PacerRef<'_> {
    type Target = Pacer;

    fn deref(&self) -> &Pacer {
        match self {
            PacerRef::Shared(p) => p,
            PacerRef::Own(p) => p,
        }
    }
}

/// Proactive pacing shared by every request of the client (see the module doc). Concurrent
/// requests are accounted for: what is still in flight is subtracted from the reported quota,
/// and when the quota runs low requests get evenly spaced send slots until the window's end
/// instead of each computing the same pause.
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Debug, Default)]
struct PacerState {
    limit: Option<u64>,
    window: Option<Window>,
    learned: Learned,
    in_flight: u64,
    /// The most requests seen in flight at once: how far answers can be out of order.
    most_in_flight: u64,
    next_slot: Option<Time>,
    probe: Probe,
    /// The latest round trip, for the tolerance of send order.
    round_trip: Span,
}

/// Probing a used-up window whose end is unknown: one request at a time, further apart.
#[derive(Debug, Default)]
struct Probe {
    /// When the probe in flight was sent.
    out: Option<Time>,
    /// When the next one may go.
    at: Option<Time>,
    gap: Span,
}

/// What the pacer says to a request about to be sent.
#[derive(Debug, PartialEq)]
pub enum Admission {
    /// Send now.
    Go,
    /// Send after `wait`: the slot is reserved, no need to ask again.
    After { wait: Duration, reset: DateTime<Utc> },
    /// The quota is used up until the reset the server reported: wait, then ask again.
    UsedUp { wait: Duration, reset: DateTime<Utc> },
    /// The quota is used up until about `reset`, as the windows seen so far tell (or a probe
    /// is due then): wait, then ask again.
    Paused { wait: Duration, reset: DateTime<Utc> },
}

impl PacerState {
    /// When window `w` ends, as far as anything tells; `true` when its own reset says so.
    fn end(&self, w: &Window) -> Option<(Time, bool)> {
        let agreed = w.agreed_reset().filter(|_| !self.learned.jitter);
        if let Some((at, precision)) = agreed {
            if precision < Span::seconds(1) {
                return Some((at, true));
            }
        }
        // A margin for the jitter of the network and of the clocks.
        let margin = |len: Span| ms(5).max(len / 200) + self.round_trip / 10;
        let estimate = self.learned.length().or_else(|| self.learned.median_offset()).map(|len| w.opened + len + margin(len));
        // A coarse reset every response agreed on bounds the end: [written, written + precision].
        // Without an estimate, its upper bound is the end, unless it is as coarse as a minute:
        // then probing finds the end sooner.
        let end = match (estimate, agreed) {
            (Some(e), Some((at, precision))) => Some(e.clamp(at, at + precision)),
            (None, Some((at, precision))) if precision < Span::minutes(1) => Some(at + precision),
            (e, _) => e,
        };
        end.map(|e| (e, false))
    }
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes in what a response (to a request sent at `sent`, answered at `now`) reports of
    /// the quota; `throttled` for a 429, which says the quota is used up even without headers.
    /// Responses arrive out of order: each is placed in its window (see the module doc).
    pub fn observe(&self, headers: &HeaderMap, sent: Time, now: Time, throttled: bool) {
        let num = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let remaining = num("x-ratelimit-remaining").or(throttled.then_some(0));
        let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(parse_reset_precision);
        let mut s = self.lock();
        let s = &mut *s;
        s.round_trip = now - sent;
        if let Some(limit) = num("x-ratelimit-limit") {
            if s.limit.is_some_and(|l| l != limit) {
                s.learned = Learned::default(); // a new limit: what was learned is stale
            }
            s.limit = Some(limit);
        }
        let Some(remaining) = remaining else {
            // Served without quota headers after the quota ran out: it is back, nothing known.
            if s.window.as_ref().and_then(|w| w.used_up).is_some_and(|u| sent >= u) {
                s.window = None;
                s.next_slot = None;
                s.probe = Probe::default();
            }
            return;
        };
        let tolerance = (s.round_trip / 2).clamp(ms(2), ms(100));
        let membership = match &s.window {
            None => Membership::Newer,
            Some(w) => w.classify(remaining, sent, reset, !s.learned.jitter, tolerance, s.most_in_flight.max(1)),
        };
        match membership {
            Membership::Older => return,
            Membership::Newer => {
                let low_water = s.low_water();
                let mut prompt = false;
                let before = s.window.as_ref().map(|w| w.remaining);
                if let Some(old) = s.window.take() {
                    // Traffic ran on to its end only if it was (nearly) used up.
                    prompt = old.remaining <= low_water;
                    if prompt && old.prompt {
                        push_capped(&mut s.learned.spans, sent - old.opened, SPANS);
                    }
                }
                s.window = Some(Window { prompt, before, ..Window::new(remaining, sent) });
                s.next_slot = None;
                s.probe = Probe::default();
            }
            Membership::Same => {}
        }
        let Some(w) = s.window.as_mut() else { return };
        w.add(remaining, sent);
        s.learned.counted(w.last_sent - w.opened);
        // Still counted after the learned length: it was learned wrong (windows on the clock
        // seen late); learn it again.
        if median(&s.learned.spans).is_some_and(|u| w.last_sent - w.opened > u + tolerance) {
            s.learned.spans.clear();
        }
        if let Some(r) = reset {
            // A reset before the window opened is truncated or skewed beyond use.
            if r.at + r.precision > w.opened {
                w.add_reset(r);
                if w.agreed_reset().is_none() {
                    s.learned.jitter = true;
                }
                if r.precision < Span::seconds(1) {
                    push_capped(&mut s.learned.offsets, r.at - w.opened, OFFSETS);
                }
            }
        }
        if remaining == 0 {
            w.used_up = Some(w.used_up.map_or(sent, |u| u.min(sent)));
            // A probe that found the window still counting: the next one waits longer.
            if s.probe.out.is_some_and(|p| sent >= p) {
                s.probe.out = None;
                s.probe.gap = (s.probe.gap * 2).max(ms(FIRST_PROBE_GAP_MS)).min(Span::seconds(60));
                s.probe.at = Some(now + s.probe.gap);
            }
        }
    }

    /// Decides when the next request may go; `Go` and `After` count it as in flight until
    /// [`Pacer::done`].
    pub fn admit(&self, now: Time) -> Admission {
        let mut s = self.lock();
        let s = &mut *s;
        let Some(w) = s.window.clone() else { return s.go() };
        let end = s.end(&w);
        // A reset written to the millisecond was truncated: the window may last that long more.
        let slack = w.resets.map_or(Span::zero(), |(_, _, precision)| precision.min(ms(1)));
        if let Some((at, exact)) = end.filter(|(at, _)| *at + slack <= now) {
            // Presumed over: a new window, as many at once as it allows — half as many when
            // its end was only estimated, until an answer shows the new window.
            if s.limit.is_some_and(|l| s.in_flight >= if exact { l } else { (l / 2).max(1) }) {
                return Admission::Paused { wait: ms(PROBE_POLL_MS).to_std().unwrap_or_default(), reset: at };
            }
            return s.go();
        }
        let available = w.remaining.saturating_sub(s.in_flight);
        if available == 0 {
            return match end {
                Some((at, exact)) => {
                    let wait = (at - now).to_std().unwrap_or_default().max(slack.to_std().unwrap_or_default()).min(MAX_PACING_WAIT);
                    if exact {
                        Admission::UsedUp { wait, reset: at }
                    } else {
                        Admission::Paused { wait, reset: at }
                    }
                }
                None => s.probe(&w, now),
            };
        }
        s.in_flight += 1;
        s.most_in_flight = s.most_in_flight.max(s.in_flight);
        let Some((at, _)) = end.filter(|_| available <= s.low_water()) else { return Admission::Go };
        let interval = (at - now) / i32::try_from(available).unwrap_or(i32::MAX);
        // Never past the end: then the window is presumed over and requests go.
        let slot = s.next_slot.filter(|t| *t > now).unwrap_or(now).min(at);
        s.next_slot = Some(slot + interval);
        match (slot - now).to_std() {
            Ok(wait) if !wait.is_zero() => Admission::After { wait: wait.min(MAX_PACING_WAIT), reset: at },
            _ => Admission::Go,
        }
    }

    /// A request admitted at `admitted` has its answer (or failed): it no longer counts in
    /// flight (nor as the probe, if it was one).
    pub fn done(&self, admitted: Time) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.probe.out == Some(admitted) {
            s.probe.out = None;
        }
    }

    /// How long a request answered 429 without a `Retry-After` should wait, when the pacer
    /// knows when the window ends (however far: the wait budget bounds it). When it does not,
    /// backoff decides (and further requests wait for the next probe).
    pub fn retry_wait(&self, now: Time) -> Option<Duration> {
        let s = self.lock();
        let w = s.window.as_ref().filter(|w| w.used_up.is_some())?;
        let (at, _) = s.end(w)?;
        Some((at - now).to_std().unwrap_or_default())
    }
}

impl PacerState {
    /// Below this many requests left, the rest are spread until the window's end.
    fn low_water(&self) -> u64 {
        self.limit.map_or(1, |l| (l / 10).max(1))
    }

    fn go(&mut self) -> Admission {
        self.in_flight += 1;
        self.most_in_flight = self.most_in_flight.max(self.in_flight);
        Admission::Go
    }

    /// A used-up window whose end nothing tells: one probe at a time, the first after twice
    /// the time the window is known to have run.
    fn probe(&mut self, w: &Window, now: Time) -> Admission {
        let ran = (w.last_sent - w.opened).max(self.learned.lower.unwrap_or_default());
        if self.probe.gap.is_zero() {
            self.probe.gap = ran.max(ms(FIRST_PROBE_GAP_MS));
        }
        let at = *self.probe.at.get_or_insert(w.opened + ran * 2);
        let wait = if self.probe.out.is_some() { ms(PROBE_POLL_MS) } else { at - now };
        match wait.to_std() {
            Ok(wait) if !wait.is_zero() => Admission::Paused { wait: wait.min(MAX_PACING_WAIT), reset: at },
            _ => {
                self.probe.out = Some(now);
                self.go()
            }
        }
    }
}

/// Marks a request in flight for the pacer until dropped.
pub(crate) struct InFlight<'a> {
    pacer: PacerRef<'a>,
    /// When the pacer admitted it.
    admitted: Time,
    /// When it may be sent: what its answer is placed in a window by.
    pub sent: Time,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.pacer.done(self.admitted);
    }
}

impl AtlassianClient {
    /// Waits until the pacer admits the request (see [`Pacer`]); the returned guard keeps it
    /// counted in flight. A pause the budget cannot cover is skipped: the server's 429 decides.
    pub(crate) async fn pace(&self, endpoint: Endpoint) -> InFlight<'_> {
        loop {
            let now = Utc::now();
            let pacer = self.pacers.of(endpoint);
            let guard = |admitted, sent| InFlight { pacer: pacer.clone(), admitted, sent };
            let (wait, reset, used_up, told) = match pacer.admit(now) {
                Admission::Go => return guard(now, now),
                Admission::After { wait, reset } => (wait, reset, false, false),
                Admission::UsedUp { wait, reset } => (wait, reset, true, true),
                Admission::Paused { wait, reset } => (wait, reset, true, false),
            };
            // A used-up quota that resets later than the budget can wait is not waited for in
            // pauses: the request goes, and the server's 429 ends the read at once.
            let until_reset = (reset - now).to_std().unwrap_or_default();
            if (used_up && !self.budget.could_cover(until_reset)) || self.budget.reserve(wait).is_err() {
                if used_up {
                    pacer.lock().in_flight += 1;
                }
                return guard(now, Utc::now());
            }
            // Short pauses are routine pacing; the server's used-up quota, or a long pause,
            // is worth a RATE_LIMITED status.
            if told || wait >= Duration::from_secs(1) {
                let how = if used_up { "is used up" } else { "is nearly used up" };
                let when = if told { "the quota resets at" } else { "by the rate-limit windows seen so far, the quota resets at about" };
                let message = format!(
                    "{endpoint}: the API's rate-limit quota {how}; pausing {} so it is not exceeded ({when} {}). Rate-limit waiting so far: {} of the {} s max_rate_limit_wait_seconds allows",
                    secs(wait),
                    crate::time::format(reset),
                    secs(self.budget.spent()),
                    self.budget.limit().as_secs()
                );
                self.notify(endpoint, message, Some(Pause::from_now(wait)));
            }
            tokio::time::sleep(wait).await;
            if !used_up {
                return guard(now, Utc::now());
            }
        }
    }
}

/// How long `Retry-After` (seconds, possibly fractional, or an HTTP date) asks to wait.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok())?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let t = DateTime::parse_from_rfc2822(v).ok()?;
    Some((t.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(Duration::from_secs(86_400)))
}

/// The time until `X-RateLimit-Reset` (ISO-8601, possibly at minute precision); none when it
/// is already past (a truncated minute, a skewed clock).
pub fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(parse_reset)?;
    (reset - Utc::now()).to_std().ok().filter(|d| !d.is_zero()).map(|d| d.min(Duration::from_secs(86_400)))
}

/// When the server says to come back: `Retry-After`, else `X-RateLimit-Reset`. A reset time
/// already past gives no hint: backoff decides.
pub fn retry_hint(headers: &HeaderMap) -> Option<Duration> {
    retry_after(headers).or_else(|| reset_wait(headers))
}

/// `X-RateLimit-Reset` as an instant: ISO-8601 at any precision (`2023-10-11T12:34Z`), or
/// epoch seconds (possibly fractional) as some gateways send.
fn parse_reset(text: &str) -> Option<DateTime<Utc>> {
    parse_reset_precision(text).map(|r| r.at)
}

#[cfg(test)]
mod sim;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn minute(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%dT%H:%MZ").to_string()
    }

    #[test]
    fn retry_after_wins_then_reset_time() {
        assert_eq!(retry_hint(&headers(&[("retry-after", "2")])), Some(Duration::from_secs(2)));
        assert_eq!(retry_hint(&headers(&[("retry-after", "0.2")])), Some(Duration::from_millis(200)));
        let later = minute(Utc::now() + chrono::Duration::minutes(10));
        assert_eq!(retry_hint(&headers(&[("retry-after", "1"), ("x-ratelimit-reset", &later)])), Some(Duration::from_secs(1)));
        let soon = minute(Utc::now() + chrono::Duration::minutes(2));
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &soon)])).unwrap();
        assert!(d > Duration::from_secs(50) && d <= Duration::from_secs(120), "{d:?}");
        let secs = (Utc::now() + chrono::Duration::seconds(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &secs)])).unwrap();
        assert!(d > Duration::from_secs(28) && d <= Duration::from_secs(30), "{d:?}");
        let frac = (Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &frac)])).unwrap();
        assert!(d > Duration::from_millis(1300) && d <= Duration::from_millis(1500), "{d:?}");
        let epoch = format!("{:.3}", (Utc::now().timestamp_millis() + 5000) as f64 / 1000.0);
        let d = retry_hint(&headers(&[("x-ratelimit-reset", &epoch)])).unwrap();
        assert!(d > Duration::from_secs(4) && d <= Duration::from_secs(5), "{d:?}");
        let date = (Utc::now() + chrono::Duration::seconds(20)).to_rfc2822();
        assert!(retry_hint(&headers(&[("retry-after", &date)])).unwrap() > Duration::from_secs(15));
        assert_eq!(retry_hint(&HeaderMap::new()), None);
    }

    #[test]
    fn a_reset_already_past_gives_no_hint() {
        // Minute precision truncates: "this minute" is usually in the past already.
        let past = minute(Utc::now() - chrono::Duration::minutes(1));
        assert_eq!(retry_hint(&headers(&[("x-ratelimit-reset", &past)])), None);
        for junk in ["soon", "", "-3", "NaN", "inf", "1e400"] {
            assert_eq!(retry_hint(&headers(&[("x-ratelimit-reset", junk)])), None, "{junk}");
        }
        assert_eq!(retry_hint(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_hint(&headers(&[("retry-after", "1e308")])), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn pacer_spaces_requests_as_the_quota_runs_out() {
        let now = Utc::now();
        let reset_at = now + chrono::Duration::seconds(10);
        let reset = reset_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let quota = |remaining: &str| headers(&[("x-ratelimit-limit", "100"), ("x-ratelimit-remaining", remaining), ("x-ratelimit-reset", &reset)]);
        let p = Pacer::default();
        p.observe(&quota("50"), now, now, false);
        assert_eq!(p.admit(now), Admission::Go, "plenty left");
        p.done(now);
        // Nine left for ten seconds: the first goes now, the next ones ~1.1 s apart.
        p.observe(&quota("9"), now, now, false);
        assert_eq!(p.admit(now), Admission::Go);
        let Admission::After { wait, .. } = p.admit(now) else { panic!("spaced") };
        assert!(wait >= Duration::from_millis(1000) && wait <= Duration::from_millis(1300), "{wait:?}");
        let Admission::After { wait: second, .. } = p.admit(now) else { panic!("spaced") };
        assert!(second > wait, "slots are reserved one after another");
        // Out-of-order answers of the same window cannot raise the estimate.
        p.observe(&quota("40"), now, now, false);
        assert!(matches!(p.admit(now), Admission::After { .. }));
        // Requests in flight use up the rest: wait for the reset.
        p.observe(&quota("4"), now, now, false);
        let Admission::UsedUp { wait, reset } = p.admit(now) else { panic!("used up by 4 in flight") };
        assert!(wait > Duration::from_millis(9900) && wait <= Duration::from_secs(10), "{wait:?}");
        assert_eq!(reset, parse_reset(&reset_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap());
        for _ in 0..4 {
            p.done(now);
        }
        p.observe(&quota("0"), now, now, false);
        assert!(matches!(p.admit(now), Admission::UsedUp { .. }));
        assert_eq!(p.admit(reset_at + chrono::Duration::milliseconds(1)), Admission::Go, "a new window after the reset");
        // A minute-precision reset already past says nothing about when to resume.
        let q = Pacer::default();
        q.observe(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &minute(now - chrono::Duration::minutes(1)))]), now, now, false);
        assert_eq!(q.admit(now), Admission::Go);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn hints_from_any_header_text_never_panic(retry in "\\PC{0,40}", reset in "\\PC{0,40}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&retry) { h.insert(RETRY_AFTER, v); }
            if let Ok(v) = HeaderValue::from_str(&reset) { h.insert("x-ratelimit-reset", v.clone()); h.insert("x-ratelimit-remaining", v); }
            if let Some(d) = retry_hint(&h) {
                prop_assert!(d <= Duration::from_secs(86_400));
            }
            let p = Pacer::default();
            p.observe(&h, Utc::now(), Utc::now(), false);
            match p.admit(Utc::now()) {
                Admission::Go => {}
                Admission::After { wait, .. } | Admission::UsedUp { wait, .. } | Admission::Paused { wait, .. } => prop_assert!(wait <= MAX_PACING_WAIT),
            }
        }

        #[test]
        fn reset_times_of_any_shape_parse_or_not_without_panic(y in 0i32..300_000, rest in "[-:T .Z0-9]{0,25}") {
            let _ = parse_reset(&format!("{y}{rest}"));
        }
    }
}
