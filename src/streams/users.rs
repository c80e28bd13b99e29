//! `users`: one record per user of the directory, from the v2 users search (or, when the key
//! may not search the directory, the managed accounts: the fields they lack are null).

use super::{Stream, StreamInfo};
use crate::client::endpoints;
use crate::client::models::{ApiGroup, ApiUser, Text};
use crate::incremental::by_id::KeyedById;
use crate::json::json_record;
use crate::time;

pub struct Users;

impl Stream for Users {
    const INFO: StreamInfo = StreamInfo {
        name: "users",
        schema: include_str!("../../schemas/users.json"),
        primary_key: &["account_id"],
        cursor_field: Some("observed_at"),
        summary: "the directory's users: groups, platform roles, product access, status, last activity",
        reads: &[endpoints::USERS_SEARCH, endpoints::USERS_COUNT, endpoints::MANAGED_USERS],
        ..StreamInfo::DEFAULT
    };
}

/// Change detection keeps a fingerprint per account in the state's `accounts`.
impl KeyedById for Users {
    const FIELD: &'static str = "accounts";
}

json_record! {
    /// A user of the directory as the `users` stream writes it.
    #[derive(Debug)]
    pub struct UserRecord<'a> {
        pub org_id: &'a str,
        pub account_id: &'a Text<'a>,
        pub account_type: Option<&'a Text<'a>>,
        pub status: Option<&'a Text<'a>>,
        pub account_status: Option<&'a Text<'a>>,
        pub membership_status: Option<&'a Text<'a>>,
        pub added_to_org: Option<String>,
        pub name: Option<&'a Text<'a>>,
        pub nickname: Option<&'a Text<'a>>,
        pub email: Option<&'a Text<'a>>,
        pub email_verified: Option<bool>,
        pub claim_status: Option<&'a Text<'a>>,
        pub platform_roles: Option<&'a [Text<'a>]>,
        pub picture: Option<&'a Text<'a>>,
        pub avatar: Option<&'a Text<'a>>,
        pub management_source: Option<&'a Text<'a>>,
        pub mfa_enabled: Option<bool>,
        pub job_title: Option<&'a Text<'a>>,
        pub department: Option<&'a Text<'a>>,
        pub organization: Option<&'a Text<'a>>,
        pub location: Option<&'a Text<'a>>,
        pub time_zone: Option<&'a Text<'a>>,
        pub resource_count: Option<u64>,
        pub deactivated_on: Option<String>,
        pub for_deletion: Option<bool>,
        pub groups: Option<&'a [ApiGroup<'a>]>,
        /// Billable in Atlassian Access / Guard: from the managed-accounts list, so only for
        /// the users it gives (null for the others, and from the other sources).
        pub access_billable: Option<bool>,
        pub last_active: Option<String>,
    }
    observed
}

pub fn record<'a>(org_id: &'a str, u: &'a ApiUser<'a>) -> UserRecord<'a> {
    let last_active = u
        .product_access
        .iter()
        .flatten()
        .filter_map(|p| time::stamp(p.last_active_timestamp.as_deref()))
        .max_by_key(|(at, _)| *at)
        .map(|(_, text)| text);
    UserRecord {
        org_id,
        account_id: &u.account_id,
        account_type: u.account_type.as_ref(),
        status: u.status.as_ref(),
        account_status: u.account_status.as_ref(),
        membership_status: u.membership_status.as_ref(),
        added_to_org: time::normalize(u.added_to_org.as_deref()),
        name: u.name.as_ref(),
        nickname: u.nickname.as_ref(),
        email: u.email.as_ref(),
        email_verified: u.email_verified,
        claim_status: u.claim_status.as_ref(),
        platform_roles: u.platform_roles.as_deref(),
        picture: u.picture.as_ref(),
        avatar: u.avatar.as_ref(),
        management_source: u.management_source.as_ref(),
        mfa_enabled: u.mfa_enabled,
        job_title: u.job_title.as_ref(),
        department: u.department.as_ref(),
        organization: u.organization.as_ref(),
        location: u.location.as_ref(),
        time_zone: u.time_zone.as_ref(),
        resource_count: u.counts.as_ref().and_then(|c| c.resources),
        deactivated_on: time::normalize(u.deactivated_on.as_deref()),
        for_deletion: u.for_deletion,
        groups: u.groups.as_deref(),
        access_billable: u.access_billable,
        last_active,
        observed_at: None,
        deleted_at: None,
    }
}

