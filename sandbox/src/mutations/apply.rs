//! How each [`Mutation`] changes the org. Every mutation checks its input before it
//! changes anything, so an error leaves the org as it was.

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::named::{MutationContext, NamedMutation};
use super::{ActivityChange, Mutation, MutationError, MutationReport};
use crate::events::actions::*;
use crate::events::{site_object, stamp, user_object, Draft};
use crate::model::*;
use crate::org::{capacity_tier, entitlement, gen_user, identity, site, slug, Product, SiteSpec};
use crate::rng::{uuid_from, Rng};

/// What the mutations of one sandbox share: its seed, how many were applied (each draws
/// from its own stream), and the generator index of the next new user.
#[derive(Debug, Clone)]
pub(crate) struct MutationState {
    seed: u64,
    applied: u64,
    next_user: usize,
}

pub(super) fn fail<T>(msg: impl Into<String>) -> Result<T, MutationError> {
    Err(MutationError(msg.into()))
}

/// `d` days before `now`, in whole seconds (the API's precision for activity).
fn days_before(now: DateTime<Utc>, d: u32) -> DateTime<Utc> {
    (now - Duration::days(d as i64)).trunc_subsecs(0)
}

fn is_active(u: &User) -> bool {
    u.status == UserStatus::Active
}

/// Workspaces a user can be given a seat on: online and not a sandbox.
pub(super) fn open_sites(org: &Org) -> Vec<usize> {
    (0..org.workspaces.len())
        .filter(|&w| org.workspaces[w].status == WorkspaceStatus::Online && org.workspaces[w].sandbox_type == "NONE")
        .collect()
}

