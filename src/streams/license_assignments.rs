//! `license_assignments`: one record per product site and user holding a billable (seat
//! consuming) role there, from the v2 users search filtered by `resourceIds` + `roleIds`: one
//! search per site and billable role (a partition), sandbox and offline sites skipped.
//! Incremental by partitioned change detection ([`crate::incremental::licenses`]).

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Stream, StreamInfo};
use crate::client::models::ApiAccount;
use crate::client::pagination::{self, PageResult};
use crate::client::{endpoints, AtlassianClient};
use crate::json::{json_record, WriteJson};
use crate::read::partitioned::{Partition, PartitionedStream};
use crate::read::sites::Site;

pub struct LicenseAssignments;

impl Stream for LicenseAssignments {
    const INFO: StreamInfo = StreamInfo {
        name: "license_assignments",
        schema: include_str!("../../schemas/license_assignments.json"),
        primary_key: &["workspace_id", "account_id", "role"],
        cursor_field: Some("observed_at"),
        summary: "who holds a billable seat on which site",
        reads: &[endpoints::WORKSPACES, endpoints::USERS_SEARCH],
        needs_sites: true,
        ..StreamInfo::DEFAULT
    };
}

/// The role ids that take a paid seat on a product site (see the API notes: `atlassian/user`
/// and `atlassian/admin`; customer, contributor, basic, stakeholder and guest do not).
pub const BILLABLE_ROLES: [&str; 2] = ["atlassian/user", "atlassian/admin"];

impl PartitionedStream for LicenseAssignments {
    type Item = ApiAccount;

    const WITHOUT_USERS_SEARCH: &'static str = "it needs the users search (POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search, one search per site and billable role), which answered 403 Forbidden for this API key. A key created with scopes needs the scope 'read:directories:admin' for it: create a key with that scope (or one without scopes) under admin.atlassian.com → Settings → API keys. users and user_activity were read for the managed accounts only";

    /// Each site's billable roles, but for sandbox and offline sites.
    fn partitions(sites: &[Site]) -> Vec<Result<Partition, String>> {
        let mut partitions = Vec::new();
        for site in sites {
            match skip_reason(site.sandbox_type.as_deref(), site.status.as_deref()) {
                Some(reason) => {
                    let label = site.name.as_deref().unwrap_or("(unnamed)");
                    partitions.push(Err(format!("skipping site '{label}' ({}): {reason}", site.workspace_id)));
                }
                None => partitions.extend(BILLABLE_ROLES.iter().map(|role| Ok((site.workspace_id.clone(), *role)))),
            }
        }
        partitions
    }

    fn pages(client: Arc<AtlassianClient>, (site, role): &Partition) -> mpsc::Receiver<PageResult<ApiAccount>> {
        pagination::users_with_role(client, site.clone(), role.to_string())
    }

    fn key(item: &ApiAccount) -> &str {
        &item.account_id
    }

    fn write(org_id: &str, (site, role): (&str, &str), account: &str, observed_at: &str, deleted: bool, out: &mut Vec<u8>) {
        let seat = record(org_id, site, account, role, observed_at);
        AssignmentRecord { deleted_at: deleted.then_some(observed_at), ..seat }.write_json(out);
    }

    fn summary(searches: u64, seats: u64) -> String {
        format!("{searches} site/role searches, {seats} billable seats")
    }

    fn partitions_gone(seats: usize) -> String {
        format!("{seats} seats are on sites no longer read: emitting deletion records")
    }
}

json_record! {
    /// One seat, or (with `deleted_at` set) the removal of one.
    #[derive(Debug)]
    pub struct AssignmentRecord<'a> {
        pub org_id: &'a str,
        pub workspace_id: &'a str,
        pub account_id: &'a str,
        pub role: &'a str,
        pub billable: bool,
        pub observed_at: &'a str,
        pub deleted_at as "_ab_cdc_deleted_at": Option<&'a str>,
    }
}

pub fn record<'a>(org_id: &'a str, workspace_id: &'a str, account_id: &'a str, role: &'a str, observed_at: &'a str) -> AssignmentRecord<'a> {
    AssignmentRecord { org_id, workspace_id, account_id, role, billable: true, observed_at, deleted_at: None }
}

/// The record of a seat that is gone: destinations in dedup mode delete (or flag) the row.
pub fn deletion<'a>(org_id: &'a str, workspace_id: &'a str, account_id: &'a str, role: &'a str, now: &'a str) -> AssignmentRecord<'a> {
    AssignmentRecord { deleted_at: Some(now), ..record(org_id, workspace_id, account_id, role, now) }
}

/// Why a workspace is not searched for seats, if it is not: a sandbox copy of another site
/// (`sandbox.type` = `CHILD`) holds no paid seats, and an offline site serves no one.
pub fn skip_reason(sandbox_type: Option<&str>, status: Option<&str>) -> Option<&'static str> {
    if sandbox_type.is_some_and(|t| t.eq_ignore_ascii_case("CHILD")) {
        Some("a sandbox site")
    } else if status.is_some_and(|s| s.eq_ignore_ascii_case("offline")) {
        Some("offline")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandboxes_and_offline_sites_are_skipped() {
        assert_eq!(skip_reason(Some("CHILD"), Some("online")), Some("a sandbox site"));
        assert_eq!(skip_reason(Some("NONE"), Some("offline")), Some("offline"));
        assert_eq!(skip_reason(Some("NONE"), Some("deprecated")), None);
        assert_eq!(skip_reason(None, None), None);
    }

    #[test]
    fn a_seat_record_omits_the_deletion_field_and_a_deletion_sets_it() {
        let json = |r: AssignmentRecord| -> serde_json::Value {
            let mut out = Vec::new();
            crate::json::WriteJson::write_json(&r, &mut out);
            serde_json::from_slice(&out).unwrap()
        };
        let seat = json(record("o", "w", "a", "atlassian/user", "t"));
        assert_eq!(seat["billable"], true);
        assert!(seat["_ab_cdc_deleted_at"].is_null());
        let gone = json(deletion("o", "w", "a", "atlassian/user", "t"));
        assert_eq!(gone["_ab_cdc_deleted_at"], "t");
    }
}
