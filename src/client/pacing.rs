//! Pacing: reading the quota the API reports on each response (`X-RateLimit-Remaining` /
//! `-Reset`) and slowing down before it runs out, instead of running into 429s; and the
//! server's hint of when to come back after a 429 or a 5xx.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::error::Endpoint;
use super::retry::{after, secs};
use super::AtlassianClient;

/// The longest proactive pause: pacing is an optimisation, the server's 429 is the authority.
const MAX_PACING_WAIT: Duration = Duration::from_secs(60);

/// The quota the API last reported on a successful response.
#[derive(Debug, Clone, PartialEq)]
struct Quota {
    remaining: u64,
    limit: Option<u64>,
    reset: DateTime<Utc>,
}

/// Proactive pacing from `X-RateLimit-Remaining` / `X-RateLimit-Reset`, shared by every
/// request of the client. Concurrent requests are accounted for: what is still in flight is
/// subtracted from the reported quota, and when the quota runs low requests get evenly spaced
/// send slots until the reset instead of each computing the same pause.
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Debug, Default)]
struct PacerState {
    quota: Option<Quota>,
    in_flight: u64,
    next_slot: Option<DateTime<Utc>>,
}

/// What the pacer says to a request about to be sent.
#[derive(Debug, PartialEq)]
pub enum Admission {
    /// Send now.
    Go,
    /// Send after `wait`: the slot is reserved, no need to ask again.
    After { wait: Duration, reset: DateTime<Utc> },
    /// The quota is used up: wait until the reset, then ask again.
    UsedUp { wait: Duration, reset: DateTime<Utc> },
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers the quota a response reports. Responses arrive out of order, so within one
    /// window the lowest `remaining` wins; a later reset starts a new window. A response
    /// without the headers, or with a reset already past (minute precision), tells nothing.
    pub fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) {
        let num = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(parse_reset);
        let Some(new) = (match (num("x-ratelimit-remaining"), reset) {
            (Some(remaining), Some(reset)) if reset > now => Some(Quota { remaining, limit: num("x-ratelimit-limit"), reset }),
            _ => None,
        }) else {
            return;
        };
        let mut s = self.lock();
        s.quota = Some(match s.quota.take() {
            Some(old) if old.reset == new.reset => Quota { remaining: old.remaining.min(new.remaining), ..new },
            Some(old) if old.reset > new.reset => old,
            _ => new,
        });
    }

    /// Decides when the next request may go; `Go` and `After` count it as in flight until
    /// [`Pacer::done`].
    pub fn admit(&self, now: DateTime<Utc>) -> Admission {
        let mut s = self.lock();
        let quota = match &s.quota {
            Some(q) if q.reset > now => q.clone(),
            _ => {
                s.quota = None;
                s.next_slot = None;
                s.in_flight += 1;
                return Admission::Go;
            }
        };
        let left = quota.reset - now;
        let available = quota.remaining.saturating_sub(s.in_flight);
        if available == 0 {
            return Admission::UsedUp { wait: left.to_std().unwrap_or_default().min(MAX_PACING_WAIT), reset: quota.reset };
        }
        s.in_flight += 1;
        let low_water = quota.limit.map_or(1, |l| (l / 10).max(1));
        if available > low_water {
            return Admission::Go;
        }
        let interval = left / i32::try_from(available).unwrap_or(i32::MAX);
        let slot = s.next_slot.filter(|t| *t > now).unwrap_or(now);
        s.next_slot = Some(slot + interval);
        match (slot - now).to_std() {
            Ok(wait) if !wait.is_zero() => Admission::After { wait: wait.min(MAX_PACING_WAIT), reset: quota.reset },
            _ => Admission::Go,
        }
    }

    /// A request admitted earlier has its answer (or failed): it no longer counts in flight.
    pub fn done(&self) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

/// Marks a request in flight for the pacer until dropped.
pub(crate) struct InFlight<'a>(&'a Pacer);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.done();
    }
}

