//! The streams: each one's declaration in its own module — its [`StreamInfo`] (name,
//! schema, keys, sync modes, the endpoints it reads, whether a key or plan may not reach it,
//! what it needs of the sites), the API model it decodes and the records it builds — and the
//! registry, [`ALL`], one line a stream, naming the kind of read it is planned as. Discover,
//! catalog validation, `--help`, `check`'s probes, the read's plan and the notices'
//! attribution derive from the registry; nothing else names a stream.

pub mod api_keys;
pub mod api_tokens;
pub mod audit_events;
pub mod domains;
pub mod groups;
pub mod license_assignments;
pub mod policies;
pub mod seat_counts;
pub mod service_accounts;
pub mod user_activity;
pub mod users;
pub mod workspaces;

use std::fmt;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::client::Endpoint;
pub use crate::read::plan::Entry;

/// Every stream, in catalog order, each with the kind of read it is.
pub const ALL: &[Entry] = &[
    crate::read::users_pass::USERS,
    crate::read::users_pass::USER_ACTIVITY,
    Entry::sites::<workspaces::Workspaces>(),
    Entry::partitioned::<license_assignments::LicenseAssignments>(),
    Entry::paged::<groups::Groups>(),
    Entry::paged::<domains::Domains>(),
    Entry::paged::<api_tokens::ApiTokens>(),
    Entry::paged::<service_accounts::ServiceAccounts>(),
    Entry::paged::<seat_counts::SeatCounts>(),
    Entry::paged::<api_keys::ApiKeys>(),
    Entry::paged::<policies::Policies>(),
    Entry::log::<audit_events::AuditEvents>(),
];

/// A stream's declaration: what the catalog says of it and what the read needs to know.
pub trait Stream: 'static {
    const INFO: StreamInfo;
    const ID: StreamId = StreamId(&Self::INFO);
}

