//! A real per-organization rate limit, in the shapes gateways are seen to have.
//!
//! [`RateLimit`] says what the limit is: `limit` requests per `window` over every `/admin`
//! endpoint of the org, and how the window and its `X-RateLimit-Reset` header behave:
//! - [`WindowStart`]: when a window opens — when the limit is set (the default, the
//!   sandbox's first shape), at the first request after the previous window ended, or at
//!   wall-clock multiples of the window length;
//! - [`ResetPrecision`]: how the reset time is written, from microseconds to minutes
//!   (coarser forms are truncated, so a written reset can lie in the past);
//! - `reset_skew`: every response reports the true reset plus its own skew of up to
//!   ±`reset_skew`, as gateway nodes computing the header per response do (deterministic:
//!   the n-th response of the limiter always gets [`RateLimit::skew`]`(n)`).
//!
//! [`RateLimiter`] applies a limit against a clock the caller passes in, so tests can
//! drive it with synthetic times; the server passes the wall clock.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

use crate::faults::{parse_duration, parse_u64};
use crate::rng::mix64;

/// How precisely an `X-RateLimit-Reset` time is written. Coarser forms are truncated, as the
/// real API's minute-precision values (`2023-10-11T12:34Z`) appear to be — so the written
/// time can lie in the past, which a client must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetPrecision {
    /// `2023-10-11T12:34:56.789Z`
    #[default]
    Millis,
    /// `2023-10-11T12:34:56Z`
    Seconds,
    /// `2023-10-11T12:34Z`
    Minutes,
    /// `2023-10-11T12:34:56.789123Z`
    Micros,
}

impl ResetPrecision {
    pub fn format(self, t: DateTime<Utc>) -> String {
        match self {
            ResetPrecision::Millis => t.to_rfc3339_opts(SecondsFormat::Millis, true),
            ResetPrecision::Seconds => t.to_rfc3339_opts(SecondsFormat::Secs, true),
            ResetPrecision::Minutes => t.format("%Y-%m-%dT%H:%MZ").to_string(),
            ResetPrecision::Micros => t.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

impl FromStr for ResetPrecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "us" | "micros" => Ok(ResetPrecision::Micros),
            "ms" | "millis" => Ok(ResetPrecision::Millis),
            "s" | "seconds" => Ok(ResetPrecision::Seconds),
            "m" | "min" | "minute" | "minutes" => Ok(ResetPrecision::Minutes),
            o => Err(format!("unknown reset precision '{o}' (us|ms|s|minute)")),
        }
    }
}

/// When a rate-limit window opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowStart {
    /// The first window opens when the limit is set (sandbox start or
    /// [`crate::Sandbox::set_rate_limit`]); each later one at the first request after the
    /// previous one ended. The sandbox's original shape.
    #[default]
    OnSet,
    /// Every window, the first included, opens at the first request after the previous
    /// one ended: nothing is counted, and no window runs, until a request comes.
    FirstRequest,
    /// Windows are consecutive multiples of the window length since the Unix epoch (a
    /// `100/min` limit resets at every whole minute), whatever the requests do.
    Aligned,
}

impl FromStr for WindowStart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "set" | "on-set" => Ok(WindowStart::OnSet),
            "first-request" => Ok(WindowStart::FirstRequest),
            "aligned" | "clock" => Ok(WindowStart::Aligned),
            o => Err(format!("unknown window start '{o}' (set|first-request|aligned)")),
        }
    }
}

/// A fixed-window rate limit shared by every `/admin` endpoint of the organization:
/// `limit` requests per `window`. Every authenticated response carries `X-RateLimit-Limit`,
/// `X-RateLimit-Remaining` (after this request) and `X-RateLimit-Reset` (the window's end,
/// skewed and written as the fields below say); a request over the limit gets the gateway
/// 429, with `Retry-After` (until the reported reset) when `retry_after`.
///
/// Build with [`RateLimit::new`] and adjust fields or use the `with_*` methods; new fields
/// get defaults that keep the original shape.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub limit: u64,
    pub window: Duration,
    pub retry_after: bool,
    pub reset_precision: ResetPrecision,
    pub window_start: WindowStart,
    /// Each response reports the true reset plus a skew in `[-reset_skew, +reset_skew]`.
    pub reset_skew: Duration,
    /// Seed of the skew sequence.
    pub skew_seed: u64,
}

impl RateLimit {
    pub fn new(limit: u64, window: Duration) -> Self {
        RateLimit {
            limit,
            window,
            retry_after: false,
            reset_precision: ResetPrecision::Millis,
            window_start: WindowStart::OnSet,
            reset_skew: Duration::ZERO,
            skew_seed: 0,
        }
    }

