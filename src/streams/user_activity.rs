//! `user_activity`: one record per user and product instance, taken from the `productAccess`
//! of the same users-search pages (no extra requests) and joined to the workspaces.

use serde::Serialize;

use super::workspaces::WorkspaceIndex;
use super::StreamInfo;
use crate::client::models::{ApiUser, Text};
use crate::json::{write_object, WriteJson};
use crate::time;

pub const INFO: StreamInfo = StreamInfo {
    name: "user_activity",
    schema: include_str!("../../schemas/user_activity.json"),
    primary_key: &["account_id", "product_id"],
    cursor_field: Some("last_active"),
};

#[derive(Debug, Serialize)]
pub struct ActivityRecord<'a> {
    pub org_id: &'a str,
    pub account_id: &'a Text<'a>,
    pub product_key: Option<&'a Text<'a>>,
    pub product_id: &'a Text<'a>,
    pub workspace_id: Option<&'a str>,
    pub last_active: Option<String>,
    pub site_url: Option<&'a str>,
    pub workspace_name: Option<&'a str>,
}

impl WriteJson for ActivityRecord<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_object!(out, {
            "org_id": self.org_id, "account_id": self.account_id, "product_key": self.product_key,
            "product_id": self.product_id, "workspace_id": self.workspace_id, "last_active": self.last_active,
            "site_url": self.site_url, "workspace_name": self.workspace_name,
        });
    }
}

/// The user's activity records. Entries without a product id cannot be keyed and are
/// counted in `skipped` so the caller can say so.
pub fn records<'a>(
    org_id: &'a str,
    u: &'a ApiUser<'a>,
    sites: &'a WorkspaceIndex,
    skipped: &mut u64,
) -> Vec<ActivityRecord<'a>> {
    let mut out = Vec::new();
    for p in u.product_access.iter().flatten() {
        let Some(product_id) = p.id.as_ref().filter(|id| !id.is_empty()) else {
            *skipped += 1;
            continue;
        };
        let site = sites.lookup(product_id);
        out.push(ActivityRecord {
            org_id,
            account_id: &u.account_id,
            product_key: p.key.as_ref(),
            product_id,
            workspace_id: site.map(|s| s.workspace_id.as_str()),
            last_active: time::normalize(p.last_active_timestamp.as_deref()),
            site_url: site.and_then(|s| s.site_url.as_deref()),
            workspace_name: site.and_then(|s| s.name.as_deref()),
        });
    }
    out
}
