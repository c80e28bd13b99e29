//! The streams: what each is called, its schema and keys (a [`StreamInfo`]), and how its
//! records are built from API objects (one module per stream). Streams know records, not HTTP.

pub mod license_assignments;
pub mod user_activity;
pub mod users;
pub mod workspaces;

use std::sync::OnceLock;

use serde_json::{json, Value};

/// What the catalog says about a stream.
#[derive(Debug)]
pub struct StreamInfo {
    pub name: &'static str,
    pub schema: &'static str,
    pub primary_key: &'static [&'static str],
    /// The source-defined cursor of an incremental stream; `None` = full refresh only.
    pub cursor_field: Option<&'static str>,
}

impl StreamInfo {
    pub fn json_schema(&self) -> Value {
        serde_json::from_str(self.schema).expect("stream schemas are valid JSON")
    }

    pub fn supports_incremental(&self) -> bool {
        self.cursor_field.is_some()
    }

    /// The stream as `discover` announces it.
    pub fn airbyte_stream(&self) -> Value {
        let mut stream = json!({
            "name": self.name,
            "json_schema": self.json_schema(),
            "supported_sync_modes": if self.supports_incremental() { json!(["full_refresh", "incremental"]) } else { json!(["full_refresh"]) },
        });
        if let Some(cursor) = self.cursor_field {
            stream["source_defined_cursor"] = json!(true);
            stream["default_cursor_field"] = json!([cursor]);
        }
        stream["source_defined_primary_key"] = json!(self.primary_key.iter().map(|k| vec![*k]).collect::<Vec<_>>());
        stream["is_resumable"] = json!(self.supports_incremental());
        stream
    }
}

/// Every stream, in catalog order.
pub const ALL: [&StreamInfo; 4] = [&users::INFO, &user_activity::INFO, &workspaces::INFO, &license_assignments::INFO];

pub fn find(name: &str) -> Option<&'static StreamInfo> {
    ALL.into_iter().find(|s| s.name == name)
}

/// The CATALOG's stream list, built once.
pub fn catalog() -> &'static [Value] {
    static CATALOG: OnceLock<Vec<Value>> = OnceLock::new();
    CATALOG.get_or_init(|| ALL.iter().map(|s| s.airbyte_stream()).collect())
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::workspaces::WorkspaceIndex;
    use super::*;
    use crate::client::models::{ApiWorkspace, PageBody, UserPage};
    use crate::json::WriteJson;

    fn same_as_serde_json<T: WriteJson + Serialize>(record: &T) {
        let mut fast = Vec::new();
        record.write_json(&mut fast);
        assert_eq!(String::from_utf8(fast).unwrap(), serde_json::to_string(record).unwrap());
    }

    /// Each record type's hand-listed fields (`write_object!`) are exactly its serde fields.
    #[test]
    fn every_record_writes_what_serde_json_writes() {
        let body = r#"{"data":[
            {"accountId":"full","accountType":"atlassian","status":"active","accountStatus":"active","membershipStatus":"active",
             "addedToOrg":"2024-08-14T10:22:57.340Z","name":"Zo\u00eb \"Z\"","nickname":"z","email":"z@x.example","emailVerified":true,
             "claimStatus":"managed","platformRoles":["a","b\n"],"picture":"p","avatar":"a","managementSource":"invited","mfaEnabled":false,
             "jobTitle":"j","department":"d","organization":"o","location":"l","timeZone":"Europe/Amsterdam","counts":{"resources":3},
             "deactivatedOn":"2025-01-01T00:00:00Z","forDeletion":"true","groups":[{"id":"g","name":"n","description":"d\t"}],
             "productAccess":[{"key":"jira","id":"ari:cloud:jira-software::site/s1","lastActiveTimestamp":"2026-10-21T09:34:17Z"},
                              {"key":null,"id":"elsewhere","lastActiveTimestamp":null}]},
            {"accountId":"bare"}],"links":{}}"#;
        let (body, _) = PageBody::frame(body.to_string()).unwrap();
        let page = UserPage::parse(body).unwrap();
        let workspace: ApiWorkspace = serde_json::from_value(json!({
            "id": "ari:cloud:jira-software::site/s1",
            "attributes": {"name": "Site \"1\"", "hostUrl": "https://s1.example", "typeKey": "jira", "capacity": 5, "usage": 2,
                "labels": ["x", {"y": 1.5}], "regions": ["eu"], "createdAt": "2020-01-01T00:00:00Z", "sandbox": {"type": "NONE"}},
            "relationships": {"entitlement": {"attributes": {"plan": "Premium", "key": "k"}}}
        }))
        .unwrap();
        let mut index = WorkspaceIndex::default();
        index.add(&workspace);
        let mut skipped = 0;
        for u in page.users() {
            let mut rec = users::record("org", u);
            same_as_serde_json(&rec);
            rec.observed_at = Some("2026-11-28T00:00:00Z");
            same_as_serde_json(&rec);
            for activity in user_activity::records("org", u, &index, &mut skipped) {
                same_as_serde_json(&activity);
            }
        }
        same_as_serde_json(&users::deletion("org", "gone", "2026-11-28T00:00:00Z"));
        same_as_serde_json(&workspaces::record("org", &workspace));
        same_as_serde_json(&license_assignments::record("org", "w", "a", "atlassian/user", "2026-11-28T00:00:00Z"));
        same_as_serde_json(&license_assignments::deletion("org", "w", "a", "atlassian/user", "2026-11-28T00:00:00Z"));
    }
}