json_record! {
    /// The record of a user who is no longer in the directory: destinations in dedup mode
    /// delete (or flag) the row when `_ab_cdc_deleted_at` is set.
    #[derive(Debug)]
    pub struct UserDeletion<'a> {
        pub org_id: &'a str,
        pub account_id: &'a str,
        pub observed_at: &'a str,
        pub deleted_at as "_ab_cdc_deleted_at": &'a str,
    }
}

pub fn deletion<'a>(org_id: &'a str, account_id: &'a str, now: &'a str) -> UserDeletion<'a> {
    UserDeletion { org_id, account_id, observed_at: now, deleted_at: now }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::client::models::UserPage;
    use crate::json::WriteJson;

    fn page(body: &str) -> Result<UserPage, String> {
        UserPage::parse(body.to_string())
    }

    #[test]
    fn text_with_escapes_and_without_round_trips() {
        let body = r#"{"data":[{"accountId":"a\/1","status":"active","name":"Zo\u00eb \"Z\" \\ \n","email":null,"platformRoles":["org\u002dadmin"],
            "groups":[{"id":"g","name":"\ud83d\ude00 team"}],"productAccess":[{"key":"jira","id":"p\u0031","lastActiveTimestamp":"2026-01-02T03:04:05Z"}]}],"links":{}}"#;
        let page = page(body).unwrap();
        let u = &page.users()[0];
        assert_eq!(&*u.account_id, "a/1", "ids are decoded");
        assert_eq!(u.product_access.as_ref().unwrap()[0].id.as_deref(), Some("p1"));
        let rec = record("org", u);
        let mut line = Vec::new();
        rec.write_json(&mut line);
        let text = String::from_utf8(line).unwrap();
        assert!(text.contains(r#""name":"Zoë \"Z\" \\ \n""#), "decoded, then escaped again: {text}");
        assert!(text.contains(r#""status":"active""#), "plain text as it came: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["name"], json!("Zoë \"Z\" \\ \n"));
        assert_eq!(v["account_id"], json!("a/1"));
        assert_eq!(v["email"], Value::Null);
        assert_eq!(v["platform_roles"], json!(["org-admin"]));
        assert_eq!(v["groups"], json!([{"id": "g", "name": "😀 team", "description": null}]));
        assert_eq!(v["last_active"], json!("2026-01-02T03:04:05Z"));
        assert_eq!(u.name.as_deref(), Some("Zoë \"Z\" \\ \n"));
    }

    #[test]
    fn stamping_a_written_record_is_writing_it_stamped() {
        let page = page(r#"{"data":[{"accountId":"a","name":"N \"q\""}],"links":{}}"#).unwrap();
        let u = &page.users()[0];
        let mut stamped = Vec::new();
        crate::json::Observed::write_unstamped(&record("org", u), &mut stamped).stamp("2026-11-28T00:00:00Z");
        let mut direct = record("org", u);
        direct.observed_at = Some("2026-11-28T00:00:00Z");
        let mut written = Vec::new();
        direct.write_json(&mut written);
        assert_eq!(String::from_utf8(stamped).unwrap(), String::from_utf8(written).unwrap());
    }

    #[test]
    fn a_field_of_the_wrong_type_is_refused() {
        for field in [r#""name":5"#, r#""email":{"a":1}"#, r#""platformRoles":[true]"#, r#""accountId":7"#, r#""status":["x"]"#] {
            let body = format!(r#"{{"data":[{{"accountId":"a",{field}}}]}}"#).replace(r#""accountId":"a","accountId":7"#, r#""accountId":7"#);
            let err = page(&body).expect_err(field);
            assert!(err.contains("expected a string"), "{field}: {err}");
        }
        assert!(page(r#"{"data":[{"name":"x"}]}"#).unwrap_err().contains("accountId"));
    }
}
