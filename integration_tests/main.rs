//! End-to-end tests: the real binary, run as a platform would, against the in-process sandbox.
//! Every line it prints is decoded into strict test-side types and validated against the
//! official Airbyte protocol schema.

mod harness;

mod activity;
mod api_keys;
mod api_tokens;
mod audit_events;
mod domains;
mod cli;
mod convergence;
mod errors_doc;
mod groups;
mod incremental;
mod key_only;
mod licenses;
mod managed;
mod plain;
mod policies;
mod limiters;
mod packaging;
mod read;
mod resilience;
mod seat_counts;
mod service_accounts;
mod hostile;
