//! `user_activity`: one record per user and product instance, taken from the `productAccess`
//! of the same users-search pages (no extra requests) and joined to the workspaces; in
//! incremental mode, a deletion record for each pair that is gone.

use chrono::{DateTime, Utc};

use crate::read::sites::WorkspaceIndex;
use super::{Stream, StreamInfo};
use crate::client::endpoints;
use crate::client::models::{ApiUser, Text};
use crate::json::json_record;
use crate::time;

pub struct UserActivity;

impl Stream for UserActivity {
    const INFO: StreamInfo = StreamInfo {
        name: "user_activity",
        schema: include_str!("../../schemas/user_activity.json"),
        primary_key: &["account_id", "product_id"],
        cursor_field: Some("observed_at"),
        summary: "each user's last activity per product site, joined to the workspaces",
        reads: &[endpoints::USERS_SEARCH, endpoints::USERS_COUNT, endpoints::MANAGED_USERS, endpoints::LAST_ACTIVE_DATES, endpoints::WORKSPACES],
        needs_sites: true,
        ..StreamInfo::DEFAULT
    };
}

json_record! {
    /// A user's last activity on one product instance (site).
    #[derive(Debug)]
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
    observed
}

json_record! {
    /// The record of a (user, site) pair that is gone — the user removed or suspended, access
    /// revoked, the site unlinked: destinations in dedup mode delete (or flag) the row.
    #[derive(Debug)]
    pub struct ActivityDeletion<'a> {
        pub org_id: &'a str,
        pub account_id: &'a str,
        pub product_id: &'a str,
        pub observed_at: &'a str,
        pub deleted_at as "_ab_cdc_deleted_at": &'a str,
    }
}

pub fn deletion<'a>(org_id: &'a str, account_id: &'a str, product_id: &'a str, now: &'a str) -> ActivityDeletion<'a> {
    ActivityDeletion { org_id, account_id, product_id, observed_at: now, deleted_at: now }
}

/// An activity record, and its `last_active` as an instant (for the `start_date` filter).
#[derive(Debug)]
pub struct ActivityEntry<'a> {
    pub record: ActivityRecord<'a>,
    pub last_active_at: Option<DateTime<Utc>>,
}

/// The user's activity records. Entries without a product id cannot be keyed and are
/// counted in `skipped` so the caller can say so.
pub fn records<'a>(org_id: &'a str, u: &'a ApiUser<'a>, sites: &'a WorkspaceIndex, skipped: &mut u64) -> Vec<ActivityEntry<'a>> {
    let mut out = Vec::new();
    for p in u.product_access.iter().flatten() {
        let Some(product_id) = p.id.as_ref().filter(|id| !id.is_empty()) else {
            *skipped += 1;
            continue;
        };
        let site = sites.lookup(product_id);
        let (last_active_at, last_active) = time::stamp(p.last_active_timestamp.as_deref()).unzip();
        out.push(ActivityEntry {
            record: ActivityRecord {
                org_id,
                account_id: &u.account_id,
                product_key: p.key.as_ref(),
                product_id,
                workspace_id: site.map(|s| s.workspace_id.as_str()),
                last_active,
                site_url: site.and_then(|s| s.site_url.as_deref()),
                workspace_name: site.and_then(|s| s.name.as_deref()),
                observed_at: None,
                deleted_at: None,
            },
            last_active_at,
        });
    }
    out
}
