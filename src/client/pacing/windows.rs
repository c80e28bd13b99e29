//! The rate-limit windows as the pacer sees them: which window a response was counted in
//! (by its `remaining`, the order requests were sent in, and a reset every response of the
//! window agreed on), what the windows seen so far tell about their length, and the
//! `X-RateLimit-Reset` header with its precision.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

pub(super) type Time = DateTime<Utc>;
pub(super) type Span = chrono::Duration;

pub(super) fn ms(n: i64) -> Span {
    Span::milliseconds(n)
}

/// Resets this close together are the same instant (rounding of the written form).
pub(super) const SAME_RESET_MS: i64 = 2;
/// Reset offsets kept for their median.
pub(super) const OFFSETS: usize = 64;
/// Spans between window openings kept for their median.
pub(super) const SPANS: usize = 9;

/// An `X-RateLimit-Reset`: the instant written, and how finely (the true reset lies within
/// `precision` after it: coarse forms are truncated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Reset {
    pub(super) at: Time,
    pub(super) precision: Span,
}

/// The rate-limit window the latest responses were counted in.
#[derive(Debug, Clone)]
pub(super) struct Window {
    /// When the earliest request known to be counted in it was sent.
    pub(super) opened: Time,
    /// The highest remaining it reported (that earliest request's).
    pub(super) top: u64,
    /// The lowest remaining it reported, and when that request was sent.
    pub(super) remaining: u64,
    pub(super) low_sent: Time,
    /// The latest send time of a request counted in it.
    pub(super) last_sent: Time,
    /// The earliest and latest usable reset it reported, and the coarsest precision.
    pub(super) resets: Option<(Time, Time, Span)>,
    /// When the first request answered "used up" (remaining 0, or 429) was sent.
    pub(super) used_up: Option<Time>,
    /// It opened right after a (nearly) used-up window, with requests waiting: its opening is
    /// where it began (a window seen first may have begun long before).
    pub(super) prompt: bool,
    /// The lowest remaining of the window before it.
    pub(super) before: Option<u64>,
}

/// What the windows seen so far tell about their length W.
#[derive(Debug, Default)]
pub(super) struct Learned {
    /// Longest span from a window's opening to a request still counted in it: W is longer.
    pub(super) lower: Option<Span>,
    /// Spans between the openings of (nearly) used-up windows and the next, the traffic
    /// running on to their end: W is at most one (a window opens at the first request after
    /// the previous one), or about one (a window on the clock); their median is its estimate.
    pub(super) spans: VecDeque<Span>,
    /// Usable resets relative to their window's opening (for resets that jitter).
    pub(super) offsets: VecDeque<Span>,
    /// Responses of one window reported different resets: no single reset is to be trusted.
    pub(super) jitter: bool,
}

#[derive(Debug, PartialEq)]
pub(super) enum Membership {
    Same,
    Newer,
    Older,
}

impl Learned {
    /// W as learned: about the median span (at least `lower`), when the two agree well
    /// enough (a first transition after a long idle time says little).
    pub(super) fn length(&self) -> Option<Span> {
        let upper = median(&self.spans)?;
        match self.lower {
            Some(lower) if upper > lower * 4 + ms(50) => None,
            Some(lower) => Some(upper.max(lower)),
            None => Some(upper),
        }
    }

    pub(super) fn median_offset(&self) -> Option<Span> {
        median(&self.offsets)
    }

    pub(super) fn counted(&mut self, since_opened: Span) {
        self.lower = Some(self.lower.map_or(since_opened, |l| l.max(since_opened)));
    }
}

impl Window {
    pub(super) fn new(remaining: u64, sent: Time) -> Self {
        Window { opened: sent, top: remaining, remaining, low_sent: sent, last_sent: sent, resets: None, used_up: None, prompt: false, before: None }
    }

