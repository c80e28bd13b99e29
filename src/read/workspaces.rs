//! `workspaces`: the product sites, read first — activity is joined to them and their seats
//! are read — and emitted when the stream is configured.

use std::io::Write;

use serde_json::json;
use tokio::sync::mpsc;

use super::error::ReadError;
use super::Reader;
use crate::client::pagination::PageResult;
use crate::client::managed::SiteJoin;
use crate::client::models::ApiWorkspace;
use crate::protocol::now_ms;
use crate::streams::workspaces::{self, WorkspaceIndex};
use crate::streams::{license_assignments, StreamId};

/// One product site as the workspaces list describes it, and whether its seats are read.
#[derive(Debug, Clone)]
pub struct Site {
    pub workspace_id: String,
    pub name: Option<String>,
    /// Why the site is not searched for seats (`None` = it is).
    pub skip: Option<&'static str>,
}

/// What the rest of the read needs from the workspaces.
#[derive(Debug, Default)]
pub struct Sites {
    pub index: WorkspaceIndex,
    pub list: Vec<Site>,
    /// By site URL and product: for the managed accounts' activity.
    pub join: SiteJoin,
}

impl<W: Write> Reader<'_, '_, W> {
    /// Reads every workspace page; emits the records when `emit` (the stream is configured).
    pub(super) async fn read_workspaces(&mut self, mut pages: mpsc::Receiver<PageResult<ApiWorkspace>>, emit: bool) -> Result<Sites, ReadError> {
        let stream = StreamId::Workspaces;
        let org_id = self.client.org_id().to_string();
        let mut sites = Sites::default();
        while let Some(page) = self.wait(stream, pages.recv()).await? {
            let page = page.map_err(|e| ReadError::api(stream, e))?;
            if let (None, Some(total), true) = (page.cursor.as_ref(), page.total, emit) {
                self.writer.estimate(stream, total)?;
            }
            let emitted_at = now_ms();
            let mut unit = self.writer.unit(());
            for w in &page.items {
                sites.index.add(w);
                sites.join.add(w);
                let a = &w.attributes;
                let skip = license_assignments::skip_reason(a.sandbox.as_ref().and_then(|s| s.kind.as_deref()), a.status.as_deref());
                sites.list.push(Site { workspace_id: w.id.clone(), name: a.name.clone(), skip });
                if emit {
                    unit.record(stream, &workspaces::record(&org_id, w), emitted_at)?;
                }
            }
            unit.done();
        }
        self.writer.info(&format!("Fetched {} workspaces", sites.index.len()))?;
        if emit {
            self.writer.complete(stream, &json!({}))?;
        }
        Ok(sites)
    }
}
