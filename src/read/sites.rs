//! The sites: the workspaces list, read first when a planned stream joins to it (activity,
//! seats per site, the roles a group grants per site) or its own stream is configured, whose
//! records are then written as the sites are read.

use serde_json::json;
use tokio::sync::mpsc;

use super::error::ReadError;
use super::plan::{Entry, PlanInput, Planned};
use super::Reader;
use crate::client::managed::SiteJoin;
use crate::client::models::ApiWorkspace;
use crate::client::pagination::PageResult;
use crate::json::RawJson;
use crate::protocol::now_ms;
use crate::streams::workspaces::WorkspaceIndex;
use crate::streams::{Stream, StreamId};

/// The stream of the sites: how a workspace becomes its record.
pub trait SitesStream: Stream {
    fn write(org_id: &str, w: &ApiWorkspace, out: &mut Vec<u8>);
}

impl Entry {
    /// The stream of the sites, `S`.
    pub const fn sites<S: SitesStream>() -> Entry {
        Entry { id: S::ID, plan: plan::<S>, probe: None }
    }
}

fn plan<S: SitesStream>(input: &mut PlanInput) -> Result<Option<Planned>, ReadError> {
    let emit = input.catalog.get(S::ID.name()).is_some();
    Ok(Some(Planned::Sites(SitesPlan { stream: S::ID, write: S::write, emit })))
}

/// The sites' stream in a plan: planned whether configured or not, as other streams may need
/// the sites.
pub struct SitesPlan {
    pub stream: StreamId,
    write: fn(&str, &ApiWorkspace, &mut Vec<u8>),
    /// The stream is configured: its records are written.
    pub emit: bool,
}

/// One product site as the workspaces list describes it.
#[derive(Debug, Clone)]
pub struct Site {
    pub workspace_id: String,
    pub name: Option<String>,
    /// `CHILD` for a sandbox copy of another site.
    pub sandbox_type: Option<String>,
    pub status: Option<String>,
}

/// What the rest of the read needs from the workspaces.
#[derive(Debug, Default)]
pub struct Sites {
    pub index: WorkspaceIndex,
    pub list: Vec<Site>,
    /// By site URL and product: for the managed accounts' activity.
    pub join: SiteJoin,
}

impl Reader<'_, '_> {
    /// Reads every workspace page; writes the records when the sites' stream is configured.
    pub(super) async fn read_sites(&mut self, mut pages: mpsc::Receiver<PageResult<ApiWorkspace>>, plan: &SitesPlan) -> Result<Sites, ReadError> {
        let stream = plan.stream;
        let org_id = self.client.org_id().to_string();
        let mut sites = Sites::default();
        let mut scratch = Vec::new();
        while let Some(page) = self.wait(stream, pages.recv()).await? {
            let page = page.map_err(|e| ReadError::api(stream, e))?;
            if let (None, Some(total), true) = (page.cursor.as_ref(), page.total, plan.emit) {
                self.writer.estimate(stream, total)?;
            }
            let emitted_at = now_ms();
            let mut unit = self.writer.unit(());
            for w in &page.items {
                sites.index.add(w);
                sites.join.add(w);
                let a = &w.attributes;
                let sandbox_type = a.sandbox.as_ref().and_then(|s| s.kind.clone());
                sites.list.push(Site { workspace_id: w.id.clone(), name: a.name.clone(), sandbox_type, status: a.status.clone() });
                if plan.emit {
                    scratch.clear();
                    (plan.write)(&org_id, w, &mut scratch);
                    unit.record(stream, &RawJson(&scratch), emitted_at)?;
                }
            }
            unit.done();
        }
        self.writer.info(&format!("Fetched {} workspaces", sites.index.len()))?;
        if plan.emit {
            self.writer.complete(stream, &json!({}))?;
        }
        Ok(sites)
    }
}