/// A stream, named in code: its [`StreamInfo`].
#[derive(Clone, Copy)]
pub struct StreamId(&'static StreamInfo);

impl StreamId {
    pub fn info(self) -> &'static StreamInfo {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }
}

impl PartialEq for StreamId {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for StreamId {}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

/// What the catalog says about a stream.
#[derive(Debug)]
pub struct StreamInfo {
    pub name: &'static str,
    pub schema: &'static str,
    pub primary_key: &'static [&'static str],
    /// The source-defined cursor of an incremental stream; `None` = full refresh only.
    pub cursor_field: Option<&'static str>,
    /// What its records are, in a few words (for `--help`).
    pub summary: &'static str,
    /// The endpoints a read of it calls, beyond finding the organization.
    pub reads: &'static [Endpoint],
    /// A key or the organization's plan may not reach it: `check` says whether it can be
    /// read, and a refusal fails this stream alone. What it needs, as `check` words it.
    pub optional: Option<&'static str>,
    /// Its records are joined to the sites (the workspaces), which are read first.
    pub needs_sites: bool,
}

impl StreamInfo {
    /// A stream every key reads, that needs nothing of the sites: what the fields not given default to.
    pub const DEFAULT: StreamInfo = StreamInfo {
        name: "",
        schema: "",
        primary_key: &[],
        cursor_field: None,
        summary: "",
        reads: &[],
        optional: None,
        needs_sites: false,
    };

    pub fn json_schema(&self) -> Value {
        serde_json::from_str(self.schema).expect("stream schemas are valid JSON")
    }

    pub fn supports_incremental(&self) -> bool {
        self.cursor_field.is_some()
    }

    pub fn sync_modes(&self) -> &'static [&'static str] {
        if self.supports_incremental() {
            &["full_refresh", "incremental"]
        } else {
            &["full_refresh"]
        }
    }

    /// The scopes of the endpoints it reads (what a key created with scopes uses to read the
    /// stream), in the order of `reads`.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes: Vec<&'static str> = Vec::new();
        for scope in self.reads.iter().map(|e| e.scope()) {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes
    }

    /// The stream as `discover` announces it.
    pub fn airbyte_stream(&self) -> Value {
        let mut stream = json!({
            "name": self.name,
            "json_schema": self.json_schema(),
            "supported_sync_modes": self.sync_modes(),
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

pub fn find(name: &str) -> Option<StreamId> {
    ALL.iter().map(|e| e.id).find(|s| s.name() == name)
}

/// The streams' names, comma separated, in catalog order.
pub fn names() -> String {
    ALL.iter().map(|e| e.id.name()).collect::<Vec<_>>().join(", ")
}

/// The stream list of `--help`: each stream, what it holds, its sync modes and scopes.
pub fn help() -> String {
    let mut text = String::from("Streams:\n");
    for s in ALL.iter().map(|e| e.id.info()) {
        text.push_str(&format!("  {}: {}.\n    Sync modes: {}. Scopes it uses: {}.\n", s.name, s.summary, s.sync_modes().join(", "), s.scopes().join(", ")));
    }
    text
}

/// The configured stream a notice about `endpoint` belongs to, while `reading` is read: the
/// stream being read if it calls that endpoint, else the first configured one that does (the
/// users pass opens while the workspaces are read), else the stream being read.
pub fn reading_endpoint(reading: StreamId, endpoint: Endpoint, configured: &[StreamId]) -> StreamId {
    if reading.info().reads.contains(&endpoint) {
        return reading;
    }
    ALL.iter().map(|e| e.id).find(|s| configured.contains(s) && s.info().reads.contains(&endpoint)).unwrap_or(reading)
}

/// The CATALOG's stream list, built once.
pub fn catalog() -> &'static [Value] {
    static CATALOG: OnceLock<Vec<Value>> = OnceLock::new();
    CATALOG.get_or_init(|| ALL.iter().map(|e| e.id.info().airbyte_stream()).collect())
}

#[cfg(test)]
mod tests {
    use super::workspaces::WorkspaceIndex;
    use super::*;
    use crate::client::models::{ApiWorkspace, UserPage};
    use crate::json::WriteJson;

    /// The record as JSON, and its keys in order.
    fn written<T: WriteJson>(record: &T) -> (Value, Vec<String>) {
        let mut out = Vec::new();
        record.write_json(&mut out);
        let value: Value = serde_json::from_slice(&out).expect("a record is valid JSON");
        let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        (value, keys)
    }

    fn schema_fields(info: &StreamInfo) -> Vec<String> {
        let mut keys: Vec<String> = info.json_schema()["properties"].as_object().expect("properties").keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Each record type writes exactly its stream schema's fields; a deletion record writes its
    /// keys, `observed_at` and `_ab_cdc_deleted_at`, all of them declared.
    #[test]
    fn every_record_writes_its_schema_fields() {
        let body = r#"{"data":[
            {"accountId":"full","accountType":"atlassian","status":"active","accountStatus":"active","membershipStatus":"active",
             "addedToOrg":"2024-08-14T10:22:57.340Z","name":"Zo\u00eb \"Z\"","nickname":"z","email":"z@x.example","emailVerified":true,
             "claimStatus":"managed","platformRoles":["a","b\n"],"picture":"p","avatar":"a","managementSource":"invited","mfaEnabled":false,
             "jobTitle":"j","department":"d","organization":"o","location":"l","timeZone":"Europe/Amsterdam","counts":{"resources":3},
             "deactivatedOn":"2025-01-01T00:00:00Z","forDeletion":"true","groups":[{"id":"g","name":"n","description":"d\t"}],
             "productAccess":[{"key":"jira","id":"ari:cloud:jira-software::site/s1","lastActiveTimestamp":"2026-10-21T09:34:17Z"},
                              {"key":null,"id":"elsewhere","lastActiveTimestamp":null}]},
            {"accountId":"bare"}],"links":{}}"#;
        let page = UserPage::parse(body.to_string()).unwrap();
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
        let mut activity = 0;
        for u in page.users() {
            let (user, keys) = written(&users::record("org", u));
            assert_eq!(keys, schema_fields(&users::Users::INFO));
            assert_eq!(user["account_id"], json!(&*u.account_id));
            for record in user_activity::records("org", u, &index, &mut skipped) {
                assert_eq!(written(&record.record).1, schema_fields(&user_activity::UserActivity::INFO));
                activity += 1;
            }
        }
        assert_eq!((activity, skipped), (2, 0));
        let (full, _) = written(&users::record("org", &page.users()[0]));
        assert_eq!(full["name"], json!("Zoë \"Z\""));
        assert_eq!(full["groups"], json!([{"id": "g", "name": "n", "description": "d\t"}]));
        assert_eq!(written(&workspaces::record("org", &workspace)).1, schema_fields(&workspaces::Workspaces::INFO));
        let (seat, keys) = written(&license_assignments::record("org", "w", "a", "atlassian/user", "2026-11-28T00:00:00Z"));
        assert_eq!(keys, schema_fields(&license_assignments::LicenseAssignments::INFO));
        assert_eq!(seat["_ab_cdc_deleted_at"], Value::Null);
        let event = json!({"id": "e", "attributes": {"time": "t", "processedAt": "2026-11-01T00:00:00Z", "action": "a",
            "actor": {"id": "x", "auth": {"authType": "api-token"}}, "context": [], "location": {"ip": "1.2.3.4"}}, "message": {"content": "m"}});
        let event = event.as_object().unwrap();
        let parsed = audit_events::Event::parse(event).unwrap();
        assert_eq!(written(&parsed.record("org", &Default::default())).1, schema_fields(&audit_events::AuditEvents::INFO));
        let deletions = [
            (written(&users::deletion("org", "gone", "2026-11-28T00:00:00Z")), &users::Users::INFO),
            (written(&license_assignments::deletion("org", "w", "a", "atlassian/user", "2026-11-28T00:00:00Z")), &license_assignments::LicenseAssignments::INFO),
            (written(&user_activity::deletion("org", "a", "ari:site", "2026-11-28T00:00:00Z")), &user_activity::UserActivity::INFO),
        ];
        for ((value, keys), info) in deletions {
            let declared = schema_fields(info);
            assert!(keys.iter().all(|k| declared.contains(k)), "{keys:?}");
            for k in info.primary_key.iter().copied().chain(["observed_at", "_ab_cdc_deleted_at"]) {
                assert!(value[k].is_string(), "{}: {k} in {value}", info.name);
            }
        }
    }

    /// A notice goes to the stream whose request it is about, among the configured ones.
    #[test]
    fn notices_belong_to_the_configured_stream_that_calls_the_endpoint() {
        use crate::client::endpoints;
        let (users, activity, sites, seats) = (users::Users::ID, user_activity::UserActivity::ID, workspaces::Workspaces::ID, license_assignments::LicenseAssignments::ID);
        let every = [users, activity, sites, seats];
        assert_eq!(reading_endpoint(sites, endpoints::WORKSPACES, &[users]), sites, "the stream being read");
        assert_eq!(reading_endpoint(sites, endpoints::USERS_SEARCH, &every), users, "the pass opens during the workspaces");
        assert_eq!(reading_endpoint(sites, endpoints::USERS_SEARCH, &[activity, seats]), activity);
        assert_eq!(reading_endpoint(users, endpoints::LAST_ACTIVE_DATES, &every), activity, "per-user activity is user_activity's");
        assert_eq!(reading_endpoint(seats, endpoints::USERS_SEARCH, &every), seats);
        assert_eq!(reading_endpoint(users, endpoints::ORG, &every), users, "no stream reads it: the stream being read");
    }

    #[test]
    fn the_registry_names_each_stream_once_with_its_scopes() {
        let listed: Vec<&str> = ALL.iter().map(|e| e.id.name()).collect();
        assert_eq!(names().split(", ").collect::<Vec<_>>(), listed);
        for (i, e) in ALL.iter().enumerate() {
            let s = e.id.info();
            assert!(!listed[..i].contains(&s.name), "{} is registered twice", s.name);
            assert_eq!(find(s.name), Some(e.id));
            assert!(!s.scopes().is_empty() && s.scopes().iter().all(|scope| scope.starts_with("read:") && !scope.contains(' ')), "{}", s.name);
            assert!(help().contains(&format!("  {}: {}.", s.name, s.summary)));
            assert_eq!(e.probe.is_some(), s.optional.is_some(), "{}: an optional stream has check's probe, and only it", s.name);
        }
    }
}
