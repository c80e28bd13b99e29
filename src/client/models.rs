//! The API's response bodies as serde types. Unknown fields are ignored and every field the
//! documentation calls optional is an `Option`, so new or missing fields never break a read;
//! the fields a record cannot exist without (ids, the `data` array) are required.

use std::borrow::Cow;
use std::ops::Deref;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::json::{self, json_record, WriteJson};

mod events;
mod groups;
mod v1;

pub use events::{ApiEventAction, EventsPage};
pub use groups::{ApiDirectoryGroup, ApiRoleAssignment, GroupCounts, GroupEntry};

/// A page of a list: `{"data": [...], "links": {"next": ...}, "meta": {...}}`, or its items
/// under `items` (the service accounts). Once read by [`AtlassianClient::page`](super::AtlassianClient::page),
/// `links.next` is the next page's cursor whatever the page style.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(alias = "items")]
    pub data: Vec<T>,
    #[serde(default)]
    pub links: Links,
    #[serde(default)]
    pub meta: Option<PageMeta>,
}

impl<T> Page<T> {
    /// A last page with nothing on it.
    pub fn empty() -> Self {
        Page { data: Vec::new(), links: Links::default(), meta: None }
    }
}

/// The members of a users-search page, its users borrowing their text from the body.
#[derive(Debug, Deserialize)]
pub struct UsersBody<'a> {
    #[serde(borrow)]
    pub data: Vec<ApiUser<'a>>,
    #[serde(default)]
    pub links: Links,
    #[serde(default)]
    pub meta: Option<PageMeta>,
}

self_cell::self_cell!(
    /// One users-search page: its body, and the users parsed from it once, borrowing their
    /// text from it — a read copies no user string, and writes most of them out as they came
    /// ([`Text`]). Parsed inside the client's retry loop, so a body that cannot be read is
    /// requested again like any other failure.
    pub struct UserPage {
        owner: String,
        #[covariant]
        dependent: UsersBody,
    }
    impl {Debug}
);

impl UserPage {
    /// Parses a users-search body; the error says why it cannot be read, quoting none of it.
    pub fn parse(body: String) -> Result<UserPage, String> {
        let len = body.len();
        UserPage::try_new(body, |text| serde_json::from_str(text)).map_err(|e| super::error::describe_decode(&e, len))
    }

    pub fn users(&self) -> &[ApiUser<'_>] {
        &self.borrow_dependent().data
    }

    /// The cursor of the following page, if any.
    pub fn next(&self) -> Option<&str> {
        self.borrow_dependent().links.next.as_deref()
    }

    /// The total the API announced, if any.
    pub fn total(&self) -> Option<u64> {
        self.borrow_dependent().meta.as_ref().and_then(|m| m.total)
    }

    /// Changes the users in place (per-user activity is filled in this way).
    pub fn with_users_mut(&mut self, f: impl for<'a> FnOnce(&mut Vec<ApiUser<'a>>)) {
        self.with_dependent_mut(|_, body| f(&mut body.data));
    }
}

/// Text of a user. Borrowed from the response body when the API wrote it without escapes,
/// which serde_json guarantees for what it hands out borrowed while parsing JSON text: such
/// text holds no `"`, `\` or control byte, so it is written out between quotes with no second
/// look. Text that had escapes is decoded (owned) and escaped again when written. Only ever
/// deserialize it with serde_json from text, as [`UserPage::parse`] does: other deserializers
/// may lend strings that need escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text<'a>(Cow<'a, str>);

impl Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text<'static> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl WriteJson for Text<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Cow::Borrowed(plain) => json::write_plain_str(out, plain),
            Cow::Owned(decoded) => json::write_str(out, decoded),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default, deserialize_with = "non_empty")]
    pub next: Option<String>,
}

/// `meta` of a page. `total` is an estimate the official schema types as any integer (it has
/// been seen as `-1`): anything but a count is no total, never a failed read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    #[serde(default, deserialize_with = "lenient_count")]
    pub total: Option<u64>,
    /// The next page's cursor where the list gives it here (the audit log, policies).
    #[serde(default, deserialize_with = "non_empty")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrgResponse {
    pub data: OrgData,
}

#[derive(Debug, Deserialize)]
pub struct OrgData {
    pub id: String,
    #[serde(default)]
    pub attributes: OrgAttributes,
}

#[derive(Debug, Default, Deserialize)]
pub struct OrgAttributes {
    pub name: Option<String>,
}

