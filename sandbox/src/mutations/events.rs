//! The audit-log mutations — users log in, a user creates an API token, events arrive
//! late — and how every mutation's events reach the log: a mutation asks for them with
//! [`MutationReport::log`] as it changes the org, and [`MutationState::apply`] stamps them
//! into the log once it applied ([`crate::events::stamp`]), from a stream of its own so the
//! targets the mutations draw stay what they were before the log existed.
//!
//! [`MutationState::apply`]: super::MutationState

use chrono::{Duration, SubsecRound};

use super::apply::{draw, fail};
use super::{MutationError, MutationReport};
use crate::events::actions::USER_LOGGED_IN;
use crate::events::{token_draft, token_draft_labelled, user_actor, Draft, Locations};
use crate::model::*;
use crate::rng::Rng;

impl MutationReport {
    /// Asks for one event in the audit log.
    pub(crate) fn log(&mut self, draft: Draft) {
        self.drafts.push(draft);
    }
}

fn active(org: &Org) -> Vec<usize> {
    (0..org.users.len()).filter(|&i| org.users[i].status == UserStatus::Active).collect()
}

pub(super) fn logins(org: &Org, rng: &mut Rng, count: usize, r: &mut MutationReport) -> Result<(), MutationError> {
    let users = active(org);
    if users.is_empty() && count > 0 {
        return fail("logins: the org has no active user");
    }
    for i in draw(rng, users, count) {
        r.log(Draft::by(USER_LOGGED_IN, user_actor(&org.users[i]), Locations::draw(rng)));
    }
    Ok(())
}

pub(super) fn api_token_created(
    org: &Org,
    rng: &mut Rng,
    account_id: Option<&str>,
    label: Option<&str>,
    r: &mut MutationReport,
) -> Result<(), MutationError> {
    let user = match account_id {
        Some(a) => org.user(a).ok_or_else(|| MutationError(format!("api_token_created: no user {a}")))?,
        None => match draw(rng, active(org), 1).first() {
            Some(&i) => &org.users[i],
            None => return fail("api_token_created: the org has no active user"),
        },
    };
    r.log(match label {
        Some(l) => token_draft_labelled(rng, user_actor(user), l.to_string()),
        None => token_draft(rng, user_actor(user)),
    });
    Ok(())
}

pub(super) fn late_events(org: &Org, rng: &mut Rng, count: usize, days: u32, r: &mut MutationReport) -> Result<(), MutationError> {
    if days == 0 {
        return fail("late_events: days must be at least 1 (a late event is dated before the newest one)");
    }
    let users = active(org);
    if users.is_empty() && count > 0 {
        return fail("late_events: the org has no active user");
    }
    let newest = org.served_events().map(|e| e.time).max().unwrap_or(org.now).trunc_subsecs(3);
    let base = newest - Duration::days(days as i64);
    for _ in 0..count {
        let u = &org.users[*rng.pick(&users)];
        let mut d = Draft::by(USER_LOGGED_IN, user_actor(u), Locations::draw(rng));
        d.time = Some(base - Duration::milliseconds(rng.below(3_600_000) as i64));
        r.log(d);
    }
    Ok(())
}
