//! Deterministic synthetic organization generation.
//!
//! [`generate_org`] builds the same [`Org`] for the same [`OrgSpec`] every time
//! (splitmix64 streams per user, a fixed "now"). It scales to hundreds of
//! thousands of users: each user costs a handful of small allocations and no
//! global lookups. Distribution highlights (see the crate docs for the list):
//! every status present, managed and unmanaged users, service accounts without
//! optional fields, never-active users, multi-site activity spread over ~400
//! days, group membership 0..3, a few platform admins, and per-site roles with
//! both "role but no activity" and "activity but no role" cases.

use std::borrow::Cow;

use chrono::SubsecRound;
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::model::*;
use crate::rng::{hash_str, mix64, uuid_from, Rng};

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
];
const FIRST: [&str; 48] = [
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "John",
    "Radia", "Tim", "Hedy", "Edsger", "Karen", "Donald", "Sophie", "Niklaus", "Anita", "Bjarne",
    "Lynn", "Guido", "Mary", "James", "Shafi", "Leslie", "Joan", "Robin", "Carla", "Yukihiro",
    "Amara", "Chen", "Priya", "Mateo", "Olga", "Kwame", "Ingrid", "Tariq", "Zoë", "Renée",
    "José", "Mei", "Aiyana", "Lars", "Fatima", "Hiro", "Nadia", "Omar",
];
const LAST: [&str; 48] = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "McCarthy", "Perlman", "Berners-Lee", "Lamarr", "Dijkstra", "Spärck Jones", "Knuth",
    "Wilson", "Wirth", "Borg", "Stroustrup", "Conway", "van Rossum", "Jackson", "Gosling",
    "Goldwasser", "Lamport", "Clarke", "Milner", "Meinert", "Matsumoto", "Okafor", "Wei",
    "Raman", "García", "Ivanova", "Mensah", "Lindqvist", "Haddad", "Dubois", "Müller",
    "Silva", "Zhang", "Begay", "Nielsen", "Rahman", "Tanaka", "Petrov", "O'Brien",
];
const JOB_TITLES: [&str; 12] = [
    "Software Engineer", "Senior Software Engineer", "Product Manager", "Designer",
    "Engineering Manager", "QA Analyst", "Support Agent", "Technical Writer", "Data Scientist",
    "Site Reliability Engineer", "Marketing Specialist", "Sales Representative",
];
const DEPARTMENTS: [&str; 8] = [
    "Engineering", "Product", "Design", "Support", "Marketing", "Sales", "Finance", "People",
];
const LOCATIONS: [&str; 8] = [
    "Sydney", "San Francisco", "Austin", "Amsterdam", "Bengaluru", "Berlin", "Remote", "Tokyo",
];
const TIME_ZONES: [&str; 8] = [
    "Australia/Sydney", "America/Los_Angeles", "America/Chicago", "Europe/Amsterdam",
    "Asia/Kolkata", "Europe/Berlin", "UTC", "Asia/Tokyo",
];
const UNMANAGED_DOMAINS: [&str; 4] =
    ["gmail.example", "outlook.example", "contractors.example", "agency.example"];
const GROUPS: [(&str, Option<&str>); 9] = [
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

/// Smallest licence tier >= n (with 5% headroom).
pub fn capacity_tier(n: usize) -> u64 {
    const TIERS: [u64; 24] = [
        10, 25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500,
        3000, 4000, 5000, 7500, 10000, 15000, 20000,
    ];
    let want = (n as u64) + (n as u64) / 20;
    TIERS
        .iter()
        .copied()
        .find(|t| *t >= want)
        .unwrap_or_else(|| want.div_ceil(5000) * 5000)
}

fn slug(name: &str) -> String {
    name.to_ascii_lowercase().replace(' ', "-")
}

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
    if a % 7 == 0 {
        // Newer "712020:<uuid>" style.
        format!("712020:{}", uuid_from(b, mix64(b)))
    } else {
        // Classic 24-hex style ids.
        format!("{:012x}{:012x}", (a >> 16) & 0xffff_ffff_ffff, b & 0xffff_ffff_ffff)
    }
}

