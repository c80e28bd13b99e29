//! One generated user: identity, statuses, activity, roles and groups, drawn
//! from the user's own splitmix64 stream.

use std::borrow::Cow;

use chrono::SubsecRound;
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::rng::{hash_str, Rng};

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
    ["gmail.example", "outlook.example", "contractors.example", "agency.example"];/// Per-workspace chance that an engaged user has activity there.
const ACTIVITY_P: [f64; 9] = [0.72, 0.66, 0.22, 0.25, 0.15, 0.10, 0.05, 0.15, 0.03];
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
pub(crate) fn gen_user(seed: u64, i: usize, admin: bool, now: DateTime<Utc>, domain: &'static str, company: &'static str) -> User {
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