    pub fn with_window_start(mut self, start: WindowStart) -> Self {
        self.window_start = start;
        self
    }

    pub fn with_reset_precision(mut self, precision: ResetPrecision) -> Self {
        self.reset_precision = precision;
        self
    }

    pub fn with_reset_skew(mut self, skew: Duration) -> Self {
        self.reset_skew = skew;
        self
    }

    pub fn with_retry_after(mut self) -> Self {
        self.retry_after = true;
        self
    }

    /// The skew of the `n`-th response (0-based) of a limiter: uniform over
    /// `[-reset_skew, +reset_skew]` at microsecond resolution, the same for the same seed.
    pub fn skew(&self, n: u64) -> chrono::Duration {
        let max = self.reset_skew.as_micros().min(i64::MAX as u128 / 4) as i64;
        if max == 0 {
            return chrono::Duration::zero();
        }
        let draw = (mix64(self.skew_seed ^ mix64(n)) % (2 * max as u64 + 1)) as i64;
        chrono::Duration::microseconds(draw - max)
    }
}

impl FromStr for RateLimit {
    type Err = String;
    /// `LIMIT/WINDOW[,retry-after][,reset-precision=us|ms|s|minute][,start=set|first-request|aligned]
    /// [,reset-skew=DUR][,skew-seed=N]`, e.g. `100/s`, `200/min`, `5/500ms,retry-after`,
    /// `100/s,start=first-request,reset-precision=us,reset-skew=1s`. A bare window unit
    /// means one of it (`s` = `1s`).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let head = parts.next().unwrap_or_default();
        let (n, w) = head.split_once('/').ok_or_else(|| format!("rate limit '{s}': expected LIMIT/WINDOW such as 100/s"))?;
        let limit = parse_u64(n, "rate limit")?;
        if limit == 0 {
            return Err("rate limit: LIMIT must be at least 1".into());
        }
        let w = w.trim();
        let window = if w.starts_with(|c: char| c.is_ascii_digit() || c == '.') { parse_duration(w)? } else { parse_duration(&format!("1{w}"))? };
        if window.is_zero() {
            return Err("rate limit: WINDOW must be longer than zero".into());
        }
        let mut rl = RateLimit::new(limit, window);
        for o in parts {
            match o.split_once('=') {
                None if o == "retry-after" => rl.retry_after = true,
                Some(("reset-precision", v)) => rl.reset_precision = v.parse()?,
                Some(("start", v)) => rl.window_start = v.parse()?,
                Some(("reset-skew", v)) => rl.reset_skew = parse_duration(v)?,
                Some(("skew-seed", v)) => rl.skew_seed = parse_u64(v, "skew-seed")?,
                _ => {
                    return Err(format!(
                        "unknown rate limit option '{o}' (retry-after|reset-precision=us|ms|s|minute|start=set|first-request|aligned|reset-skew=DUR|skew-seed=N)"
                    ))
                }
            }
        }
        Ok(rl)
    }
}

/// The window a limiter is counting in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitWindow {
    pub start: DateTime<Utc>,
    /// The true end of the window (what an unskewed `X-RateLimit-Reset` says).
    pub reset: DateTime<Utc>,
    /// Requests counted in it so far (including refused ones).
    pub used: u64,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// The window's true end.
    pub reset: DateTime<Utc>,
    /// The reset this response reports: `reset` plus this response's skew.
    pub reported_reset: DateTime<Utc>,
    /// `Some` for a refused request of a limit with `retry_after`: until the reported reset.
    pub retry_after: Option<Duration>,
    precision: ResetPrecision,
}

impl Decision {
    /// The three `X-RateLimit-*` headers (and `Retry-After` when set).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("X-RateLimit-Limit", self.limit.to_string()),
            ("X-RateLimit-Remaining", self.remaining.to_string()),
            ("X-RateLimit-Reset", self.precision.format(self.reported_reset)),
        ];
        if let Some(d) = self.retry_after {
            h.push(("Retry-After", format_retry_after(d)));
        }
        h
    }
}

/// A [`RateLimit`] being applied: the current window and the responses seen.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    limit: Option<RateLimit>,
    window: Option<(DateTime<Utc>, u64)>,
    responses: u64,
}

impl RateLimiter {
    /// A limiter for `limit` (`None` = unlimited), set at `now`.
    pub fn new(limit: Option<RateLimit>, now: DateTime<Utc>) -> Self {
        let mut l = RateLimiter::default();
        l.set(limit, now);
        l
    }

