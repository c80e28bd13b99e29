//! The audit log (`events-stream`) and its action names (`event-actions`). An event is kept
//! whole, as a JSON object: Atlassian's payloads omit fields the spec calls required and add
//! new ones, so only `id` is required (checked where the record is built) and nothing is lost.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Links, PageMeta};

/// One page of the audit log: `{data, meta: {next, page_size}, links}`. `data` may be
/// missing (read as empty), as on third parties' mocks.
#[derive(Debug, Deserialize)]
pub struct EventsPage {
    #[serde(default)]
    pub data: Vec<Map<String, Value>>,
    /// The cursor after this page is `meta.next`; on the last page, Atlassian returns one to
    /// poll with later (other implementations answer null).
    #[serde(default)]
    pub meta: Option<PageMeta>,
    #[serde(default)]
    pub links: Links,
}

impl EventsPage {
    pub fn next(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.next.as_deref())
    }
}

/// An action of `event-actions` (its pages are [`super::Page`]s).
#[derive(Debug, Deserialize)]
pub struct ApiEventAction {
    pub id: String,
    #[serde(default)]
    pub attributes: Option<ActionAttributes>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionAttributes {
    #[serde(default)]
    pub display_name: Option<String>,
}