impl AtlassianClient {
    /// Waits until the pacer admits the request (see [`Pacer`]); the returned guard keeps it
    /// counted in flight. A pause the budget cannot cover is skipped: the server's 429 decides.
    pub(crate) async fn pace(&self, endpoint: Endpoint) -> InFlight<'_> {
        loop {
            let now = Utc::now();
            let (wait, reset, used_up) = match self.pacer.admit(now) {
                Admission::Go => return InFlight(&self.pacer),
                Admission::After { wait, reset } => (wait, reset, false),
                Admission::UsedUp { wait, reset } => (wait, reset, true),
            };
            // A used-up quota that resets later than the budget can wait is not waited for in
            // pauses: the request goes, and the server's 429 ends the read at once.
            let until_reset = (reset - now).to_std().unwrap_or_default();
            if (used_up && !self.budget.could_cover(until_reset)) || self.budget.reserve(wait).is_err() {
                if used_up {
                    self.pacer.lock().in_flight += 1;
                }
                return InFlight(&self.pacer);
            }
            // Short pauses of a quota running low are routine; a used-up quota, or a long
            // pause, is worth a RATE_LIMITED status.
            if used_up || wait >= Duration::from_secs(1) {
                let how = if used_up { "is used up" } else { "is nearly used up" };
                let message = format!(
                    "{endpoint}: the API's rate-limit quota {how}; pausing {} so it is not exceeded (the quota resets at {}). Rate-limit waiting so far: {} of the {} s max_rate_limit_wait_seconds allows",
                    secs(wait),
                    crate::time::format(reset),
                    secs(self.budget.spent()),
                    self.budget.limit().as_secs()
                );
                self.notify(endpoint, message, Some(after(wait)));
            }
            tokio::time::sleep(wait).await;
            if !used_up {
                return InFlight(&self.pacer);
            }
        }
    }

}

/// When the server says to come back: `Retry-After` (seconds, possibly fractional, or an HTTP
/// date), else `X-RateLimit-Reset` (ISO-8601, possibly at minute precision). A reset time
/// already past (a truncated minute, a skewed clock) gives no hint: backoff decides.
pub fn retry_hint(headers: &HeaderMap) -> Option<Duration> {
    let now = Utc::now();
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs.min(86_400.0)));
            }
        }
        if let Ok(t) = DateTime::parse_from_rfc2822(v) {
            return Some((t.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO).min(Duration::from_secs(86_400)));
        }
    }
    let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(parse_reset)?;
    (reset - now).to_std().ok().filter(|d| !d.is_zero()).map(|d| d.min(Duration::from_secs(86_400)))
}

/// `X-RateLimit-Reset` as an instant: ISO-8601 at any precision (`2023-10-11T12:34Z`), or
/// epoch seconds (possibly fractional) as some gateways send.
fn parse_reset(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Some(at) = crate::time::parse_lenient(t) {
        return Some(at);
    }
    let secs: f64 = t.parse().ok().filter(|s: &f64| s.is_finite() && *s > 1e9 && *s < 1e11)?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

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
        p.observe(&quota("50"), now);
        assert_eq!(p.admit(now), Admission::Go, "plenty left");
        p.done();
        // Nine left for ten seconds: the first goes now, the next ones ~1.1 s apart.
        p.observe(&quota("9"), now);
        assert_eq!(p.admit(now), Admission::Go);
        let Admission::After { wait, .. } = p.admit(now) else { panic!("spaced") };
        assert!(wait >= Duration::from_millis(1000) && wait <= Duration::from_millis(1300), "{wait:?}");
        let Admission::After { wait: second, .. } = p.admit(now) else { panic!("spaced") };
        assert!(second > wait, "slots are reserved one after another");
        // Out-of-order answers of the same window cannot raise the estimate.
        p.observe(&quota("40"), now);
        assert!(matches!(p.admit(now), Admission::After { .. }));
        // Requests in flight use up the rest: wait for the reset.
        p.observe(&quota("4"), now);
        let Admission::UsedUp { wait, reset } = p.admit(now) else { panic!("used up by 4 in flight") };
        assert!(wait > Duration::from_millis(9900) && wait <= Duration::from_secs(10), "{wait:?}");
        assert_eq!(reset, parse_reset(&reset_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap());
        for _ in 0..4 {
            p.done();
        }
        p.observe(&quota("0"), now);
        assert!(matches!(p.admit(now), Admission::UsedUp { .. }));
        assert_eq!(p.admit(reset_at + chrono::Duration::milliseconds(1)), Admission::Go, "a new window after the reset");
        // A minute-precision reset already past says nothing about when to resume.
        let q = Pacer::default();
        q.observe(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &minute(now - chrono::Duration::minutes(1)))]), now);
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
            p.observe(&h, Utc::now());
            match p.admit(Utc::now()) {
                Admission::Go => {}
                Admission::After { wait, .. } | Admission::UsedUp { wait, .. } => prop_assert!(wait <= MAX_PACING_WAIT),
            }
        }

        #[test]
        fn reset_times_of_any_shape_parse_or_not_without_panic(y in 0i32..300_000, rest in "[-:T .Z0-9]{0,25}") {
            let _ = parse_reset(&format!("{y}{rest}"));
        }
    }
}
