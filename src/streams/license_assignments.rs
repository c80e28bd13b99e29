//! `license_assignments`: one record per product site and user holding a billable (seat
//! consuming) role there, from the v2 users search filtered by `resourceIds` + `roleIds`.
//! The incremental bookkeeping lives in [`crate::incremental::licenses`].

use super::{StreamId, StreamInfo};
use crate::client::Endpoint;
use crate::json::json_record;

pub const INFO: StreamInfo = StreamInfo {
    id: StreamId::LicenseAssignments,
    name: "license_assignments",
    schema: include_str!("../../schemas/license_assignments.json"),
    primary_key: &["workspace_id", "account_id", "role"],
    cursor_field: Some("observed_at"),
    summary: "who holds a billable seat on which site",
    reads: &[Endpoint::Workspaces, Endpoint::UsersSearch],
};

/// The role ids that take a paid seat on a product site (see the API notes: `atlassian/user`
/// and `atlassian/admin`; customer, contributor, basic, stakeholder and guest do not).
pub const BILLABLE_ROLES: [&str; 2] = ["atlassian/user", "atlassian/admin"];

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
