//! State input: the JSON array of state messages a platform passes with `--state`.
//! Accepts `[]`, nulls, unknown keys and the shapes PyAirbyte writes; keeps each stream's
//! `stream_state` by name. A file that is not such an array is an error, never ignored.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the state file {path} is not a valid list of Airbyte state messages: {reason}")]
    Malformed { path: String, reason: String },
}

#[derive(Debug, Deserialize)]
struct RawStateMessage {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    stream: Option<RawStreamState>,
}

#[derive(Debug, Deserialize)]
struct RawStreamState {
    stream_descriptor: RawDescriptor,
    #[serde(default)]
    stream_state: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawDescriptor {
    name: String,
}

/// Each stream's saved state, by stream name. A stream with a null state is absent (a reset).
#[derive(Debug, Default, Clone)]
pub struct StateInput {
    pub streams: HashMap<String, Value>,
}

impl StateInput {
    pub fn from_file(path: &Path) -> Result<Self, StateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StateError::Unreadable { path: path.display().to_string(), reason: e.to_string() })?;
        Self::from_json(&text).map_err(|reason| StateError::Malformed { path: path.display().to_string(), reason })
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let messages: Vec<Option<RawStateMessage>> = match value {
            Value::Null => Vec::new(),
            Value::Array(_) => serde_json::from_value(value).map_err(|e| e.to_string())?,
            // A bare object is the LEGACY state form; this connector never wrote one.
            Value::Object(_) => return Err("expected a JSON array of state messages, found an object (LEGACY state is not supported)".into()),
            _ => return Err("expected a JSON array of state messages".into()),
        };
        let mut streams = HashMap::new();
        for msg in messages.into_iter().flatten() {
            match msg.kind.as_deref() {
                Some("STREAM") | None if msg.stream.is_some() => {
                    let s = msg.stream.expect("checked above");
                    match s.stream_state {
                        Some(Value::Null) | None => {}
                        Some(state) => {
                            streams.insert(s.stream_descriptor.name, state);
                        }
                    }
                }
                Some("STREAM") => return Err("a STREAM state message has no 'stream'".into()),
                Some(other @ ("GLOBAL" | "LEGACY")) | Some(other) => {
                    return Err(format!("state messages of type {other} are not supported; this connector writes STREAM states"))
                }
                None => {}
            }
        }
        Ok(StateInput { streams })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_shapes() {
        assert!(StateInput::from_json("[]").unwrap().streams.is_empty());
        assert!(StateInput::from_json("null").unwrap().streams.is_empty());
        let pyairbyte = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},
            "stream_state":{"a":1}},"global_":null,"sourceStats":null,"data":null}]"#;
        assert_eq!(StateInput::from_json(pyairbyte).unwrap().streams["users"], serde_json::json!({"a":1}));
        let reset = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":null}}]"#;
        assert!(StateInput::from_json(reset).unwrap().streams.is_empty());
    }

    #[test]
    fn refuses_malformed_state() {
        for bad in ["{", "{}", "3", r#"[{"type":"STREAM"}]"#, r#"[{"type":"GLOBAL","global":{}}]"#, r#"[{"type":"STREAM","stream":{}}]"#] {
            assert!(StateInput::from_json(bad).is_err(), "{bad}");
        }
    }
}
