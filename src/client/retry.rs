//! The one retry loop. Whether to try again is [`ApiError::is_retryable`]; how long to wait is
//! [`RetryPolicy`] (or the server's hint). 5xx, network errors and unreadable bodies spend
//! `max_retries`; 429s spend the rate-limit wait budget ([`WaitBudget`],
//! `max_rate_limit_wait_seconds`) instead — a rate limit is the server saying "later", and the
//! budget is how much later the user accepts.

use std::sync::Mutex;
use std::time::{Duration, Instant};


use super::error::{ApiError, Endpoint};
use super::http::{Call, Failure};
use super::{AtlassianClient, Pause};

/// The shortest wait after a 429: a `Retry-After: 0` must not turn into a busy loop.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_millis(100);

/// How often and how long to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts of one request that fails with 5xx, a network error or an unreadable body.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// What sets `max_attempts`, for the message of a call that gave up.
    pub limit: &'static str,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            limit: "'max_retries' sets how many",
        }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `retry` (1-based) of a failure that is not a
    /// rate limit: the server's hint when it gave one (capped), else [`RetryPolicy::backoff`].
    fn delay(&self, retry: u32, hint: Option<Duration>) -> Duration {
        match hint {
            Some(h) => h.min(self.max_delay),
            None => self.backoff(retry),
        }
    }

    /// How long to wait after the `throttled`-th 429 in a row: the server's hint, uncapped
    /// (the wait budget bounds it) but never below [`MIN_RATE_LIMIT_WAIT`]; else backoff.
    fn rate_limit_delay(&self, throttled: u32, hint: Option<Duration>) -> Duration {
        match hint {
            Some(h) => h.max(MIN_RATE_LIMIT_WAIT),
            None => self.backoff(throttled).max(MIN_RATE_LIMIT_WAIT),
        }
    }

    /// Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^(retry-1))], so
    /// clients that failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(20)).min(self.max_delay);
        ceiling.mul_f64(random_unit())
    }
}

/// A number in [0, 1), different on every call.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per thread and stepped per instance.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The total time a client may spend waiting out rate limits. Waits that overlap (two
/// streams paused by the same limit) count once: what is spent is wall-clock time.
#[derive(Debug)]
pub struct WaitBudget {
    limit: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug, Default)]
struct BudgetState {
    spent: Duration,
    /// The end of the latest wait granted so far.
    until: Option<Instant>,
}

impl WaitBudget {
    pub fn new(limit: Duration) -> Self {
        WaitBudget { limit, state: Mutex::new(BudgetState::default()) }
    }

    /// Grants a wait of `wait` from now if the budget allows it; else returns what was spent.
    pub fn reserve(&self, wait: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let end = now + wait;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let added = Self::added(&st, now, end);
        if st.spent + added > self.limit {
            return Err(st.spent);
        }
        st.spent += added;
        st.until = Some(st.until.map_or(end, |u| u.max(end)));
        Ok(())
    }

    /// Whether a wait of `wait` from now would fit in the budget (nothing is reserved).
    pub fn could_cover(&self, wait: Duration) -> bool {
        let now = Instant::now();
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.spent + Self::added(&st, now, now + wait) <= self.limit
    }

    /// What a wait from `now` to `end` adds to the time spent: overlaps count once.
    fn added(st: &BudgetState, now: Instant, end: Instant) -> Duration {
        end.saturating_duration_since(st.until.map_or(now, |u| u.max(now)))
    }

