//! `users`: one record per user of the directory, from the v2 users search.

use serde::Serialize;

use super::StreamInfo;
use crate::client::models::{ApiGroup, ApiUser};
use crate::time;

pub const INFO: StreamInfo = StreamInfo {
    name: "users",
    schema: include_str!("../../schemas/users.json"),
    primary_key: &["account_id"],
    cursor_field: Some("observed_at"),
};

/// The expand that carries activity; left out when activity comes from per-user requests.
pub const PRODUCT_ACCESS: &str = "productAccess";
/// The expands the users search is asked for: everything a `users` or `user_activity` record holds.
pub const EXPAND: [&str; 4] = [PRODUCT_ACCESS, "groups", "platformRoles", "counts.resources"];

#[derive(Debug, Serialize)]
pub struct UserRecord<'a> {
    pub org_id: &'a str,
    pub account_id: &'a str,
    pub account_type: Option<&'a str>,
    pub status: Option<&'a str>,
    pub account_status: Option<&'a str>,
    pub membership_status: Option<&'a str>,
    pub added_to_org: Option<String>,
    pub name: Option<&'a str>,
    pub nickname: Option<&'a str>,
    pub email: Option<&'a str>,
    pub email_verified: Option<bool>,
    pub claim_status: Option<&'a str>,
    pub platform_roles: Option<&'a [crate::client::models::Text]>,
    pub picture: Option<&'a str>,
    pub avatar: Option<&'a str>,
    pub management_source: Option<&'a str>,
    pub mfa_enabled: Option<bool>,
    pub job_title: Option<&'a str>,
    pub department: Option<&'a str>,
    pub organization: Option<&'a str>,
    pub location: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub resource_count: Option<u64>,
    pub deactivated_on: Option<String>,
    pub for_deletion: Option<bool>,
    pub groups: Option<&'a [ApiGroup]>,
    pub last_active: Option<String>,
    /// When this version of the user was observed: the cursor of incremental syncs.
    pub observed_at: Option<&'a str>,
    #[serde(rename = "_ab_cdc_deleted_at")]
    pub deleted_at: Option<&'a str>,
}

pub fn record<'a>(org_id: &'a str, u: &'a ApiUser) -> UserRecord<'a> {
    let last_active = u
        .product_access
        .iter()
        .flatten()
        .filter_map(|p| p.last_active_timestamp.as_deref().and_then(time::parse_lenient))
        .max()
        .map(time::format);
    UserRecord {
        org_id,
        account_id: &u.account_id,
        account_type: u.account_type.as_deref(),
        status: u.status.as_deref(),
        account_status: u.account_status.as_deref(),
        membership_status: u.membership_status.as_deref(),
        added_to_org: time::normalize(u.added_to_org.as_deref()),
        name: u.name.as_deref(),
        nickname: u.nickname.as_deref(),
        email: u.email.as_deref(),
        email_verified: u.email_verified,
        claim_status: u.claim_status.as_deref(),
        platform_roles: u.platform_roles.as_deref(),
        picture: u.picture.as_deref(),
        avatar: u.avatar.as_deref(),
        management_source: u.management_source.as_deref(),
        mfa_enabled: u.mfa_enabled,
        job_title: u.job_title.as_deref(),
        department: u.department.as_deref(),
        organization: u.organization.as_deref(),
        location: u.location.as_deref(),
        time_zone: u.time_zone.as_deref(),
        resource_count: u.counts.as_ref().and_then(|c| c.resources),
        deactivated_on: time::normalize(u.deactivated_on.as_deref()),
        for_deletion: u.for_deletion,
        groups: u.groups.as_deref(),
        last_active,
        observed_at: None,
        deleted_at: None,
    }
}

/// The record of a user who is no longer in the directory: destinations in dedup mode
/// delete (or flag) the row when `_ab_cdc_deleted_at` is set.
#[derive(Debug, Serialize)]
pub struct UserDeletion<'a> {
    pub org_id: &'a str,
    pub account_id: &'a str,
    pub observed_at: &'a str,
    #[serde(rename = "_ab_cdc_deleted_at")]
    pub deleted_at: &'a str,
}

pub fn deletion<'a>(org_id: &'a str, account_id: &'a str, now: &'a str) -> UserDeletion<'a> {
    UserDeletion { org_id, account_id, observed_at: now, deleted_at: now }
}
