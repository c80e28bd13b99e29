//! The sites: the workspaces list, read first when a planned stream joins to it (activity,
//! seats per site, the roles a group grants per site) or its own stream is configured, whose
//! records are then written as the sites are read.

use std::collections::HashMap;

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

/// What an activity record borrows from its workspace.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    pub workspace_id: String,
    pub site_url: Option<String>,
    pub name: Option<String>,
}

/// Workspaces by id, and by the id's last ARI segment (`.../site/<uuid>`), so a product
/// instance id in another ARI form still finds its site. Products on one site share that
/// segment, so a segment seen twice is ambiguous and never used. Small: one entry per site.
#[derive(Debug, Default)]
pub struct WorkspaceIndex {
    by_id: HashMap<String, SiteInfo>,
    by_tail: HashMap<String, Option<SiteInfo>>,
}

fn ari_tail(id: &str) -> &str {
    id.rsplit(['/', ':']).next().unwrap_or(id)
}

impl WorkspaceIndex {
    pub fn add(&mut self, w: &ApiWorkspace) {
        let info = SiteInfo {
            workspace_id: w.id.clone(),
            site_url: w.attributes.host_url.clone(),
            name: w.attributes.name.clone(),
        };
        self.by_tail
            .entry(ari_tail(&w.id).to_string())
            .and_modify(|seen| *seen = None)
            .or_insert_with(|| Some(info.clone()));
        self.by_id.insert(w.id.clone(), info);
    }

    pub fn lookup(&self, product_id: &str) -> Option<&SiteInfo> {
        self.by_id.get(product_id).or_else(|| self.by_tail.get(ari_tail(product_id))?.as_ref())
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(id: &str, url: &str) -> ApiWorkspace {
        serde_json::from_value(serde_json::json!({"id": id, "attributes": {"hostUrl": url}})).unwrap()
    }

    #[test]
    fn joins_exact_ids_and_unambiguous_tails_only() {
        let mut idx = WorkspaceIndex::default();
        idx.add(&ws("ari:cloud:jira-software::site/A", "https://a"));
        idx.add(&ws("ari:cloud:confluence::site/A", "https://a"));
        idx.add(&ws("ari:cloud:bitbucket::workspace/B", "https://b"));
        assert_eq!(idx.lookup("ari:cloud:confluence::site/A").unwrap().workspace_id, "ari:cloud:confluence::site/A");
        assert!(idx.lookup("ari:cloud:jira::site/A").is_none(), "two products share site A: ambiguous");
        assert_eq!(idx.lookup("B").unwrap().site_url.as_deref(), Some("https://b"));
        assert!(idx.lookup("C").is_none());
    }
}
