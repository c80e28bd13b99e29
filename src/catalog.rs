//! The configured catalog a platform passes to `read`: which streams, in which sync mode.
//! Unknown keys are accepted (platforms add their own); unknown streams are refused by name.

use std::path::Path;

use serde::Deserialize;

use crate::streams::{self, StreamId};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the catalog file {path} is not a valid configured catalog: {reason}")]
    Malformed { path: String, reason: String },
    #[error("the catalog names stream '{0}', which this connector does not have (streams: {names})", names = streams::names())]
    UnknownStream(String),
    #[error("the catalog names stream '{0}' more than once")]
    DuplicateStream(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    FullRefresh,
    Incremental,
}

#[derive(Debug, Deserialize)]
struct RawCatalog {
    streams: Vec<RawConfiguredStream>,
}

#[derive(Debug, Deserialize)]
struct RawConfiguredStream {
    stream: RawStream,
    #[serde(default = "full_refresh")]
    sync_mode: SyncMode,
}

#[derive(Debug, Deserialize)]
struct RawStream {
    name: String,
}

fn full_refresh() -> SyncMode {
    SyncMode::FullRefresh
}

/// One stream the platform asked for.
#[derive(Debug, Clone, Copy)]
pub struct ConfiguredStream {
    pub id: StreamId,
    pub sync_mode: SyncMode,
}

#[derive(Debug, Clone, Default)]
pub struct ConfiguredCatalog {
    pub streams: Vec<ConfiguredStream>,
    /// What was adjusted on the way in, for a WARN log line.
    pub warnings: Vec<String>,
}

impl ConfiguredCatalog {
    pub fn from_file(path: &Path) -> Result<Self, CatalogError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CatalogError::Unreadable { path: path.display().to_string(), reason: e.to_string() })?;
        Self::from_json(&text).map_err(|e| match e {
            CatalogError::Malformed { reason, .. } => CatalogError::Malformed { path: path.display().to_string(), reason },
            other => other,
        })
    }

    pub fn from_json(text: &str) -> Result<Self, CatalogError> {
        let raw: RawCatalog = serde_json::from_str(text)
            .map_err(|e| CatalogError::Malformed { path: String::new(), reason: e.to_string() })?;
        let mut streams: Vec<ConfiguredStream> = Vec::with_capacity(raw.streams.len());
        let mut warnings = Vec::new();
        for s in raw.streams {
            let id = streams::find(&s.stream.name).ok_or_else(|| CatalogError::UnknownStream(s.stream.name.clone()))?;
            let info = id.info();
            if streams.iter().any(|c| c.id == id) {
                return Err(CatalogError::DuplicateStream(s.stream.name));
            }
            // Clients such as PyAirbyte ask every stream for incremental; a stream without a
            // cursor is read in full, as the Python CDK does.
            let mut sync_mode = s.sync_mode;
            if sync_mode == SyncMode::Incremental && !info.supports_incremental() {
                sync_mode = SyncMode::FullRefresh;
                warnings.push(format!(
                    "Stream '{}' has no incremental mode: it is read in full refresh, as if the catalog asked for that",
                    info.name
                ));
            }
            streams.push(ConfiguredStream { id, sync_mode });
        }
        Ok(ConfiguredCatalog { streams, warnings })
    }

    pub fn get(&self, name: &str) -> Option<&ConfiguredStream> {
        self.streams.iter().find(|s| s.id.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unknown_keys_and_refuses_unknown_streams() {
        let ok = r#"{"streams":[{"stream":{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh"],"x":1},
            "sync_mode":"full_refresh","destination_sync_mode":"overwrite","generation_id":3,"extra":true}]}"#;
        assert_eq!(ConfiguredCatalog::from_json(ok).unwrap().streams.len(), 1);
        let bad = r#"{"streams":[{"stream":{"name":"jira_issues"},"sync_mode":"full_refresh"}]}"#;
        assert!(matches!(ConfiguredCatalog::from_json(bad), Err(CatalogError::UnknownStream(n)) if n == "jira_issues"));
        let dup = r#"{"streams":[{"stream":{"name":"users"}},{"stream":{"name":"users"}}]}"#;
        assert!(matches!(ConfiguredCatalog::from_json(dup), Err(CatalogError::DuplicateStream(_))));
        assert!(matches!(ConfiguredCatalog::from_json("[]"), Err(CatalogError::Malformed { .. })));
    }

    #[test]
    fn incremental_on_a_full_refresh_stream_reads_it_in_full_with_a_warning() {
        let cat = r#"{"streams":[{"stream":{"name":"workspaces"},"sync_mode":"incremental"},{"stream":{"name":"users"},"sync_mode":"incremental"}]}"#;
        let c = ConfiguredCatalog::from_json(cat).unwrap();
        assert_eq!(c.get("workspaces").unwrap().sync_mode, SyncMode::FullRefresh);
        assert_eq!(c.get("users").unwrap().sync_mode, SyncMode::Incremental);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("workspaces"));
    }
}