fn workspaces(seed: u64, now: DateTime<Utc>, company: &str, org: &str) -> Vec<Workspace> {
    let slug = slug(company);
    let cloud = |k: u64| uuid_from(mix64(seed ^ (k << 40)), mix64(seed ^ (k << 41) ^ 7));
    let main_cloud = cloud(1);
    let legacy_cloud = cloud(2);
    let sandbox_cloud = cloud(3);
    let eu_cloud = cloud(4);
    let bb = cloud(5);
    let trello = format!("{:024x}", mix64(seed ^ 0x7e110) as u128 | ((mix64(seed) as u128 & 0xffff_ffff) << 64));
    let og_cloud = cloud(6);
    let ent = |k: u64, key: &str, plan: &str| Entitlement {
        id: uuid_from(mix64(seed ^ 0xe000 ^ k), mix64(seed ^ 0xe100 ^ k)),
        key: key.to_string(),
        plan_key: Some(format!("{}.{}", key, plan.to_ascii_lowercase())),
        plan: Some(plan.to_string()),
    };
    let days = |d: i64| now - Duration::days(d) - Duration::seconds((mix64(seed ^ d as u64) % 86_400) as i64);
    #[allow(clippy::too_many_arguments)]
    fn ws(
        id: String,
        cloud_id: String,
        name: String,
        type_key: &str,
        product_type: &str,
        pa_key: &str,
        la_key: &str,
        org: &str,
        created_at: DateTime<Utc>,
        host_url: Option<String>,
        realm: &str,
        entitlement: Entitlement,
    ) -> Workspace {
        Workspace {
            id,
            cloud_id,
            name,
            type_key: type_key.into(),
            product_type: product_type.into(),
            product_access_key: pa_key.into(),
            last_active_key: la_key.into(),
            owner: Some(org.to_string()),
            status: WorkspaceStatus::Online,
            status_details: vec![],
            labels: vec![],
            sandbox_type: "NONE".into(),
            sandbox_parent_id: None,
            usage: None,
            capacity: None,
            omit_capacity: false,
            created_at,
            created_by: None,
            host_url,
            realm: realm.into(),
            regions: if realm == "eu" {
                vec!["eu-west-1".into(), "eu-central-1".into()]
            } else {
                vec!["us-east-1".into(), "us-west-2".into()]
            },
            entitlement,
        }
    }
    let host = |s: &str| Some(format!("https://{}.atlassian.net", s));
    let mut v = vec![
        ws(format!("ari:cloud:jira-software::site/{main_cloud}"), main_cloud.clone(), format!("{company} Jira"),
           "jira-software", "jira", "jira", "jira-software", org, days(1500), host(&slug), "us",
           ent(0, "jira-software", "Premium")),
        ws(format!("ari:cloud:confluence::site/{main_cloud}"), main_cloud.clone(), format!("{company} Confluence"),
           "confluence", "confluence", "confluence", "confluence", org, days(1490), host(&slug), "us",
           ent(1, "confluence", "Standard")),
        ws(format!("ari:cloud:jira-servicedesk::site/{main_cloud}"), main_cloud.clone(), format!("{company} Service Management"),
           "jira-servicedesk", "jira", "jira-servicedesk", "jira-service-desk", org, days(1200), host(&slug), "us",
           ent(2, "jira-servicedesk", "Standard")),
        ws(format!("ari:cloud:bitbucket::workspace/{bb}"), bb.clone(), format!("{slug}-code"),
           "bitbucket", "bitbucket", "bitbucket", "bitbucket", org, days(1000),
           Some(format!("https://bitbucket.org/{slug}-code")), "us", ent(3, "bitbucket", "Standard")),
        ws(format!("ari:cloud:trello::workspace/{trello}"), trello.clone(), format!("{company} Boards"),
           "trello", "trello", "trello", "trello", org, days(700),
           Some(format!("https://trello.com/w/{slug}")), "us", ent(4, "trello", "Free")),
        ws(format!("ari:cloud:jira-software::site/{legacy_cloud}"), legacy_cloud.clone(), format!("{company} Legacy Jira"),
           "jira-software", "jira", "jira", "jira-software", org, days(1800), host(&format!("{slug}-legacy")), "us",
           ent(5, "jira-software", "Standard")),
        ws(format!("ari:cloud:jira-software::site/{sandbox_cloud}"), sandbox_cloud.clone(), format!("{company} Jira (sandbox)"),
           "jira-software", "jira", "jira", "jira-software", org, days(90), host(&format!("{slug}-sandbox-{}", seed % 1000)), "us",
           ent(6, "jira-software", "Premium")),
        ws(format!("ari:cloud:confluence::site/{eu_cloud}"), eu_cloud.clone(), format!("{company} EU Confluence"),
           "confluence", "confluence", "confluence", "confluence", org, days(400), host(&format!("{slug}-eu")), "eu",
           ent(7, "confluence", "Free")),
        ws(format!("ari:cloud:opsgenie::site/{og_cloud}"), og_cloud.clone(), format!("{company} Opsgenie"),
           "opsgenie", "opsgenie", "opsgenie", "opsgenie", org, days(900), Some(format!("https://{slug}.app.opsgenie.com")), "us",
           ent(8, "opsgenie", "Standard")),
    ];
    v[WS_JIRA].labels = vec!["production".into()];
    v[WS_CONFLUENCE].labels = vec!["production".into(), "docs".into()];
    v[WS_TRELLO].omit_capacity = true;
    v[WS_JIRA_OFFLINE].status = WorkspaceStatus::Offline;
    v[WS_JIRA_OFFLINE].status_details = vec!["deactivated".into()];
    v[WS_JIRA_SANDBOX].sandbox_type = "CHILD".into();
    v[WS_JIRA_SANDBOX].sandbox_parent_id = Some(v[WS_JIRA].id.clone());
    v[WS_JIRA_SANDBOX].labels = vec!["sandbox".into()];
    v[WS_CONFLUENCE_EU].labels = vec!["eu".into()];
    v[WS_OPSGENIE].status = WorkspaceStatus::Deprecated;
    v[WS_OPSGENIE].status_details = vec!["product-retiring".into()];
    v
}

