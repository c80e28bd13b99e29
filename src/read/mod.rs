//! The read: configured streams in, RECORD / STATE / TRACE / LOG messages out.
//!
//! [`plan::Plan`] decides once, before any request, what each stream does: a list built from
//! the registry. Then the sites are read when a planned stream joins to them ([`sites`]), while
//! the users pass is already opening; then the users pass ([`users_pass`]); then every other
//! planned stream in the registry's order on the one driver ([`driver`]), by its kind
//! ([`paged`], [`partitioned`], [`log`]), each failing alone on a config error. Pages come from
//! producer tasks in `client/`, so the next request is in flight while this loop writes.
//! Everything goes out through the one [`writer::Writer`]; notices from the client (retries,
//! rate-limit waits) are written while a page is awaited ([`Reader::wait`]).

mod cadence;
pub mod driver;
pub mod error;
pub mod log;
pub mod paged;
pub mod partitioned;
pub mod plan;
mod records;
pub mod sites;
pub mod users_pass;
pub mod writer;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::catalog::ConfiguredCatalog;
use crate::client::managed::sites_channel;
use crate::client::pagination;
use crate::client::{AtlassianClient, Notice};
use crate::config::{ActivitySource, Config};
use crate::protocol::Output;
use crate::state::StateInput;
use crate::streams::{self, StreamId};
use driver::{Context, Driven};
pub use error::ReadError;
use plan::{Plan, Planned};
use sites::SitesPlan;
use users_pass::{PassPlan, UserPages};
use writer::Writer;

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// An ERROR trace says why.
    Failed,
    /// Stopped by a signal; the exit code a shell gives a process it stopped.
    Interrupted { exit_code: u8 },
}

/// Runs the read of `catalog` from `state`. Every failure is written as an ERROR trace.
pub async fn run(out: &mut Output, config: &Config, catalog: ConfiguredCatalog, state: StateInput) -> std::io::Result<Outcome> {
    let (tx, notices) = mpsc::unbounded_channel();
    let prepared = AtlassianClient::new(config)
        .map_err(ReadError::from)
        .and_then(|client| Ok((client, Plan::decide(&catalog, &state, Utc::now())?)));
    let (client, plan) = match prepared {
        Ok(p) => p,
        Err(e) => {
            out.error_trace(&format!("{:#}", e.source), None, e.failure_type, e.stream.map(StreamId::name))?;
            return Ok(Outcome::Failed);
        }
    };
    let mut writer = Writer::new(out, &plan.streams);
    let ended = {
        let mut reader = Reader {
            writer: &mut writer,
            client: Arc::new(client.with_notices(tx)),
            notices,
            configured: plan.streams.clone(),
            pass_stream: users_pass::reported_against(&plan.streams),
            settings: Settings::from(config),
            only_managed: false,
            failed_alone: false,
        };
        tokio::select! {
            result = reader.read(plan) => match result {
                Ok(()) if reader.failed_alone => Some((None, Outcome::Failed)),
                Ok(()) => None,
                Err(e) => Some((Some(e), Outcome::Failed)),
            },
            signal = interrupted() => Some((Some(ReadError::interrupted(signal.name)), Outcome::Interrupted { exit_code: signal.exit_code })),
        }
    };
    // The read is dropped: requests in flight are cancelled, the progress bar ended its line.
    match ended {
        None => {
            writer.flush()?;
            Ok(Outcome::Done)
        }
        Some((None, outcome)) => {
            writer.flush()?;
            Ok(outcome)
        }
        Some((Some(error), outcome)) => {
            writer.fail(&error)?;
            Ok(outcome)
        }
    }
}

/// What the read takes from the config beyond the client's settings.
#[derive(Debug, Clone, Copy)]
struct Settings {
    checkpoint_interval: u64,
    activity_source: ActivitySource,
    max_concurrency: usize,
    /// `user_activity` older than this is never emitted.
    start_date: Option<DateTime<Utc>>,
}

impl From<&Config> for Settings {
    fn from(config: &Config) -> Self {
        Settings {
            checkpoint_interval: u64::from(config.checkpoint_interval_pages.max(1)),
            activity_source: config.activity_source,
            max_concurrency: config.max_concurrency,
            start_date: config.start_date,
        }
    }
}