    pub fn spent(&self) -> Duration {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).spent
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl AtlassianClient {
    /// Makes `call`, retrying what may be retried: one attempt at a time, each paced
    /// ([`super::Pacer`]); rate-limit waits are charged to the budget.
    pub(crate) async fn call<T>(&self, call: Call<'_, T>) -> Result<T, ApiError> {
        let endpoint = call.endpoint;
        let mut failures = 0u32;
        let mut throttled = 0u32;
        loop {
            let in_flight = self.pace(endpoint).await;
            let outcome = self.attempt(&call, in_flight.sent).await;
            drop(in_flight);
            let Failure { error, hint, hint_from } = match outcome {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            if matches!(error, ApiError::RateLimited { .. }) {
                throttled += 1;
                let wait = self.retry.rate_limit_delay(throttled, hint);
                let why = if hint.is_some() { hint_from } else { "backing off" };
                self.wait_for_quota(endpoint, wait, &format!("{error}; waiting {} ({why})", secs(wait))).await?;
                continue;
            }
            throttled = 0;
            failures += 1;
            if failures >= self.retry.max_attempts {
                return Err(ApiError::Exhausted { attempts: failures, last: Box::new(error), limit: self.retry.limit });
            }
            let wait = self.retry.delay(failures, hint);
            let message = format!("{error}; retrying in {} (retry {failures} of {})", secs(wait), self.retry.max_attempts - 1);
            self.notify(endpoint, message, None);
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits `wait` for a rate limit to lift, after charging it to the budget and telling the
    /// person why; fails when the budget cannot cover it.
    async fn wait_for_quota(&self, endpoint: Endpoint, wait: Duration, why: &str) -> Result<(), ApiError> {
        if let Err(spent) = self.budget.reserve(wait) {
            let detail = format!(
                ": after {} of waiting for the API's rate limit to lift, another {} would pass max_rate_limit_wait_seconds ({} s). \
                 The organization's API quota is used up (other tools using the same organization share it): run the sync again later, or raise max_rate_limit_wait_seconds",
                secs(spent),
                secs(wait),
                self.budget.limit().as_secs()
            );
            return Err(ApiError::RateLimited { endpoint, detail });
        }
        let pause = Pause::from_now(wait);
        let message = format!(
            "{why}, until {}. Rate-limit waiting so far: {} of the {} s max_rate_limit_wait_seconds allows",
            crate::time::format(pause.until()),
            secs(self.budget.spent()),
            self.budget.limit().as_secs()
        );
        self.notify(endpoint, message, Some(pause));
        tokio::time::sleep(wait).await;
        Ok(())
    }

}

/// `1.2 s`, for messages.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_grows_and_is_capped() {
        let p = RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), ..RetryPolicy::default() };
        let samples: Vec<Duration> = (0..400).map(|_| p.backoff(3)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(400)));
        assert!(samples.iter().any(|d| *d < Duration::from_millis(100)), "full jitter reaches near zero");
        assert!(samples.iter().any(|d| *d > Duration::from_millis(300)));
        assert!((0..100).all(|_| p.backoff(1) <= Duration::from_millis(100)));
        assert!((0..100).all(|_| p.backoff(40) <= Duration::from_secs(1)));
        assert_eq!(p.delay(1, Some(Duration::from_secs(30))), Duration::from_secs(1), "5xx hints are capped");
        assert_eq!(p.rate_limit_delay(1, Some(Duration::from_secs(30))), Duration::from_secs(30), "429 hints are not");
        assert_eq!(p.rate_limit_delay(1, Some(Duration::ZERO)), MIN_RATE_LIMIT_WAIT);
    }

    #[test]
    fn wait_budget_counts_overlapping_waits_once() {
        let b = WaitBudget::new(Duration::from_secs(10));
        assert!(b.reserve(Duration::from_secs(4)).is_ok());
        assert!(b.reserve(Duration::from_secs(4)).is_ok(), "a parallel wait over the same time is free");
        assert!(b.spent() < Duration::from_millis(4100));
        assert!(b.reserve(Duration::from_secs(9)).is_ok(), "5 s beyond the first wait");
        let spent = b.reserve(Duration::from_secs(12)).unwrap_err();
        assert!(spent >= Duration::from_secs(8), "{spent:?}");
        let zero = WaitBudget::new(Duration::ZERO);
        assert!(zero.reserve(Duration::from_millis(100)).is_err());
        let c = WaitBudget::new(Duration::from_secs(10));
        assert!(c.could_cover(Duration::from_secs(10)) && !c.could_cover(Duration::from_secs(11)));
        assert_eq!(c.spent(), Duration::ZERO, "asking reserves nothing");
    }
}