    /// The reset, when every response of the window reported the same instant.
    pub(super) fn agreed_reset(&self) -> Option<(Time, Span)> {
        let (lo, hi, precision) = self.resets?;
        (hi - lo <= ms(SAME_RESET_MS)).then_some((hi, precision))
    }

    /// Where a response sent at `sent` with `remaining` belongs.
    pub(super) fn classify(&self, remaining: u64, sent: Time, reset: Option<Reset>, trusted: bool, tolerance: Span, out_of_order: u64) -> Membership {
        // Resets to the millisecond that every response so far agreed on tell the window: the
        // same reset, the same window; an earlier one, an earlier window; a later one with a
        // higher count, the next. (A coarser reset may be the next window's too.)
        if let (Some(r), Some((at, precision)), true) = (reset, self.agreed_reset(), trusted) {
            if precision <= ms(1) && r.precision <= ms(1) {
                if (r.at - at).abs() <= ms(SAME_RESET_MS) {
                    return Membership::Same;
                }
                if r.at < at {
                    return Membership::Older;
                }
                if remaining > self.remaining {
                    return Membership::Newer;
                }
            }
        }
        // Sent before its opening: counted in it if the count is above what the window before
        // could still have said (answers of one window come back out of order by so many).
        if sent < self.opened {
            let earlier = remaining > self.top || self.before.is_some_and(|b| remaining > b + out_of_order);
            return if earlier { Membership::Same } else { Membership::Older };
        }
        // In one window a request sent later is counted later: a higher count means a new one.
        if remaining > self.remaining && (sent > self.low_sent + tolerance || remaining > self.remaining + out_of_order) {
            Membership::Newer
        } else {
            Membership::Same
        }
    }

    pub(super) fn add(&mut self, remaining: u64, sent: Time) {
        if sent < self.opened {
            self.opened = sent;
            self.top = remaining;
        }
        self.top = self.top.max(remaining);
        if remaining < self.remaining || (remaining == self.remaining && sent > self.low_sent) {
            self.remaining = remaining;
            self.low_sent = sent;
        }
        self.last_sent = self.last_sent.max(sent);
    }

    pub(super) fn add_reset(&mut self, r: Reset) {
        self.resets = Some(match self.resets {
            None => (r.at, r.at, r.precision),
            Some((lo, hi, p)) => (lo.min(r.at), hi.max(r.at), p.max(r.precision)),
        });
    }
}

pub(super) fn median(v: &VecDeque<Span>) -> Option<Span> {
    let mut sorted: Vec<Span> = v.iter().copied().collect();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

pub(super) fn push_capped(v: &mut VecDeque<Span>, x: Span, cap: usize) {
    v.push_back(x);
    if v.len() > cap {
        v.pop_front();
    }
}

/// `X-RateLimit-Reset` and how finely it is written: the digits after the seconds (or their
/// absence: whole seconds; no seconds at all: the minute).
pub(super) fn parse_reset_precision(text: &str) -> Option<Reset> {
    let t = text.trim();
    let decimals = |s: &str| s.split_once('.').map_or(0, |(_, f)| f.bytes().take_while(u8::is_ascii_digit).count());
    let unit = |digits: usize| Span::nanoseconds(10i64.pow(9 - digits.min(9) as u32));
    if let Some(at) = crate::time::parse_lenient(t) {
        let time = t.split_once(['T', 't', ' ']).map_or("", |(_, time)| time);
        let colons = time.bytes().take_while(|b| !matches!(b, b'Z' | b'z' | b'+' | b'-')).filter(|b| *b == b':').count();
        let precision = match (t.contains(['T', 't', ' ']), colons) {
            (false, _) => Span::days(1),
            (true, 0 | 1) => Span::minutes(1),
            _ => unit(decimals(time)),
        };
        return Some(Reset { at, precision });
    }
    let secs: f64 = t.parse().ok().filter(|s: &f64| s.is_finite() && *s > 1e9 && *s < 1e11)?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64).map(|at| Reset { at, precision: unit(decimals(t)) })
}