/// Up to `count` distinct items of `items`, drawn by `rng` (a partial Fisher–Yates shuffle).
pub(super) fn draw<T>(rng: &mut Rng, mut items: Vec<T>, count: usize) -> Vec<T> {
    let n = count.min(items.len());
    for i in 0..n {
        let j = i + rng.below((items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
    items.truncate(n);
    items
}

/// Sets the user's last active on `ws` to `t`; returns the previous value (`None` = new pair).
fn set_activity(u: &mut User, ws: usize, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match u.product_access.iter_mut().find(|p| p.workspace == ws) {
        Some(p) => Some(std::mem::replace(&mut p.last_active, t)),
        None => {
            u.product_access.push(ProductAccess { workspace: ws, last_active: t });
            None
        }
    }
}

/// Gives the user a seat-consuming role on `ws` (replacing a non-billable one there).
fn grant_seat(u: &mut User, ws: usize) {
    if !u.site_roles.iter().any(|r| r.workspace == ws && BILLABLE_ROLES.contains(&r.role_id.as_ref())) {
        u.site_roles.retain(|r| r.workspace != ws);
        u.site_roles.push(SiteRole { workspace: ws, role_id: Cow::Borrowed("atlassian/user") });
    }
}

impl MutationReport {
    fn new(name: &str, now: DateTime<Utc>) -> Self {
        MutationReport {
            mutation: name.to_string(),
            now,
            users_added: vec![],
            users_removed: vec![],
            users_changed: vec![],
            workspaces_added: vec![],
            workspaces_changed: vec![],
            groups_changed: vec![],
            activity: vec![],
            events_added: vec![],
            changes: Default::default(),
            drafts: vec![],
        }
    }

    pub(super) fn changed_user(&mut self, account_id: &str) {
        if !self.users_changed.iter().any(|a| a == account_id) {
            self.users_changed.push(account_id.to_string());
        }
    }

    fn activity(&mut self, u: &User, w: &Workspace, last_active: Option<DateTime<Utc>>, previous: Option<DateTime<Utc>>) {
        self.activity.push(ActivityChange {
            account_id: u.account_id.clone(),
            workspace: w.id.clone(),
            last_active,
            previous,
        });
    }
}

impl MutationState {
    pub fn new(seed: u64, org: &Org) -> Self {
        MutationState { seed, applied: 0, next_user: org.users.len() }
    }

    /// The stream the next mutation draws its targets from, and its report.
    fn begin(&self, org: &Org, name: &str) -> (Rng, MutationReport) {
        (Rng::stream(self.seed ^ 0x6d75_7461_7465, self.applied), MutationReport::new(name, org.now))
    }

    /// Stamps the events an applied mutation asked for into the log, and counts it.
    fn finish(&mut self, org: &mut Org, mut r: MutationReport) -> MutationReport {
        // From a stream of their own: the targets draw as they did before the log existed.
        let mut events_rng = Rng::stream(self.seed ^ 0x0e7e_4e75_6d75, self.applied);
        r.events_added = stamp(org, &mut events_rng, std::mem::take(&mut r.drafts));
        self.applied += 1;
        r.now = org.now;
        r
    }

    /// Apply a resource's mutation `m` with `fields` to `org` and say what changed.
    pub fn apply_named(&mut self, org: &mut Org, m: &NamedMutation, fields: serde_json::Value) -> Result<MutationReport, MutationError> {
        let (mut rng, mut r) = self.begin(org, m.name);
        m.run(fields, &mut MutationContext { org, rng: &mut rng, number: self.applied + 1, report: &mut r })?;
        Ok(self.finish(org, r))
    }

    /// Apply `m` to `org` and say what changed.
    pub fn apply(&mut self, org: &mut Org, m: &Mutation) -> Result<MutationReport, MutationError> {
        let (mut rng, mut r) = self.begin(org, m.name());
        match m {
            Mutation::AddUsers { count, last_active_days_ago } => {
                let t = days_before(org.now, *last_active_days_ago);
                self.add_users(org, &mut rng, *count, NewUsers::Active { last_active: t }, &mut r)?
            }
            Mutation::HireUsers { count, days_ago } => {
                let joined = (org.now - Duration::days(*days_ago as i64)).trunc_subsecs(3);
                self.add_users(org, &mut rng, *count, NewUsers::Hired { joined }, &mut r)?
            }
            Mutation::LinkSite { product, users, last_active_days_ago } => {
                link_site(org, &mut rng, product, *users, *last_active_days_ago, &mut r)?
            }
            Mutation::RevokeAccess { count, account_ids, workspace } => {
                revoke_access(org, &mut rng, *count, account_ids.as_deref(), workspace.as_deref(), &mut r)?
            }
            Mutation::RemoveUsers { count } => {
                let gone: HashSet<String> =
                    draw(&mut rng, (0..org.users.len()).collect(), *count).into_iter().map(|i| org.users[i].account_id.clone()).collect();
                for u in org.users.iter().filter(|u| gone.contains(&u.account_id)) {
                    r.users_removed.push(u.account_id.clone());
                    r.log(Draft::admin(USER_REMOVED_FROM_ORG, vec![user_object(u)]));
                }
                org.users.retain(|u| !gone.contains(&u.account_id));
            }
            Mutation::SuspendUsers { count } => suspend_users(org, &mut rng, *count, &mut r),
            Mutation::LateActivity { count, days_ago } => late_activity(org, &mut rng, *count, *days_ago, &mut r)?,
            Mutation::NewActivity { count } => new_activity(org, &mut rng, *count, &mut r)?,
            Mutation::RenameSite { workspace, name } => {
                let w = match workspace {
                    Some(ari) => org.workspace_index(ari).ok_or_else(|| MutationError(format!("no workspace {ari}")))?,
                    None if org.workspaces.is_empty() => return fail("the org has no workspace to rename"),
                    None => rng.below(org.workspaces.len() as u64) as usize,
                };
                let ws = &mut org.workspaces[w];
                ws.name = name.clone().unwrap_or_else(|| format!("{} (renamed {})", ws.name, self.applied + 1));
                r.workspaces_changed.push(ws.id.clone());
                r.log(Draft::admin(SITE_RENAMED, vec![site_object(ws)]));
            }
            Mutation::AdvanceClock { days } => org.now += Duration::days(*days as i64),
            Mutation::AddGroup { members } => super::groups::add_group(org, &mut rng, self.applied + 1, *members, &mut r)?,
            Mutation::RemoveGroup {} => super::groups::remove_group(org, &mut rng, &mut r)?,
            Mutation::RenameGroup {} => super::groups::rename_group(org, &mut rng, self.applied + 1, &mut r)?,
            Mutation::GrantGroupRole {} => super::groups::grant_group_role(org, &mut rng, &mut r)?,
            Mutation::RevokeGroupRole {} => super::groups::revoke_group_role(org, &mut rng, &mut r)?,
            Mutation::JoinGroup { count } => super::groups::join_group(org, &mut rng, *count, &mut r)?,
            Mutation::LeaveGroup { count } => super::groups::leave_group(org, &mut rng, *count, &mut r)?,
            Mutation::Logins { count } => super::events::logins(org, &mut rng, *count, &mut r)?,
            Mutation::ApiTokenCreated { account_id, label } => {
                super::events::api_token_created(org, &mut rng, account_id.as_deref(), label.as_deref(), &mut r)?
            }
            Mutation::LateEvents { count, days } => super::events::late_events(org, &mut rng, *count, *days, &mut r)?,
        }
        Ok(self.finish(org, r))
    }

    /// [`Mutation::AddUsers`] and [`Mutation::HireUsers`]: `count` new active users, each
    /// with `atlassian/user` on 1–3 open sites, and activity there or none (see [`NewUsers`]).
    fn add_users(&mut self, org: &mut Org, rng: &mut Rng, count: usize, kind: NewUsers, r: &mut MutationReport) -> Result<(), MutationError> {
        let sites = open_sites(org);
        if sites.is_empty() && count > 0 {
            return fail(format!("{}: the org has no online site to give a seat on", r.mutation));
        }
        let (company, domain) = identity(self.seed);
        let taken: HashSet<String> = org.users.iter().map(|u| u.account_id.clone()).collect();
        for _ in 0..count {
            let mut u = loop {
                let u = gen_user(self.seed, self.next_user, false, org.now, domain, company);
                self.next_user += 1;
                if !taken.contains(&u.account_id) {
                    break u;
                }
            };
            (u.status, u.account_status, u.membership_status) = (UserStatus::Active, AccountStatus::Active, MembershipStatus::Active);
            (u.deactivated_on, u.for_deletion) = (None, false);
            let how_many = 1 + rng.below(sites.len().min(3) as u64) as usize;
            let picks = draw(rng, sites.clone(), how_many);
            let last_active = match kind {
                NewUsers::Active { last_active } => {
                    u.added_to_org = u.added_to_org.map(|a| a.min(last_active - Duration::days(1)));
                    Some(last_active)
                }
                NewUsers::Hired { joined } => {
                    u.added_to_org = Some(joined);
                    None
                }
            };
            u.product_access = match last_active {
                Some(t) => picks.iter().map(|&w| ProductAccess { workspace: w, last_active: t }).collect(),
                None => Vec::new(),
            };
            u.site_roles = picks.iter().map(|&w| SiteRole { workspace: w, role_id: Cow::Borrowed("atlassian/user") }).collect();
            u.quirks.omit_empty_product_access = false;
            r.log(Draft::admin(USER_ADDED_TO_ORG, vec![user_object(&u)]));
            for &w in &picks {
                if last_active.is_some() {
                    r.activity(&u, &org.workspaces[w], last_active, None);
                }
                r.log(Draft::admin(PRODUCT_ACCESS_GRANTED, vec![user_object(&u), site_object(&org.workspaces[w])]));
            }
            r.users_added.push(u.account_id.clone());
            org.users.push(u);
        }
        raise_capacities(org, &sites, r);
        Ok(())
    }
}

/// What the new users of [`MutationState::add_users`] have done.
#[derive(Debug, Clone, Copy)]
enum NewUsers {
    /// Active on each of their sites, last at `last_active` (they joined the day before, or earlier).
    Active { last_active: DateTime<Utc> },
    /// Joined the org at `joined` and never logged in: no product access.
    Hired { joined: DateTime<Utc> },
}

/// A site whose billable users outgrew its capacity moves up to the tier that holds them.
fn raise_capacities(org: &mut Org, sites: &[usize], r: &mut MutationReport) {
    for &w in sites {
        let billable = org.count_with_roles(w, &BILLABLE_ROLES);
        let ws = &mut org.workspaces[w];
        if ws.capacity.is_some_and(|c| (billable as u64) > c) {
            ws.capacity = Some(capacity_tier(billable));
            r.workspaces_changed.push(ws.id.clone());
        }
    }
}

fn link_site(org: &mut Org, rng: &mut Rng, product: &str, users: usize, days_ago: u32, r: &mut MutationReport) -> Result<(), MutationError> {
    let Some(p) = Product::find(product) else {
        return fail(format!("link_site: unknown product '{product}' (jira-software|confluence|jira-servicedesk|bitbucket|trello|opsgenie)"));
    };
    let t = days_before(org.now, days_ago);
    let company = org.name.split_whitespace().next().unwrap_or("Org").to_string();
    let n = org.workspaces.len() + 1;
    let host = match p.family {
        "bitbucket" => format!("{}-code-{n}", slug(&company)),
        family => format!("{}-{family}-{n}", slug(&company)),
    };
    let mut w = site(SiteSpec {
        product: p,
        cloud_id: uuid_from(rng.next_u64(), rng.next_u64()),
        name: format!("{company} {} {n}", p.name),
        owner: org.id.clone(),
        created_at: t - Duration::days(1),
        host_url: Some(p.host_url(&host)),
        realm: "us",
        entitlement: entitlement(uuid_from(rng.next_u64(), rng.next_u64()), p.type_key, if p.family == "trello" { "Free" } else { "Standard" }),
    });
    w.created_by = org.users.iter().find(|u| u.platform_roles.iter().any(|r| r == "atlassian/org-admin")).map(|u| u.account_id.clone());
    let idx = org.workspaces.len();
    let active: Vec<usize> = (0..org.users.len()).filter(|&i| is_active(&org.users[i])).collect();
    let targets = draw(rng, active, users);
    w.omit_capacity = p.family == "trello";
    w.capacity = (!w.omit_capacity).then(|| capacity_tier(targets.len()));
    w.usage = (p.family == "bitbucket").then_some(targets.len() as u64);
    r.workspaces_added.push(w.id.clone());
    r.log(Draft::admin(SITE_LINKED, vec![site_object(&w)]));
    org.workspaces.push(w);
    for i in targets {
        let u = &mut org.users[i];
        grant_seat(u, idx);
        set_activity(u, idx, t);
        r.changed_user(&org.users[i].account_id);
        r.activity(&org.users[i], &org.workspaces[idx], Some(t), None);
        r.log(Draft::admin(PRODUCT_ACCESS_GRANTED, vec![user_object(&org.users[i]), site_object(&org.workspaces[idx])]));
    }
    Ok(())
}

fn revoke_access(
    org: &mut Org,
    rng: &mut Rng,
    count: usize,
    account_ids: Option<&[String]>,
    workspace: Option<&str>,
    r: &mut MutationReport,
) -> Result<(), MutationError> {
    let w = match workspace {
        Some(ari) => org.workspace_index(ari).ok_or_else(|| MutationError(format!("revoke_access: no workspace {ari}")))?,
        None => {
            let seated: Vec<usize> = (0..org.workspaces.len()).filter(|&w| org.count_with_roles(w, &BILLABLE_ROLES) > 0).collect();
            match draw(rng, seated, 1).first() {
                Some(w) => *w,
                None => return fail("revoke_access: no site has billable users"),
            }
        }
    };
    let targets: Vec<usize> = match account_ids {
        Some(ids) => ids
            .iter()
            .map(|a| org.users.iter().position(|u| &u.account_id == a).ok_or_else(|| MutationError(format!("revoke_access: no user {a}"))))
            .collect::<Result<_, _>>()?,
        None => draw(rng, (0..org.users.len()).filter(|&i| org.users[i].touches_workspace(w)).collect(), count),
    };
    for i in targets {
        let u = &mut org.users[i];
        let previous = u.product_access.iter().find(|p| p.workspace == w).map(|p| p.last_active);
        let before = (u.site_roles.len(), u.product_access.len());
        u.site_roles.retain(|r| r.workspace != w);
        u.product_access.retain(|p| p.workspace != w);
        if before != (u.site_roles.len(), u.product_access.len()) {
            r.changed_user(&org.users[i].account_id);
            r.log(Draft::admin(PRODUCT_ACCESS_REVOKED, vec![user_object(&org.users[i]), site_object(&org.workspaces[w])]));
        }
        if previous.is_some() {
            r.activity(&org.users[i], &org.workspaces[w], None, previous);
        }
    }
    r.workspaces_changed.push(org.workspaces[w].id.clone());
    Ok(())
}

fn suspend_users(org: &mut Org, rng: &mut Rng, count: usize, r: &mut MutationReport) {
    let active: Vec<usize> = (0..org.users.len()).filter(|&i| is_active(&org.users[i])).collect();
    for i in draw(rng, active, count) {
        for p in &org.users[i].product_access {
            if let Some(w) = org.workspaces.get(p.workspace) {
                r.activity(&org.users[i], w, None, Some(p.last_active));
            }
        }
        let u = &mut org.users[i];
        (u.status, u.membership_status) = (UserStatus::Suspended, MembershipStatus::Suspended);
        u.site_roles.clear();
        u.product_access.clear();
        r.changed_user(&org.users[i].account_id);
        r.log(Draft::admin(USER_SUSPENDED, vec![user_object(&org.users[i])]));
    }
}

fn late_activity(org: &mut Org, rng: &mut Rng, count: usize, days_ago: u32, r: &mut MutationReport) -> Result<(), MutationError> {
    let t = days_before(org.now, days_ago);
    let newest = org.users.iter().flat_map(|u| org.activity(u).map(|(_, p)| p.last_active)).max();
    if newest.is_none_or(|n| t >= n) {
        return fail(format!("late_activity: {days_ago} days ago is not older than the org's newest activity ({newest:?})"));
    }
    let mut pairs = Vec::new();
    for (i, u) in org.users.iter().enumerate().filter(|(_, u)| is_active(u)) {
        for (k, p) in u.product_access.iter().enumerate() {
            if p.workspace < org.workspaces.len() && p.last_active < t {
                pairs.push((i, k));
            }
        }
    }
    for (i, k) in draw(rng, pairs, count) {
        let previous = std::mem::replace(&mut org.users[i].product_access[k].last_active, t);
        let w = &org.workspaces[org.users[i].product_access[k].workspace];
        r.changed_user(&org.users[i].account_id);
        r.activity(&org.users[i], w, Some(t), Some(previous));
    }
    Ok(())
}

fn new_activity(org: &mut Org, rng: &mut Rng, count: usize, r: &mut MutationReport) -> Result<(), MutationError> {
    let sites = open_sites(org);
    if sites.is_empty() && count > 0 {
        return fail("new_activity: the org has no online site");
    }
    let now = org.now.trunc_subsecs(0);
    let active: Vec<usize> = (0..org.users.len()).filter(|&i| is_active(&org.users[i])).collect();
    for i in draw(rng, active, count) {
        let mut own: Vec<usize> = org.users[i].site_roles.iter().map(|r| r.workspace).filter(|w| sites.contains(w)).collect();
        own.dedup();
        let pool = if own.is_empty() { &sites } else { &own };
        let w = pool[rng.below(pool.len() as u64) as usize];
        let previous = set_activity(&mut org.users[i], w, now);
        r.changed_user(&org.users[i].account_id);
        r.activity(&org.users[i], &org.workspaces[w], Some(now), previous);
    }
    Ok(())
}