/// Per-workspace chance that an engaged user has activity there.
const ACTIVITY_P: [f64; 9] = [0.72, 0.66, 0.22, 0.25, 0.15, 0.10, 0.05, 0.15, 0.03];

/// Generate the org for `spec` relative to the given fixed `now`.
pub fn generate_org_at(spec: &OrgSpec, now: DateTime<Utc>) -> Org {
    let seed = spec.seed;
    let company = COMPANIES[(mix64(seed) % COMPANIES.len() as u64) as usize];
    let company_slug = slug(company);
    let managed_domain: &'static str = DOMAINS[(mix64(seed) % COMPANIES.len() as u64) as usize];
    debug_assert!(managed_domain.starts_with(&company_slug));
    let id = org_id(seed);
    let mut ws = workspaces(seed, now, company, &id);
    let groups: Vec<Group> = GROUPS
        .iter()
        .enumerate()
        .map(|(k, (name, desc))| Group {
            id: uuid_from(mix64(seed ^ 0x6000 ^ k as u64), mix64(seed ^ 0x6100 ^ k as u64)),
            name: name.to_string(),
            description: desc.map(|d| d.to_string()),
        })
        .collect();

    let n = spec.users;
    let n_admins = (n / 200).max(2).min(n);
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        users.push(gen_user(seed, i, i < n_admins, now, managed_domain, company));
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

    Org {
        id,
        name: format!("{company} Corporation"),
        directory_id: uuid_from(mix64(seed ^ 0xd1), mix64(seed ^ 0xd2)),
        directory_name: format!("{company} directory"),
        now,
        workspaces: ws,
        groups,
        users,
    }
}

fn pick_status(r: &mut Rng) -> UserStatus {
    let x = r.unit();
    if x < 0.84 {
        UserStatus::Active
    } else if x < 0.89 {
        UserStatus::Suspended
    } else if x < 0.92 {
        UserStatus::NotInvited
    } else if x < 0.97 {
        UserStatus::Deactivated
    } else {
        UserStatus::ForDeletion
    }
}

fn last_active_ago(r: &mut Rng) -> Duration {
    let x = r.unit();
    let secs = |lo: f64, hi: f64, r: &mut Rng| ((lo + (hi - lo) * r.unit()) * 86_400.0) as i64;
    Duration::seconds(if x < 0.18 {
        secs(0.0, 2.0, r)
    } else if x < 0.55 {
        secs(2.0, 30.0, r)
    } else if x < 0.83 {
        secs(30.0, 180.0, r)
    } else {
        secs(180.0, 400.0, r)
    })
}

