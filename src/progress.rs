//! A progress bar on stderr for a person watching a long read in a terminal. It draws only when
//! stderr is a terminal, never in a pipeline, and never touches stdout.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(200);
const WIDTH: usize = 30;

pub struct ProgressBar {
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
}

impl ProgressBar {
    pub fn new() -> Self {
        ProgressBar { enabled: std::io::stderr().is_terminal(), started: Instant::now(), last_draw: None }
    }

    /// Redraws (at most five times a second) with `done` of `total` users.
    pub fn update(&mut self, done: u64, total: Option<u64>, records: u64) {
        if !self.enabled || self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let elapsed = self.started.elapsed().as_secs_f64();
        let line = match total.filter(|t| *t > 0) {
            Some(total) => {
                let frac = (done as f64 / total as f64).min(1.0);
                let filled = (frac * WIDTH as f64) as usize;
                format!(
                    "\r[{}{}] {:>3.0}%  {done}/{total} users, {records} records, {elapsed:.0} s ",
                    "#".repeat(filled),
                    ".".repeat(WIDTH - filled),
                    frac * 100.0
                )
            }
            None => format!("\r{done} users, {records} records, {elapsed:.0} s "),
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    /// Ends the bar's line, so what follows (or the shell prompt) starts on a fresh one.
    pub fn finish(&mut self) {
        if self.enabled && self.last_draw.take().is_some() {
            let _ = std::io::stderr().write_all(b"\n");
        }
    }
}

/// A read that is cancelled (Ctrl-C, SIGTERM) or fails leaves the terminal on a fresh line too.
impl Drop for ProgressBar {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Default for ProgressBar {
    fn default() -> Self {
        Self::new()
    }
}
