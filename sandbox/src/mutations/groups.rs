//! The group mutations: groups added, removed, renamed; a role granted or revoked through a
//! group; users joining or leaving a group. Members always hold what their groups grant
//! ([`Org::grant_group_roles`]), so a change shows at once in the groups endpoints, in
//! `users.groups` and in the seats (the role-filtered users search). Each change is logged
//! in the audit log.

use std::borrow::Cow;

use super::apply::{draw, fail, open_sites};
use super::{MutationError, MutationReport};
use crate::events::actions::*;
use crate::events::{group_object, site_object, user_object, Draft, EventObject};
use crate::model::*;
use crate::rng::{uuid_from, Rng};

/// The groups that grant some role, or every group when none does.
fn granting(org: &Org) -> Vec<usize> {
    (0..org.groups.len()).filter(|&g| !org.groups[g].grants.is_empty()).collect()
}

fn pick(rng: &mut Rng, items: Vec<usize>, what: &str) -> Result<usize, MutationError> {
    match draw(rng, items, 1).first() {
        Some(&g) => Ok(g),
        None => fail(format!("{what}: the org has no such group")),
    }
}

/// The site a role is granted on through a group, with the role.
fn role_object(w: &Workspace, role: &str) -> EventObject {
    let mut o = site_object(w);
    if let Some(a) = o.attributes.as_mut() {
        a.insert("role".into(), serde_json::json!(role));
    }
    o
}

/// Records every member of group `g` as changed (their `groups` or roles changed).
fn members_changed(org: &Org, g: usize, r: &mut MutationReport) {
    for u in org.users.iter().filter(|u| u.groups.contains(&g)) {
        r.changed_user(&u.account_id);
    }
}

pub(super) fn add_group(org: &mut Org, rng: &mut Rng, n: u64, members: usize, r: &mut MutationReport) -> Result<(), MutationError> {
    let id = uuid_from(rng.below(u64::MAX), n ^ 0x6a0c_0000);
    if org.groups.iter().any(|g| g.id == id) {
        return fail("add_group: the drawn id is taken");
    }
    org.groups.push(Group {
        id: id.clone(),
        name: format!("new-group-{n}"),
        description: Some(format!("Added by mutation {n}")),
        managed_by: Cow::Borrowed("admins"),
        external_synced: false,
        grants: Vec::new(),
    });
    let g = org.groups.len() - 1;
    r.log(Draft::admin(GROUP_CREATED, vec![group_object(&org.groups[g])]));
    let active: Vec<usize> = (0..org.users.len()).filter(|&i| org.users[i].status == UserStatus::Active).collect();
    for i in draw(rng, active, members) {
        org.users[i].groups.push(g);
        r.log(Draft::admin(USER_ADDED_TO_GROUP, vec![user_object(&org.users[i]), group_object(&org.groups[g])]));
    }
    members_changed(org, g, r);
    r.groups_changed.push(id);
    Ok(())
}

pub(super) fn remove_group(org: &mut Org, rng: &mut Rng, r: &mut MutationReport) -> Result<(), MutationError> {
    let g = pick(rng, (0..org.groups.len()).collect(), "remove_group")?;
    members_changed(org, g, r);
    r.groups_changed.push(org.groups[g].id.clone());
    r.log(Draft::admin(GROUP_DELETED, vec![group_object(&org.groups[g])]));
    org.remove_group(g);
    Ok(())
}

pub(super) fn rename_group(org: &mut Org, rng: &mut Rng, n: u64, r: &mut MutationReport) -> Result<(), MutationError> {
    let g = pick(rng, (0..org.groups.len()).collect(), "rename_group")?;
    let group = &mut org.groups[g];
    group.name = format!("{} (renamed {n})", group.name);
    r.groups_changed.push(group.id.clone());
    r.log(Draft::admin(GROUP_RENAMED, vec![group_object(group)]));
    members_changed(org, g, r); // their users.groups[].name changed
    Ok(())
}

pub(super) fn grant_group_role(org: &mut Org, rng: &mut Rng, r: &mut MutationReport) -> Result<(), MutationError> {
    let sites = open_sites(org);
    let candidates: Vec<(usize, usize)> = (0..org.groups.len())
        .flat_map(|g| sites.iter().map(move |&w| (g, w)))
        .filter(|&(g, w)| !org.groups[g].grants.iter().any(|r| r.workspace == w))
        .collect();
    let Some(&(g, w)) = draw(rng, candidates, 1).first() else { return fail("grant_group_role: every group grants a role on every site") };
    org.groups[g].grants.push(SiteRole { workspace: w, role_id: Cow::Borrowed("atlassian/user") });
    r.log(Draft::admin(GROUP_ROLE_GRANTED, vec![group_object(&org.groups[g]), role_object(&org.workspaces[w], "atlassian/user")]));
    org.grant_group_roles(g);
    members_changed(org, g, r);
    r.groups_changed.push(org.groups[g].id.clone());
    r.workspaces_changed.push(org.workspaces[w].id.clone());
    Ok(())
}

pub(super) fn revoke_group_role(org: &mut Org, rng: &mut Rng, r: &mut MutationReport) -> Result<(), MutationError> {
    let g = pick(rng, granting(org), "revoke_group_role")?;
    let k = rng.below(org.groups[g].grants.len() as u64) as usize;
    let role = org.groups[g].grants.remove(k);
    org.revoke_group_role(g, &role);
    members_changed(org, g, r);
    r.groups_changed.push(org.groups[g].id.clone());
    if let Some(w) = org.workspaces.get(role.workspace) {
        r.workspaces_changed.push(w.id.clone());
        r.log(Draft::admin(GROUP_ROLE_REVOKED, vec![group_object(&org.groups[g]), role_object(w, &role.role_id)]));
    }
    Ok(())
}

pub(super) fn join_group(org: &mut Org, rng: &mut Rng, count: usize, r: &mut MutationReport) -> Result<(), MutationError> {
    let g = pick(rng, granting(org), "join_group")?;
    let outside: Vec<usize> = (0..org.users.len()).filter(|&i| org.users[i].status == UserStatus::Active && !org.users[i].groups.contains(&g)).collect();
    for i in draw(rng, outside, count) {
        org.users[i].groups.push(g);
        r.changed_user(&org.users[i].account_id);
        r.log(Draft::admin(USER_ADDED_TO_GROUP, vec![user_object(&org.users[i]), group_object(&org.groups[g])]));
    }
    org.grant_group_roles(g);
    r.groups_changed.push(org.groups[g].id.clone());
    Ok(())
}

pub(super) fn leave_group(org: &mut Org, rng: &mut Rng, count: usize, r: &mut MutationReport) -> Result<(), MutationError> {
    let g = pick(rng, granting(org), "leave_group")?;
    let members: Vec<usize> = (0..org.users.len()).filter(|&i| org.users[i].groups.contains(&g)).collect();
    for i in draw(rng, members, count) {
        org.leave_group(i, g);
        r.changed_user(&org.users[i].account_id);
        r.log(Draft::admin(USER_REMOVED_FROM_GROUP, vec![user_object(&org.users[i]), group_object(&org.groups[g])]));
    }
    r.groups_changed.push(org.groups[g].id.clone());
    Ok(())
}