fn gen_user(seed: u64, i: usize, admin: bool, now: DateTime<Utc>, domain: &'static str, company: &'static str) -> User {
    let mut r = Rng::stream(seed, i as u64);
    let account_id = account_id(seed, i);
    let status = if admin { UserStatus::Active } else { pick_status(&mut r) };
    let (account_status, membership_status) = match status {
        UserStatus::Active => (AccountStatus::Active, MembershipStatus::Active),
        UserStatus::Suspended => (AccountStatus::Active, MembershipStatus::Suspended),
        UserStatus::NotInvited => (AccountStatus::Active, MembershipStatus::NoMembership),
        UserStatus::Deactivated => (AccountStatus::Inactive, MembershipStatus::Active),
        UserStatus::ForDeletion => (AccountStatus::Closed, MembershipStatus::Active),
    };
    let service = !admin && r.chance(0.012);
    let managed = admin || service || r.chance(0.7);
    let first = *r.pick(&FIRST);
    let last = *r.pick(&LAST);
    let (name, nickname, email) = if service {
        let svc = *r.pick(&["jenkins", "backup", "reporting", "sync", "ci"]);
        let name = format!("svc-{svc}-{i}");
        let email = if r.chance(0.5) { Some(format!("{name}@{domain}")) } else { None };
        (name, None, email)
    } else {
        let local = format!(
            "{}.{}{}",
            ascii_fold(first),
            ascii_fold(last),
            i
        );
        let dom = if managed { domain } else { *r.pick(&UNMANAGED_DOMAINS) };
        let nickname = if r.chance(0.9) { Some(first.to_string()) } else { None };
        (format!("{first} {last}"), nickname, Some(format!("{local}@{dom}")))
    };

    // addedToOrg: up to ~5 years ago, millisecond precision; a few unknown.
    let added_ms = (r.unit() * 1800.0 * 86_400_000.0) as i64;
    let added_to_org = if r.chance(0.02) { None } else { Some(now - Duration::milliseconds(added_ms)) };
    let earliest = added_to_org.unwrap_or(now - Duration::days(1800));
    let deactivated_on = match status {
        UserStatus::Deactivated | UserStatus::ForDeletion => {
            let span = (now - earliest).num_seconds().max(1);
            Some(now - Duration::seconds((r.unit() * span as f64 * 0.5) as i64) - Duration::milliseconds(r.below(1000) as i64))
        }
        _ => None,
    };
    let deactivated_on = deactivated_on.map(|d| d.max(earliest));
    let active_until = deactivated_on.unwrap_or(now);

    // Activity.
    let never_active = status == UserStatus::NotInvited || (!admin && r.chance(0.12));
    let mut product_access = Vec::new();
    if !never_active {
        for (k, p) in ACTIVITY_P.iter().enumerate() {
            if r.chance(*p) {
                let mut t = now - last_active_ago(&mut r);
                if t > active_until || t < earliest {
                    let span = (active_until - earliest).num_seconds().max(1);
                    t = earliest + Duration::seconds((r.unit() * span as f64) as i64);
                }
                if k == WS_JIRA_OFFLINE && t > now - Duration::days(200) && t - Duration::days(200) >= earliest {
                    t -= Duration::days(200);
                }
                let t = t.max(earliest).min(active_until);
                product_access.push(ProductAccess { workspace: k, last_active: t });
            }
        }
        if product_access.is_empty() {
            let t = (now - last_active_ago(&mut r)).max(earliest).min(active_until);
            product_access.push(ProductAccess { workspace: WS_JIRA, last_active: t });
        }
        if admin {
            for k in [WS_JIRA, WS_CONFLUENCE] {
                if !product_access.iter().any(|p| p.workspace == k) {
                    let t = (now - last_active_ago(&mut r)).max(earliest).min(active_until);
                    product_access.push(ProductAccess { workspace: k, last_active: t });
                }
            }
        }
    }

    // The API reports lastActiveTimestamp in whole seconds: keep the truth identical to the wire.
    for p in &mut product_access {
        p.last_active = p.last_active.trunc_subsecs(0);
    }

    // Roles: most activity comes with a role; some activity has none; some roles
    // have no activity (unused licences).
    let mut site_roles = Vec::new();
    for pa in &product_access {
        if !admin && r.chance(0.05) {
            continue; // activity without a role (access since revoked)
        }
        let role: &'static str = match pa.workspace {
            WS_JSM => {
                if r.chance(0.45) { "atlassian/customer" } else { "atlassian/user" }
            }
            WS_CONFLUENCE | WS_CONFLUENCE_EU => {
                let x = r.unit();
                if !managed && x < 0.3 {
                    "atlassian/guest"
                } else if x < 0.04 {
                    "atlassian/basic"
                } else if admin || x > 0.97 {
                    "atlassian/admin"
                } else {
                    "atlassian/user"
                }
            }
            _ => {
                if admin || r.chance(0.03) { "atlassian/admin" } else { "atlassian/user" }
            }
        };
        site_roles.push(SiteRole { workspace: pa.workspace, role_id: Cow::Borrowed(role) });
    }
    let wants_idle_licence = if never_active {
        status != UserStatus::NotInvited && r.chance(0.7)
    } else {
        r.chance(0.10)
    };
    if wants_idle_licence {
        for k in [WS_JIRA, WS_CONFLUENCE, WS_BITBUCKET] {
            if !site_roles.iter().any(|s| s.workspace == k)
                && !product_access.iter().any(|p| p.workspace == k)
                && r.chance(0.6)
            {
                site_roles.push(SiteRole { workspace: k, role_id: Cow::Borrowed("atlassian/user") });
            }
        }
    }
    if never_active && status != UserStatus::NotInvited && r.chance(0.2) {
        site_roles.push(SiteRole { workspace: WS_JSM, role_id: Cow::Borrowed("atlassian/customer") });
    }

    // Groups: 0..3 distinct.
    let ng = r.below(if admin { 3 } else { 4 }) as usize;
    let mut groups: Vec<usize> = Vec::with_capacity(ng);
    while groups.len() < ng {
        let g = r.below(GROUPS.len() as u64) as usize;
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let mut platform_roles = Vec::new();
    if admin {
        platform_roles.push(Cow::Borrowed("atlassian/org-admin"));
        if i % 2 == 0 {
            platform_roles.push(Cow::Borrowed("atlassian/site-admin"));
        }
        if !groups.contains(&3) {
            groups.push(3);
        }
    } else if r.chance(0.003) {
        platform_roles.push(Cow::Borrowed("atlassian/user-access-admin"));
    }

    let opt = |r: &mut Rng, p: f64, items: &'static [&'static str]| -> Option<Cow<'static, str>> {
        if !service && r.chance(p) {
            Some(Cow::Borrowed(*r.pick(items)))
        } else {
            None
        }
    };
    let job_title = opt(&mut r, 0.8, &JOB_TITLES);
    let department = opt(&mut r, 0.75, &DEPARTMENTS);
    let organization = if !service && managed && r.chance(0.6) { Some(Cow::Borrowed(company)) } else { None };
    let tzi = r.below(LOCATIONS.len() as u64) as usize;
    let location = if !service && r.chance(0.7) { Some(Cow::Borrowed(LOCATIONS[tzi])) } else { None };
    let time_zone = if !service && r.chance(0.85) { Some(Cow::Borrowed(TIME_ZONES[tzi])) } else { None };

    let management_source = if service {
        None
    } else if managed && r.chance(0.35) {
        Some(ManagementSource::Synced)
    } else if r.chance(0.9) {
        Some(ManagementSource::Invited)
    } else {
        None
    };
    let quirks = UserQuirks {
        missing_as_null: r.chance(0.5),
        omit_empty_product_access: product_access.is_empty() && (hash_str(seed, &account_id) % 20 == 0),
        omit_v1_timestamp: r.chance(0.03),
    };

    User {
        account_type: Cow::Borrowed("atlassian"),
        status,
        account_status,
        membership_status,
        added_to_org,
        name,
        nickname,
        email_verified: if service { Some(false) } else if r.chance(0.97) { Some(true) } else { Some(false) },
        email,
        claim_status: if managed { ClaimStatus::Managed } else { ClaimStatus::Unmanaged },
        management_source,
        mfa_enabled: if service { None } else { Some(admin || r.chance(0.6)) },
        job_title,
        department,
        organization,
        location,
        time_zone,
        deactivated_on,
        for_deletion: status == UserStatus::ForDeletion,
        platform_roles,
        groups,
        product_access,
        site_roles,
        quirks,
        account_id,
    }
}

/// Lower-case ASCII-only version of a name part for email local parts.
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            'ä' | 'à' | 'á' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'ö' | 'ó' => 'o',
            'ü' | 'ú' => 'u',
            'í' => 'i',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('-');
        }
    }
    out
}
