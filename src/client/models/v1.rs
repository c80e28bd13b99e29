//! The managed-accounts list (`GET /v1/orgs/{orgId}/users`, official schema `UserPage`):
//! snake_case users with the older product vocabulary, read into the users search's shape
//! ([`UserPage`]) so the read loop takes its pages like any other. What v1 does not give is
//! `None`; each `product_access` entry keeps its v1 key and site URL for the join to the
//! workspaces ([`crate::client::managed::SiteJoin`]), and its `last_active` as the timestamp.

use serde::Deserialize;

use super::{lenient_bool, ApiUser, Links, PageMeta, ProductAccess, Text, UserPage, UsersBody};

#[derive(Deserialize)]
struct V1Body<'a> {
    #[serde(borrow)]
    data: Vec<V1User<'a>>,
    #[serde(default)]
    links: Links,
    #[serde(default)]
    meta: Option<PageMeta>,
}

#[derive(Deserialize)]
struct V1User<'a> {
    #[serde(borrow)]
    account_id: Text<'a>,
    account_type: Option<Text<'a>>,
    account_status: Option<Text<'a>>,
    name: Option<Text<'a>>,
    picture: Option<Text<'a>>,
    email: Option<Text<'a>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    access_billable: Option<bool>,
    product_access: Option<Vec<V1Product<'a>>>,
}

#[derive(Deserialize)]
struct V1Product<'a> {
    #[serde(borrow)]
    key: Option<Text<'a>>,
    url: Option<Text<'a>>,
    last_active: Option<Text<'a>>,
}

impl<'a> From<V1User<'a>> for ApiUser<'a> {
    fn from(u: V1User<'a>) -> Self {
        let product_access = u.product_access.map(|entries| {
            entries
                .into_iter()
                .map(|p| ProductAccess { key: p.key, id: None, last_active_timestamp: p.last_active, url: p.url })
                .collect()
        });
        ApiUser {
            account_id: u.account_id,
            account_type: u.account_type,
            status: None,
            account_status: u.account_status,
            membership_status: None,
            added_to_org: None,
            name: u.name,
            nickname: None,
            email: u.email,
            email_verified: None,
            claim_status: None,
            platform_roles: None,
            picture: u.picture,
            avatar: None,
            management_source: None,
            mfa_enabled: None,
            job_title: None,
            department: None,
            organization: None,
            location: None,
            time_zone: None,
            counts: None,
            deactivated_on: None,
            for_deletion: None,
            product_access,
            groups: None,
            access_billable: u.access_billable,
        }
    }
}

impl UserPage {
    /// Parses a managed-accounts page (v1 users). Its `links.next` is still the URL: the
    /// caller turns it into a cursor ([`UserPage::set_next`]).
    pub fn parse_v1(body: String) -> Result<UserPage, String> {
        let len = body.len();
        UserPage::try_new(body, |text| {
            let v1: V1Body<'_> = serde_json::from_str(text)?;
            Ok(UsersBody { data: v1.data.into_iter().map(ApiUser::from).collect(), links: v1.links, meta: v1.meta })
        })
        .map_err(|e: serde_json::Error| crate::client::error::describe_decode(&e, len))
    }

    /// Replaces the page's `links.next` (a managed-accounts page's URL by its cursor).
    pub fn set_next(&mut self, next: Option<String>) {
        self.with_dependent_mut(|_, body| body.links.next = next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_managed_account_reads_into_the_search_shape() {
        let body = r#"{"data":[{"account_id":"a1","account_type":"atlassian","account_status":"active","name":"Zoë","picture":"p",
            "access_billable":true,"last_active":"2026-05-01T10:11:12Z","product_access":[{"key":"jira-software","name":"Jira Software",
            "url":"https://acme.atlassian.net","last_active":"2026-05-01T10:11:12Z"},{"key":"trello","name":"Trello"}]},
            {"account_id":"a2","account_type":"atlassian","account_status":"inactive","name":"N","picture":"p"}],
            "links":{"self":"https://api.atlassian.com/admin/v1/orgs/o/users","next":"https://api.atlassian.com/admin/v1/orgs/o/users?cursor=c2"},
            "meta":{"total":-1}}"#;
        let mut page = UserPage::parse_v1(body.to_string()).unwrap();
        assert_eq!(page.next(), Some("https://api.atlassian.com/admin/v1/orgs/o/users?cursor=c2"));
        assert_eq!(page.total(), None, "a total of -1 is no total");
        let users = page.users();
        assert_eq!((&*users[0].account_id, users[0].access_billable, users[0].email.is_none()), ("a1", Some(true), true));
        let pa = users[0].product_access.as_ref().unwrap();
        assert_eq!(pa[0].key.as_deref(), Some("jira-software"));
        assert_eq!(pa[0].url.as_deref(), Some("https://acme.atlassian.net"));
        assert_eq!((pa[0].id.as_deref(), pa[0].last_active_timestamp.as_deref()), (None, Some("2026-05-01T10:11:12Z")));
        assert_eq!((pa[1].url.as_deref(), pa[1].last_active_timestamp.as_deref()), (None, None));
        assert!(users[1].product_access.is_none(), "absent is not an empty list");
        assert!(users[0].status.is_none() && users[0].groups.is_none());
        page.set_next(Some("c2".into()));
        assert_eq!(page.next(), Some("c2"));
        assert!(UserPage::parse_v1(r#"{"data":[{"name":"no id"}]}"#.to_string()).unwrap_err().contains("account_id"));
    }
}
