//! source-atlassian-admin: an Airbyte source for the Atlassian Cloud Organizations (Admin) API.
//!
//! `commands` runs the protocol's four commands; `read` is the read pipeline (a plan, the users
//! pass and the other streams, one writer); `client` talks to the API; `streams` turns API
//! objects into records; `incremental` keeps the trackers of incremental streams; `protocol`
//! is the only writer of stdout.

pub mod catalog;
pub mod client;
pub mod commands;
pub mod config;
pub mod incremental;
pub mod json;
pub mod progress;
pub mod protocol;
pub mod read;
pub mod state;
pub mod streams;
pub mod time;
