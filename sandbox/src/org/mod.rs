//! Deterministic synthetic organization generation.
//!
//! [`generate_org`] builds the same [`Org`] for the same [`OrgSpec`] every time
//! (splitmix64 streams per user, a fixed "now"). It scales to hundreds of
//! thousands of users: each user costs a handful of small allocations and no
//! global lookups. Distribution highlights (see the crate docs for the list):
//! every status present, managed and unmanaged users, service accounts without
//! optional fields, never-active users, multi-site activity spread over ~400
//! days, group membership 0..3, a few platform admins, and per-site roles with
//! both "role but no activity" and "activity but no role" cases. A resource with data of
//! its own generates it last, from the org and its seed (its entry in the registry).

mod sites;
mod user;

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};

use crate::model::*;
use crate::resources::REGISTRY;
use crate::rng::{mix64, uuid_from};

pub use sites::capacity_tier;
pub(crate) use sites::{entitlement, product_name, site, slug, Product, SiteSpec};
pub(crate) use user::gen_user;
use sites::workspaces;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgSpec {
    pub seed: u64,
    pub users: usize,
}

impl Default for OrgSpec {
    fn default() -> Self {
        OrgSpec { seed: 42, users: 1000 }
    }
}

/// The default fixed "now": 2026-11-01T00:00:00Z.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("valid date")
}

/// Generate the org for `spec` with the default "now" ([`default_now`]).
pub fn generate_org(spec: &OrgSpec) -> Org {
    generate_org_at(spec, default_now())
}

// Workspace slots (indexes into Org::workspaces).
pub const WS_JIRA: usize = 0;
pub const WS_CONFLUENCE: usize = 1;
pub const WS_JSM: usize = 2;
pub const WS_BITBUCKET: usize = 3;
pub const WS_TRELLO: usize = 4;
pub const WS_JIRA_OFFLINE: usize = 5;
pub const WS_JIRA_SANDBOX: usize = 6;
pub const WS_CONFLUENCE_EU: usize = 7;
pub const WS_OPSGENIE: usize = 8;
const COMPANIES: [&str; 8] = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Tyrell",
];
const DOMAINS: [&str; 8] = [
    "acme.example.com", "globex.example.com", "initech.example.com", "umbrella.example.com",
    "hooli.example.com", "vandelay.example.com", "soylent.example.com", "tyrell.example.com",
];const GROUPS: [(&str, Option<&str>); 9] = [
    ("jira-software-users", Some("Grants access to Jira")),
    ("confluence-users", Some("Grants access to Confluence")),
    ("jira-servicemanagement-users", Some("Grants access to Jira Service Management")),
    ("site-admins", Some("Site administrators")),
    ("bitbucket-developers", None),
    ("contractors", Some("External contractors")),
    ("engineering", Some("")),
    ("marketing", None),
    ("all-staff", Some("Everyone employed by the company")),
];
/// The index of the externally synced group in [`GROUPS`].
const GROUP_CONTRACTORS: usize = 5;

/// (group index in [`GROUPS`], site, role) each group grants: product access through groups,
/// as admin.atlassian.com sets it up by default; the other groups grant nothing.
const GROUP_GRANTS: [(usize, usize, &str); 6] = [
    (0, WS_JIRA, "atlassian/user"),
    (1, WS_CONFLUENCE, "atlassian/user"),
    (2, WS_JSM, "atlassian/user"),
    (3, WS_JIRA, "atlassian/admin"),
    (4, WS_BITBUCKET, "atlassian/user"),
    (5, WS_CONFLUENCE, "atlassian/guest"),
];

/// Org id: UUID-shaped but deliberately not pure hex in its last group.
fn org_id(seed: u64) -> String {
    let base = uuid_from(mix64(seed ^ 0x0a11), mix64(seed ^ 0x0b22));
    let tail_h = mix64(seed ^ 0x0c33);
    let alphabet = b"0123456789abcdefghjkmnpqrstuvwxyz";
    let mut s: String = base[..24].to_string();
    for k in 0..12 {
        s.push(alphabet[((tail_h >> (k * 5)) % alphabet.len() as u64) as usize] as char);
    }
    s
}

