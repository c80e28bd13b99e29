//! source-atlassian-admin: an Airbyte source for the Atlassian Cloud Organizations (Admin) API.
//!
//! `commands` runs the protocol's four commands; `sync` is the read loop; `client` talks to the
//! API; `streams` turns API objects into records; `protocol` is the only writer of stdout.

pub mod catalog;
pub mod client;
pub mod commands;
pub mod config;
pub mod incremental;
pub mod json;
pub mod licenses;
pub mod progress;
pub mod protocol;
pub mod state;
pub mod streams;
pub mod sync;
pub mod time;
