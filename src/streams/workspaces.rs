//! `workspaces`: the organization's product instances (sites), and the index that joins
//! activity to them.

use std::collections::HashMap;

use super::{Stream, StreamInfo};
use crate::client::endpoints;
use crate::client::models::ApiWorkspace;
use crate::json::{json_record, WriteJson};
use crate::read::sites::SitesStream;
use crate::time;

pub struct Workspaces;

impl Stream for Workspaces {
    const INFO: StreamInfo = StreamInfo {
        name: "workspaces",
        schema: include_str!("../../schemas/workspaces.json"),
        primary_key: &["id"],
        cursor_field: None,
        summary: "the product sites the organization pays for, with plan and seat capacity",
        reads: &[endpoints::WORKSPACES],
        ..StreamInfo::DEFAULT
    };
}

json_record! {
    /// A product instance (site), with its plan and seat capacity.
    #[derive(Debug)]
    pub struct WorkspaceRecord<'a> {
        pub org_id: &'a str,
        pub id: &'a str,
        pub name: Option<&'a str>,
        pub type_key: Option<&'a str>,
        pub kind as "type": Option<&'a str>,
        pub status: Option<&'a str>,
        pub host_url: Option<&'a str>,
        pub capacity: Option<i64>,
        pub usage: Option<i64>,
        pub plan: Option<&'a str>,
        pub plan_key: Option<&'a str>,
        pub entitlement_key: Option<&'a str>,
        pub sandbox_type: Option<&'a str>,
        pub created_at: Option<String>,
        pub realm: Option<&'a str>,
        pub regions: Option<&'a serde_json::Value>,
        pub labels: Option<&'a serde_json::Value>,
    }
}

impl SitesStream for Workspaces {
    fn write(org_id: &str, w: &ApiWorkspace, out: &mut Vec<u8>) {
        record(org_id, w).write_json(out);
    }
}

pub fn record<'a>(org_id: &'a str, w: &'a ApiWorkspace) -> WorkspaceRecord<'a> {
    let a = &w.attributes;
    let entitlement = w.relationships.entitlement.first().map(|e| &e.attributes);
    WorkspaceRecord {
        org_id,
        id: &w.id,
        name: a.name.as_deref(),
        type_key: a.type_key.as_deref(),
        kind: a.kind.as_deref(),
        status: a.status.as_deref(),
        host_url: a.host_url.as_deref(),
        capacity: a.capacity,
        usage: a.usage,
        plan: entitlement.and_then(|e| e.plan.as_deref()),
        plan_key: entitlement.and_then(|e| e.plan_key.as_deref()),
        entitlement_key: entitlement.and_then(|e| e.key.as_deref()),
        sandbox_type: a.sandbox.as_ref().and_then(|s| s.kind.as_deref()),
        created_at: time::normalize(a.created_at.as_deref()),
        realm: a.realm.as_deref(),
        regions: a.regions.as_ref().filter(|v| v.is_array()),
        labels: a.labels.as_ref().filter(|v| v.is_array()),
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
