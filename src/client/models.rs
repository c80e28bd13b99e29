//! The API's response bodies as serde types. Unknown fields are ignored and every field the
//! documentation calls optional is an `Option`, so new or missing fields never break a read;
//! the fields a record cannot exist without (ids, the `data` array) are required.

use serde::{Deserialize, Deserializer};

/// Text of a user: strings up to 24 bytes (statuses, names, dates, most ids) live inline, not
/// on the heap — a read parses millions of them, and their allocations dominated its cost.
pub type Text = compact_str::CompactString;
use serde_json::Value;

/// A page of a v2 list: `{"data": [...], "links": {"next": <bare cursor>}}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub links: Links,
    #[serde(default)]
    pub meta: Option<PageMeta>,
}

/// A users-search page whose `data` is kept as raw JSON text, to be parsed off the cursor
/// chain's critical path (see `pagination::users`).
#[derive(Debug, Deserialize)]
pub struct RawPage {
    pub data: RawItems,
    #[serde(default)]
    pub links: Links,
    #[serde(default)]
    pub meta: Option<PageMeta>,
}

/// The raw text of a JSON array (anything else is refused while the page is read, so a body
/// of the wrong shape is still retried like any unreadable body).
#[derive(Debug)]
pub struct RawItems(Box<serde_json::value::RawValue>);

impl RawItems {
    pub fn get(&self) -> &str {
        self.0.get()
    }

    pub fn is_empty(&self) -> bool {
        let text = self.0.get();
        text.get(1..text.len().saturating_sub(1)).is_none_or(|inner| inner.trim().is_empty())
    }
}

impl<'de> Deserialize<'de> for RawItems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        if raw.get().starts_with('[') {
            Ok(RawItems(raw))
        } else {
            Err(serde::de::Error::custom("`data` is not a list"))
        }
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

/// A user of the v2 users search, with whatever expands were asked for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiUser {
    pub account_id: Text,
    pub account_type: Option<Text>,
    pub status: Option<Text>,
    pub account_status: Option<Text>,
    pub membership_status: Option<Text>,
    pub added_to_org: Option<Text>,
    pub name: Option<Text>,
    pub nickname: Option<Text>,
    pub email: Option<Text>,
    pub email_verified: Option<bool>,
    pub claim_status: Option<Text>,
    pub platform_roles: Option<Vec<Text>>,
    pub picture: Option<Text>,
    pub avatar: Option<Text>,
    pub management_source: Option<Text>,
    pub mfa_enabled: Option<bool>,
    pub job_title: Option<Text>,
    pub department: Option<Text>,
    pub organization: Option<Text>,
    pub location: Option<Text>,
    pub time_zone: Option<Text>,
    pub counts: Option<Counts>,
    pub deactivated_on: Option<Text>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub for_deletion: Option<bool>,
    pub product_access: Option<Vec<ProductAccess>>,
    pub groups: Option<Vec<ApiGroup>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Counts {
    pub resources: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAccess {
    pub key: Option<Text>,
    pub id: Option<Text>,
    pub last_active_timestamp: Option<Text>,
}

#[derive(Debug, serde::Serialize, Deserialize)]
pub struct ApiGroup {
    pub id: Option<Text>,
    pub name: Option<Text>,
    pub description: Option<Text>,
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
