//! A read that failed: what went wrong, its protocol failure type, and the stream it failed in.

use crate::client::ApiError;
use crate::protocol::FailureType;
use crate::streams::StreamId;

#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct ReadError {
    pub stream: Option<StreamId>,
    pub failure_type: FailureType,
    #[source]
    pub source: anyhow::Error,
}

/// A stream that cannot be read at all, in a message of its own that says so whole: failed
/// alone, it is not worded again by the driver (and keeps 0.1.0's message).
#[derive(Debug, thiserror::Error)]
#[error("{stream} cannot be read: {why}")]
pub struct Unreadable {
    stream: &'static str,
    why: &'static str,
}

impl ReadError {
    /// `stream` cannot be read, for the reason `why` (a configuration the user must change).
    pub fn unreadable(stream: StreamId, why: &'static str) -> Self {
        ReadError { stream: Some(stream), failure_type: FailureType::ConfigError, source: Unreadable { stream: stream.name(), why }.into() }
    }

    /// A failed API call, reported against the stream whose request it was.
    pub fn api(stream: StreamId, e: ApiError) -> Self {
        ReadError { stream: Some(stream), failure_type: e.failure_type(), source: e.into() }
    }

    /// A saved state this connector cannot use.
    pub fn state(stream: StreamId, message: String) -> Self {
        let name = stream.name();
        ReadError {
            stream: Some(stream),
            failure_type: FailureType::ConfigError,
            source: anyhow::anyhow!(
                "the saved state of stream '{name}' cannot be used: {}. Pass the state this connector emitted, or reset the stream",
                message.trim_end_matches('.')
            ),
        }
    }

    /// A read stopped by a signal: nothing is wrong, the next sync resumes.
    pub fn interrupted(signal: &str) -> Self {
        ReadError {
            stream: None,
            failure_type: FailureType::TransientError,
            source: anyhow::anyhow!(
                "The sync was interrupted ({signal}). Records before the last STATE message are checkpointed: the next sync resumes from there"
            ),
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError { stream: None, failure_type: FailureType::SystemError, source: anyhow::Error::new(e).context("writing to stdout failed") }
    }
}

impl From<ApiError> for ReadError {
    fn from(e: ApiError) -> Self {
        ReadError { stream: None, failure_type: e.failure_type(), source: e.into() }
    }
}
