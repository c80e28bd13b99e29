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