    /// Replace the limit; counting starts afresh.
    pub fn set(&mut self, limit: Option<RateLimit>, now: DateTime<Utc>) {
        self.window = match &limit {
            Some(rl) if rl.window_start == WindowStart::OnSet => Some((now, 0)),
            _ => None,
        };
        self.limit = limit;
        self.responses = 0;
    }

    /// The window being counted, if any.
    pub fn window(&self) -> Option<RateLimitWindow> {
        let rl = self.limit.as_ref()?;
        let (start, used) = self.window?;
        Some(RateLimitWindow { start, reset: start + chrono_window(rl), used })
    }

    /// Counts one request at `now`; `None` when there is no limit.
    pub fn take(&mut self, now: DateTime<Utc>) -> Option<Decision> {
        let rl = self.limit.as_ref()?;
        let len = chrono_window(rl);
        let start = match (rl.window_start, self.window) {
            (WindowStart::Aligned, _) => aligned_start(now, rl.window),
            (_, Some((start, _))) if now < start + len => start,
            _ => now,
        };
        let used = match self.window {
            Some((s, used)) if s == start => used + 1,
            _ => 1,
        };
        self.window = Some((start, used));
        let reset = start + len;
        let reported_reset = reset + rl.skew(self.responses);
        self.responses += 1;
        let allowed = used <= rl.limit;
        Some(Decision {
            allowed,
            limit: rl.limit,
            remaining: rl.limit.saturating_sub(used),
            reset,
            reported_reset,
            retry_after: (!allowed && rl.retry_after).then(|| (reported_reset - now).to_std().unwrap_or(Duration::ZERO)),
            precision: rl.reset_precision,
        })
    }
}

fn chrono_window(rl: &RateLimit) -> chrono::Duration {
    chrono::Duration::from_std(rl.window).unwrap_or(chrono::Duration::MAX)
}

/// The start of the wall-clock-aligned window of length `window` that holds `now`.
fn aligned_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    let len = window.as_nanos().max(1) as i128;
    let at = now.timestamp_nanos_opt().unwrap_or(0) as i128;
    let start = at - at.rem_euclid(len);
    DateTime::from_timestamp_nanos(start.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// `Retry-After` in seconds: an integer when whole, else up to millisecond decimals.
pub fn format_retry_after(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        s.trim_end_matches('0').to_string()
    }
}

/// Truncates `t` to whole minutes (what [`ResetPrecision::Minutes`] writes).
pub fn floor_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rate_limits() {
        assert_eq!("100/s".parse::<RateLimit>().unwrap(), RateLimit::new(100, Duration::from_secs(1)));
        assert_eq!("200/min".parse::<RateLimit>().unwrap().window, Duration::from_secs(60));
        let rl: RateLimit = "5/500ms,retry-after,reset-precision=s".parse().unwrap();
        assert_eq!((rl.limit, rl.window, rl.retry_after, rl.reset_precision), (5, Duration::from_millis(500), true, ResetPrecision::Seconds));
        let rl: RateLimit = "100/s,start=first-request,reset-precision=us,reset-skew=1s,skew-seed=7".parse().unwrap();
        let want = RateLimit::new(100, Duration::from_secs(1))
            .with_window_start(WindowStart::FirstRequest)
            .with_reset_precision(ResetPrecision::Micros)
            .with_reset_skew(Duration::from_secs(1));
        assert_eq!(rl, RateLimit { skew_seed: 7, ..want });
        assert_eq!("1/h,start=aligned".parse::<RateLimit>().unwrap().window_start, WindowStart::Aligned);
        for bad in ["", "100", "0/s", "x/s", "5/0s", "5/s,nope", "5/s,start=later", "5/s,reset-skew=soon", "5/s,reset-precision=ns"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_headers() {
        assert_eq!(format_retry_after(Duration::from_secs(2)), "2");
        assert_eq!(format_retry_after(Duration::from_millis(200)), "0.2");
        assert_eq!(format_retry_after(Duration::from_millis(1250)), "1.25");
        let t = DateTime::parse_from_rfc3339("2023-10-11T12:34:56.789123Z").unwrap().with_timezone(&Utc);
        assert_eq!(ResetPrecision::Minutes.format(t), "2023-10-11T12:34Z");
        assert_eq!(ResetPrecision::Seconds.format(t), "2023-10-11T12:34:56Z");
        assert_eq!(ResetPrecision::Millis.format(t), "2023-10-11T12:34:56.789Z");
        assert_eq!(ResetPrecision::Micros.format(t), "2023-10-11T12:34:56.789123Z");
        assert_eq!(ResetPrecision::Minutes.format(floor_minute(t)), "2023-10-11T12:34Z");
    }
}