/// A user of the v2 users search, with whatever expands were asked for; its text borrows
/// from the page body ([`Text`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiUser<'a> {
    // `borrow` here makes the whole user borrow from the body ('de: 'a).
    #[serde(borrow)]
    pub account_id: Text<'a>,
    pub account_type: Option<Text<'a>>,
    pub status: Option<Text<'a>>,
    pub account_status: Option<Text<'a>>,
    pub membership_status: Option<Text<'a>>,
    pub added_to_org: Option<Text<'a>>,
    pub name: Option<Text<'a>>,
    pub nickname: Option<Text<'a>>,
    pub email: Option<Text<'a>>,
    pub email_verified: Option<bool>,
    pub claim_status: Option<Text<'a>>,
    pub platform_roles: Option<Vec<Text<'a>>>,
    pub picture: Option<Text<'a>>,
    pub avatar: Option<Text<'a>>,
    pub management_source: Option<Text<'a>>,
    pub mfa_enabled: Option<bool>,
    pub job_title: Option<Text<'a>>,
    pub department: Option<Text<'a>>,
    pub organization: Option<Text<'a>>,
    pub location: Option<Text<'a>>,
    pub time_zone: Option<Text<'a>>,
    pub counts: Option<Counts>,
    pub deactivated_on: Option<Text<'a>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub for_deletion: Option<bool>,
    pub product_access: Option<Vec<ProductAccess<'a>>>,
    pub groups: Option<Vec<ApiGroup<'a>>>,
    /// Billable in Atlassian Access / Guard: given by the managed-accounts list (v1 users)
    /// only, so filled in from it ([`crate::client::managed`]).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub access_billable: Option<bool>,
}

/// A user of a filtered users search where only the account id is needed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAccount {
    pub account_id: String,
}

/// `counts` of a user: `resources` is read like a page's total ([`PageMeta`]).
#[derive(Debug, Default, Deserialize)]
pub struct Counts {
    #[serde(default, deserialize_with = "lenient_count")]
    pub resources: Option<u64>,
}

/// A user's activity on one product instance, in the users search's shape (`key` in the v2
/// vocabulary, `id` the instance's ARI); other sources are turned into it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAccess<'a> {
    #[serde(borrow)]
    pub key: Option<Text<'a>>,
    pub id: Option<Text<'a>>,
    pub last_active_timestamp: Option<Text<'a>>,
    /// The site URL the managed-accounts list names the instance by (it gives no id): what
    /// the id is found from, by the workspaces ([`crate::client::managed::SiteJoin`]).
    #[serde(skip)]
    pub url: Option<Text<'a>>,
}

json_record! {
    /// A group of a user (the `groups` expand), written into `users` records as it came.
    #[derive(Debug, Deserialize)]
    pub struct ApiGroup<'a> {
        #[serde(borrow)]
        pub id: Option<Text<'a>>,
        pub name: Option<Text<'a>>,
        pub description: Option<Text<'a>>,
    }
}

/// A product instance (site) of the v2 workspaces list.
#[derive(Debug, Deserialize)]
pub struct ApiWorkspace {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub attributes: WorkspaceAttributes,
    #[serde(default)]
    pub relationships: Relationships,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceAttributes {
    pub name: Option<String>,
    pub type_key: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub labels: Option<Value>,
    pub sandbox: Option<SandboxInfo>,
    pub usage: Option<i64>,
    pub capacity: Option<i64>,
    pub created_at: Option<String>,
    pub host_url: Option<String>,
    pub realm: Option<String>,
    pub regions: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SandboxInfo {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Relationships {
    #[serde(default, deserialize_with = "one_or_many")]
    pub entitlement: Vec<Entitlement>,
}

#[derive(Debug, Deserialize)]
pub struct Entitlement {
    #[serde(default)]
    pub attributes: EntitlementAttributes,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementAttributes {
    pub key: Option<String>,
    pub plan_key: Option<String>,
    pub plan: Option<String>,
}

/// A cursor that is `null`, absent or `""` means "no next page".
fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// A count: a non-negative integer. A negative or fractional number, text or anything else
/// is no count (`None`) rather than an error: estimates never abort a read.
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct CountVisitor;
    impl<'de> Visitor<'de> for CountVisitor {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a count")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(CountVisitor)
}

pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Entitlement>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Entitlement>),
        One(Entitlement),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(e)) => vec![e],
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_of_any_integer_or_shape_never_fail_a_page() {
        for (total, want) in [("-1", None), ("7", Some(7)), ("2.5", None), ("\"12\"", None), ("null", None), ("[1]", None), ("{}", None)] {
            let body = format!(r#"{{"data":[{{"accountId":"a","counts":{{"resources":{total}}}}}],"links":{{}},"meta":{{"total":{total}}}}}"#);
            let page = UserPage::parse(body).unwrap_or_else(|e| panic!("{total}: {e}"));
            assert_eq!(page.total(), want, "{total}");
            assert_eq!(page.users()[0].counts.as_ref().and_then(|c| c.resources), want, "{total}");
        }
        let page: Page<ApiAccount> = serde_json::from_str(r#"{"data":[],"meta":{"total":-1}}"#).unwrap();
        assert_eq!(page.meta.and_then(|m| m.total), None);
    }
}
