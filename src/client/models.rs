//! The API's response bodies as serde types. Unknown fields are ignored and every field the
//! documentation calls optional is an `Option`, so new or missing fields never break a read;
//! the fields a record cannot exist without (ids, the `data` array) are required.

use std::borrow::Cow;
use std::ops::{Deref, Range};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::json::{self, write_object, WriteJson};

/// A page of a v2 list: `{"data": [...], "links": {"next": <bare cursor>}}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub links: Links,
    #[serde(default)]
    pub meta: Option<PageMeta>,
}

/// A users-search page as the cursor chain sees it: the body, where its `data` list sits, and
/// the links; the users are parsed later, once, borrowing their text from the body
/// (see [`UserPage`]).
#[derive(Debug)]
pub struct FramedPage {
    pub body: PageBody,
    pub links: Links,
    pub meta: Option<PageMeta>,
}

/// A response body and the byte range of its `data` list.
#[derive(Debug)]
pub struct PageBody {
    pub text: String,
    pub data: Range<usize>,
    /// Where `data` ends was not checked (see [`super::frame::scan`]).
    pub data_end_unchecked: bool,
}

impl PageBody {
    /// Frames `text`: see [`super::frame::scan`].
    pub fn frame(text: String) -> Result<(PageBody, super::frame::Frame), super::frame::FrameError> {
        let frame = super::frame::scan(&text)?;
        let body = PageBody { text, data: frame.data.clone(), data_end_unchecked: frame.data_end_unchecked };
        Ok((body, frame))
    }

    pub fn data(&self) -> &str {
        &self.text[self.data.clone()]
    }
}

pub type UserList<'a> = Vec<ApiUser<'a>>;

self_cell::self_cell!(
    /// The users of one users-search page, borrowing their text from the page's body: a
    /// read copies no user string, and writes most of them out as they came ([`Text`]).
    pub struct UserPage {
        owner: PageBody,
        #[covariant]
        dependent: UserList,
    }
    impl {Debug}
);

impl UserPage {
    /// Parses the users of `body`. A `data` end taken from the end of the body that proves
    /// wrong is found by an exact scan, and the users parsed from there.
    pub fn parse(body: PageBody) -> Result<UserPage, String> {
        fn users(b: &PageBody) -> Result<UserList<'_>, serde_json::Error> {
            serde_json::from_str(b.data())
        }
        let len = body.text.len();
        let (mut body, error) = match UserPage::try_new_or_recover(body, users) {
            Ok(page) => return Ok(page),
            Err(failed) => failed,
        };
        if !body.data_end_unchecked {
            return Err(super::error::describe_decode(&error, len));
        }
        body.data = super::frame::scan_exact(&body.text).map_err(|e| e.to_string())?.data;
        body.data_end_unchecked = false;
        UserPage::try_new(body, users).map_err(|e| super::error::describe_decode(&e, len))
    }

    pub fn users(&self) -> &[ApiUser<'_>] {
        self.borrow_dependent()
    }

    /// Changes the users in place (per-user activity is filled in this way).
    pub fn with_users_mut(&mut self, f: impl for<'a> FnOnce(&mut UserList<'a>)) {
        self.with_dependent_mut(|_, users| f(users));
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

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    pub total: Option<u64>,
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
}

/// A user of a filtered users search where only the account id is needed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAccount {
    pub account_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Counts {
    pub resources: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAccess<'a> {
    #[serde(borrow)]
    pub key: Option<Text<'a>>,
    pub id: Option<Text<'a>>,
    pub last_active_timestamp: Option<Text<'a>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ApiGroup<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    pub name: Option<Text<'a>>,
    pub description: Option<Text<'a>>,
}

impl WriteJson for ApiGroup<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_object!(out, {"id": self.id, "name": self.name, "description": self.description});
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

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
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