/// A read in progress: the writer, the client, and the client's notices to pass on.
pub struct Reader<'w, 'o> {
    writer: &'w mut Writer<'o>,
    client: Arc<AtlassianClient>,
    notices: mpsc::UnboundedReceiver<Notice>,
    /// The configured streams, in catalog order.
    configured: Vec<StreamId>,
    /// The stream a users-search failure is reported against.
    pass_stream: StreamId,
    settings: Settings,
    /// The users search is refused: the pass saw the managed accounts alone.
    only_managed: bool,
    /// A stream failed alone (its ERROR trace is written): the read ends failed.
    failed_alone: bool,
}

impl Reader<'_, '_> {
    async fn read(&mut self, plan: Plan) -> Result<(), ReadError> {
        for warning in &plan.warnings {
            self.writer.warn(warning)?;
        }
        self.writer.started()?;
        let reads_sites = plan.reads_sites();
        let (mut sites_plan, mut members, mut alone) = (None::<SitesPlan>, Vec::new(), Vec::<Box<dyn Driven>>::new());
        for planned in plan.planned {
            match planned {
                Planned::Sites(s) => sites_plan = Some(s),
                Planned::Pass(m) => members.push(m),
                Planned::Alone(d) => alone.push(d),
            }
        }
        let pass = PassPlan::new(members);
        let client = self.client.clone();
        let found = self.wait(self.pass_stream, client.find_org()).await?;
        if let Some(org) = found.map_err(ReadError::from)? {
            self.writer.info(&format!("org_id is not set: the API key lists one organization, {}, which is read", org.label()))?;
        }
        // The users pass opens (its first page settles its activity source) and counts its
        // users while the sites are read; it joins managed accounts' activity to them once
        // they are (`sites`).
        let (sites_tx, sites_rx) = sites_channel();
        let opened = pass.runs().then(|| {
            let start = pass.start();
            let client = self.client.clone();
            let Settings { activity_source, max_concurrency, .. } = self.settings;
            let cursor = start.as_ref().map(|p| p.next_page.clone());
            let opening = tokio::spawn(UserPages::open(client.clone(), activity_source, max_concurrency, cursor, sites_rx));
            let count = tokio::spawn(async move { client.users_count().await });
            (start, opening, count)
        });
        let mut sites = match sites_plan.as_ref().filter(|_| reads_sites) {
            Some(plan) => self.read_sites(pagination::workspaces(self.client.clone()), plan).await?,
            None => Default::default(),
        };
        let _ = sites_tx.send(Arc::new(std::mem::take(&mut sites.join)));
        match opened {
            Some((start, opening, count)) => self.users_pass(pass, start, opening, count, &sites.index).await?,
            None => self.finish_pass(pass, Utc::now())?,
        }
        let org_id = self.client.org_id().to_string();
        let ctx = Context { org_id: &org_id, sites: &sites };
        for stream in alone {
            let result = stream.read(self, &ctx).await;
            self.alone(result)?;
        }
        Ok(())
    }

    /// Awaits `future`, writing the client's notices (retries, rate-limit waits) meanwhile;
    /// `reading` is the stream the read is busy with.
    async fn wait<T>(&mut self, reading: StreamId, future: impl Future<Output = T>) -> Result<T, ReadError> {
        tokio::pin!(future);
        loop {
            tokio::select! {
                biased;
                Some(notice) = self.notices.recv() => self.write_notice(reading, notice)?,
                value = &mut future => return Ok(value),
            }
        }
    }

    /// A notice is reported against the stream whose request it is about
    /// ([`streams::reading_endpoint`]): users-search pages are fetched while the workspaces
    /// are still being read.
    fn write_notice(&mut self, reading: StreamId, notice: Notice) -> Result<(), ReadError> {
        let stream = streams::reading_endpoint(reading, notice.endpoint, &self.configured);
        if let Some(pause) = notice.pause {
            self.writer.rate_limited(stream, pause)?;
        }
        self.writer.warn(&notice.message)
    }
}

/// A signal that stops a read, and the exit code a shell gives a process it stopped.
struct Interruption {
    name: &'static str,
    exit_code: u8,
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM (what a platform sends to cancel a sync).
async fn interrupted() -> Interruption {
    let sigint = Interruption { name: "SIGINT, Ctrl-C", exit_code: 130 };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => sigint,
                _ = term.recv() => Interruption { name: "SIGTERM", exit_code: 143 },
            };
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => sigint,
        Err(_) => std::future::pending().await,
    }
}
