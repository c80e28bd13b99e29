//! `license_assignments`: one filtered users search per site and billable role, sandbox and
//! offline sites skipped (a LOG line says so). Each search is one unit of the writer: in
//! incremental mode its new seats and deletions are emitted once it is complete, then a STATE.

use std::collections::HashSet;
use std::io::Write;

use chrono::Utc;
use serde_json::json;

use super::cadence::Cadence;
use super::error::ReadError;
use super::plan::Mode;
use super::users_pass::stamp;
use super::workspaces::Site;
use super::Reader;
use crate::client::pagination;
use crate::incremental::account_key::AccountKey;
use crate::incremental::LicenseTracker;
use crate::protocol::{now_ms, FailureType};
use crate::streams::license_assignments::{self, BILLABLE_ROLES};
use crate::streams::StreamId;

/// Why seats cannot be read with a key the users search refuses.
const SEARCH_REFUSED: &str = "license_assignments cannot be read: it needs the users search (POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search, one search per site and billable role), which answered 403 Forbidden for this API key. A key created with scopes needs the scope 'read:directories:admin' for it: create a key with that scope (or one without scopes) under admin.atlassian.com → Settings → API keys. users and user_activity were read for the managed accounts only";

impl<W: Write> Reader<'_, '_, W> {
    pub(super) async fn read_licenses(&mut self, plan: Option<Mode<LicenseTracker>>, sites: Vec<Site>) -> Result<(), ReadError> {
        let stream = StreamId::LicenseAssignments;
        let mut tracker = match plan {
            None => return Ok(()),
            Some(Mode::Frozen(saved)) => return self.writer.complete(stream, &saved),
            Some(Mode::FullRefresh) => None,
            Some(Mode::Incremental(t)) => Some(t),
        };
        if self.only_managed {
            return Err(ReadError { stream: Some(stream), failure_type: FailureType::ConfigError, source: anyhow::anyhow!(SEARCH_REFUSED) });
        }
        let org_id = self.client.org_id().to_string();
        let started = tracker.as_ref().and_then(|t| t.resumed_from()).unwrap_or_else(Utc::now);
        let (mut searches, mut seats) = (0u64, 0u64);
        let mut cadence = Cadence::new(1);
        for site in &sites {
            let label = site.name.as_deref().unwrap_or("(unnamed)");
            if let Some(reason) = site.skip {
                self.writer.info(&format!("{}: skipping site '{label}' ({}): {reason}", stream.name(), site.workspace_id))?;
                continue;
            }
            for role in BILLABLE_ROLES {
                if tracker.as_ref().is_some_and(|t| t.is_done(&site.workspace_id, role)) {
                    continue; // completed before the interruption this sync resumes
                }
                let mut pages = pagination::users_with_role(self.client.clone(), site.workspace_id.clone(), role.to_string());
                let mut found = HashSet::new();
                while let Some(page) = self.wait(stream, pages.recv()).await? {
                    let page = page.map_err(|e| ReadError::api(stream, e))?;
                    let emitted_at = now_ms();
                    let observed_at = stamp(emitted_at, started);
                    let mut unit = self.writer.unit(());
                    for u in &page.items {
                        if !found.insert(AccountKey::new(&u.account_id)) || tracker.is_some() {
                            continue; // a repeat; or incremental, which emits once the search is complete
                        }
                        let rec = license_assignments::record(&org_id, &site.workspace_id, &u.account_id, role, &observed_at);
                        unit.record(stream, &rec, emitted_at)?;
                    }
                    unit.done();
                }
                searches += 1;
                seats += found.len() as u64;
                if let Some(t) = &mut tracker {
                    let changes = t.complete_search(&site.workspace_id, role, found);
                    let emitted_at = now_ms();
                    let now = stamp(emitted_at, started);
                    let mut unit = self.writer.unit(());
                    for account in &changes.added {
                        unit.record(stream, &license_assignments::record(&org_id, &site.workspace_id, account, role, &now), emitted_at)?;
                    }
                    for account in &changes.removed {
                        unit.record(stream, &license_assignments::deletion(&org_id, &site.workspace_id, account, role, &now), emitted_at)?;
                    }
                    let covered = unit.done();
                    let entries = t.key_count();
                    cadence.checkpoint(self.writer, Some(stream), entries, &covered, |_| [(stream, t.checkpoint(started))])?;
                }
            }
        }
        let state = match &mut tracker {
            Some(t) => {
                let gone = t.finish();
                if !gone.is_empty() {
                    self.writer.info(&format!("{}: {} seats are on sites no longer read: emitting deletion records", stream.name(), gone.len()))?;
                }
                let emitted_at = now_ms();
                let now = stamp(emitted_at, started);
                let mut unit = self.writer.unit(());
                for (workspace_id, role, account) in &gone {
                    unit.record(stream, &license_assignments::deletion(&org_id, workspace_id, account, role, &now), emitted_at)?;
                }
                unit.done();
                t.final_state(started)
            }
            None => json!({}),
        };
        self.writer.info(&format!("{}: {searches} site/role searches, {seats} billable seats", stream.name()))?;
        self.writer.complete(stream, &state)
    }
}
