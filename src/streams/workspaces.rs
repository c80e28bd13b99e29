//! `workspaces`: the organization's product instances (sites), and the index that joins
//! activity to them.

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
