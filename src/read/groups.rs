//! `groups`: the groups search, page by page, each group with its role assignments (the
//! client asks for them only for groups that grant roles). Each page is one unit of the
//! writer: its records, then the checkpoint at the page after it; at the end, deletion records
//! for the groups not seen, the final state, COMPLETE. Read last: a key without the groups
//! scope fails this stream alone, after every other stream is complete.

use std::io::Write;

use chrono::Utc;
use serde_json::json;

use super::error::ReadError;
use super::plan::Mode;
use super::records::to_write;
use super::users_pass::stamp;
use super::Reader;
use crate::client::pagination;
use crate::incremental::{GroupsTracker, PassPosition};
use crate::protocol::{now_ms, FailureType};
use crate::streams::groups;
use crate::streams::workspaces::WorkspaceIndex;
use crate::streams::StreamId;
use crate::time;

impl<W: Write> Reader<'_, '_, W> {
    pub(super) async fn read_groups(&mut self, plan: Option<Mode<GroupsTracker>>, sites: &WorkspaceIndex) -> Result<(), ReadError> {
        let stream = StreamId::Groups;
        let mut mode = match plan {
            None => return Ok(()),
            Some(Mode::Frozen(saved)) => return self.writer.complete(stream, &saved),
            Some(mode) => mode,
        };
        let resume = mode.tracker().and_then(GroupsTracker::resume_position).cloned();
        let pass_started = resume.as_ref().and_then(|p| time::parse_lenient(&p.started_at)).unwrap_or_else(Utc::now);
        if let Some(p) = &resume {
            self.writer.info(&format!("groups: resuming the pass begun at {} from its last checkpoint", p.started_at))?;
        }
        let started_text = time::format(pass_started);
        let org_id = self.client.org_id().to_string();
        let mut pages = pagination::groups(self.client.clone(), resume.map(|p| p.next_page));
        let (mut scratch, mut seen) = (Vec::new(), 0u64);
        while let Some(page) = self.wait(stream, pages.recv()).await? {
            let page = page.map_err(|e| alone(ReadError::api(stream, e)))?;
            let emitted_at = now_ms();
            let observed_at = stamp(emitted_at, pass_started);
            let position = page.next.as_ref().map(|next| PassPosition { next_page: next.clone(), started_at: started_text.clone() });
            let mut unit = self.writer.unit(position);
            for entry in &page.items {
                seen += 1;
                let roles = groups::role_records(&entry.roles, sites);
                let changed = |t: &mut GroupsTracker, fp| t.observe(&entry.group.id, fp);
                if let Some(record) = to_write(groups::record(&org_id, entry, &roles), &mut mode, changed, &observed_at, &mut scratch) {
                    unit.record(stream, &record, emitted_at)?;
                }
            }
            let covered = unit.done();
            if let Mode::Incremental(t) = &mode {
                self.writer.checkpoint(&covered, |position| position.iter().map(|p| (stream, t.checkpoint(p))).collect())?;
            }
        }
        self.writer.info(&format!("groups: {seen} groups read"))?;
        let state = match mode {
            Mode::Incremental(mut tracker) => {
                let gone = tracker.finish();
                let now = time::format(Utc::now());
                self.emit_deletions(stream, "groups are no longer in the directory", &gone, |id| groups::deletion(&org_id, id, &now))?;
                tracker.final_state(pass_started)
            }
            _ => json!({}),
        };
        self.writer.complete(stream, &state)
    }
}

/// A config error of `groups` (a key without its scope, a plan without the feature) says that
/// it failed alone: the stream is read last, so every other stream is complete.
fn alone(mut error: ReadError) -> ReadError {
    if error.failure_type == FailureType::ConfigError {
        error.source = error.source.context("groups cannot be read (every other stream of the catalog was read and is complete)");
    }
    error
}