fn account_id(seed: u64, i: usize) -> String {
    let a = mix64(seed.wrapping_mul(0x5851_F42D_4C95_7F2D) ^ (i as u64).wrapping_add(1));
    let b = mix64(a ^ 0xdead_beef);
    // The shapes of Atlassian's account ids, in roughly their shares: mostly "557058:<uuid>",
    // then classic 24-hex ids, and some "712020:<uuid>".
    if a % 7 == 0 {
        format!("712020:{}", uuid_from(b, mix64(b)))
    } else if (a >> 8) % 3 != 0 {
        format!("557058:{}", uuid_from(mix64(b ^ 0x5570), mix64(b ^ 0x5571)))
    } else {
        format!("{:012x}{:012x}", (a >> 16) & 0xffff_ffff_ffff, b & 0xffff_ffff_ffff)
    }
}

/// The company name and managed (verified) email domain of the org generated from `seed`.
pub(crate) fn identity(seed: u64) -> (&'static str, &'static str) {
    let k = (mix64(seed) % COMPANIES.len() as u64) as usize;
    (COMPANIES[k], DOMAINS[k])
}

/// Generate the org for `spec` relative to the given fixed `now`.
pub fn generate_org_at(spec: &OrgSpec, now: DateTime<Utc>) -> Org {
    let seed = spec.seed;
    let (company, managed_domain) = identity(seed);
    debug_assert!(managed_domain.starts_with(&slug(company)));
    let id = org_id(seed);
    let mut ws = workspaces(seed, now, company, &id);
    let groups: Vec<Group> = GROUPS
        .iter()
        .enumerate()
        .map(|(k, (name, desc))| Group {
            id: uuid_from(mix64(seed ^ 0x6000 ^ k as u64), mix64(seed ^ 0x6100 ^ k as u64)),
            name: name.to_string(),
            description: desc.map(|d| d.to_string()),
            managed_by: Cow::Borrowed(if k == GROUP_CONTRACTORS { "external" } else { "admins" }),
            external_synced: k == GROUP_CONTRACTORS,
            grants: GROUP_GRANTS
                .iter()
                .filter(|(group, _, _)| *group == k)
                .map(|(_, workspace, role)| SiteRole { workspace: *workspace, role_id: Cow::Borrowed(role) })
                .collect(),
        })
        .collect();

    let n = spec.users;
    let n_admins = (n / 200).max(2).min(n);
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        users.push(gen_user(seed, i, i < n_admins, now, managed_domain, company));
    }

    // Members hold what their groups grant (seats through a group), before seats are counted.
    for u in &mut users {
        for &g in &u.groups {
            for grant in &groups[g].grants {
                if !u.site_roles.contains(grant) {
                    u.site_roles.push(grant.clone());
                }
            }
        }
    }

    // Capacities from the billable roles actually held.
    let mut billable = vec![0usize; ws.len()];
    let mut any_role = vec![0usize; ws.len()];
    for u in &users {
        for r in &u.site_roles {
            if BILLABLE_ROLES.contains(&r.role_id.as_ref()) {
                billable[r.workspace] += 1;
            }
            any_role[r.workspace] += 1;
        }
    }
    for (k, w) in ws.iter_mut().enumerate() {
        w.created_by = users.first().map(|u| u.account_id.clone());
        if !w.omit_capacity {
            w.capacity = Some(capacity_tier(billable[k]));
        }
    }
    ws[WS_JIRA_SANDBOX].capacity = ws[WS_JIRA].capacity;
    ws[WS_BITBUCKET].usage = Some(any_role[WS_BITBUCKET] as u64);

    // The fields of resources with data of their own start empty: their generators fill them.
    #[allow(clippy::needless_update)]
    let mut org = Org {
        id,
        name: format!("{company} Corporation"),
        directory_id: uuid_from(mix64(seed ^ 0xd1), mix64(seed ^ 0xd2)),
        directory_name: format!("{company} directory"),
        now,
        workspaces: ws,
        groups,
        users,
        events: Vec::new(),
        ..Org::default()
    };
    for generate in REGISTRY.iter().filter_map(|r| r.generate) {
        generate(&mut org, seed);
    }
    org
}
