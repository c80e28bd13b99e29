//! Building events: the generated history ([`generate_events`]) and the events the
//! mutations append ([`stamp`] turns their [`Draft`]s into events processed at the org's now).
//!
//! Both draw from seeded streams only, so the same seed, org and mutations give the same log.
//! Actors are org users — admins for admin actions, the user themself for logins and tokens —
//! and sometimes an app (3LO on behalf of an admin, 2LO, Connect) or the org's API key.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{json, Map, Value};

use super::{actions::*, sort_log, AuthType, Event, EventActor, EventApp, EventAuth, EventLocation, EventMessage, EventObject, EventPrincipal, EVENT_ACTIONS};
use crate::model::{Group, Org, User, UserStatus, Workspace};
use crate::rng::{hash_str, mix64, uuid_from, Rng};

/// The generated history spans this many days before the org's now (longer than the
/// retention, so its oldest part is never served).
const HISTORY_DAYS: i64 = 200;
/// The share of events processed late (hours to two days after they happened).
const LATE_SHARE: f64 = 0.05;

/// How often each action appears in the generated history (weights).
const HISTORY: [(&str, u64); 16] = [
    (USER_LOGGED_IN, 420),
    (API_TOKEN_CREATED, 30),
    (USER_ADDED_TO_ORG, 80),
    (USER_REMOVED_FROM_ORG, 25),
    (USER_SUSPENDED, 25),
    (PRODUCT_ACCESS_GRANTED, 140),
    (PRODUCT_ACCESS_REVOKED, 60),
    (SITE_LINKED, 5),
    (SITE_RENAMED, 10),
    (GROUP_CREATED, 10),
    (GROUP_DELETED, 5),
    (GROUP_RENAMED, 10),
    (USER_ADDED_TO_GROUP, 90),
    (USER_REMOVED_FROM_GROUP, 40),
    (GROUP_ROLE_GRANTED, 25),
    (GROUP_ROLE_REVOKED, 15),
];

/// (ip prefix, country, region, city): documentation address ranges only.
const PLACES: [(&str, &str, &str, &str); 7] = [
    ("192.0.2", "Australia", "New South Wales", "Sydney"),
    ("198.51.100", "United States", "California", "San Francisco"),
    ("203.0.113", "United States", "Texas", "Austin"),
    ("2001:db8:10", "Netherlands", "North Holland", "Amsterdam"),
    ("192.0.2", "India", "Karnataka", "Bengaluru"),
    ("198.51.100", "Germany", "Berlin", "Berlin"),
    ("2001:db8:20", "Japan", "Tokyo", "Tokyo"),
];

/// Apps that act on the org: (name, `app.type`, how they authenticate).
const APPS: [(&str, Option<&str>, AuthType); 4] = [
    ("Admin automation", Some("oauth2"), AuthType::AuthTokenFor3Lo),
    ("Audit exporter", Some("oauth2"), AuthType::AuthTokenFor2Lo),
    ("Jira Cloud for Slack", Some("connect"), AuthType::ConnectToken),
    ("User provisioning", None, AuthType::AuthTokenFor2Lo),
];

const TOKEN_LABELS: [&str; 6] = ["ci-pipeline", "backup script", "terraform", "reporting", "cli", "migration"];

/// An event a mutation asks for; [`stamp`] gives it its id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    pub action: &'static str,
    /// `None` = an admin (or an app, or the org's API key) drawn when stamped.
    pub actor: Option<EventActor>,
    pub context: Option<Vec<EventObject>>,
    /// `None` = drawn for admin actions.
    pub location: Option<EventLocation>,
    /// `None` = just before it is processed.
    pub time: Option<DateTime<Utc>>,
}

impl Draft {
    /// An admin action about `context`.
    pub fn admin(action: &'static str, context: Vec<EventObject>) -> Self {
        Draft { action, actor: None, context: Some(context), location: None, time: None }
    }

    /// Something `actor` did from `location`, with no `context`.
    pub fn by(action: &'static str, actor: EventActor, location: EventLocation) -> Self {
        Draft { action, actor: Some(actor), context: None, location: Some(location), time: None }
    }
}

fn attrs(pairs: &[(&str, Option<&str>)]) -> Option<Map<String, Value>> {
    Some(pairs.iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v)))).collect())
}

fn object(id: &str, kind: &str, attributes: Option<Map<String, Value>>) -> EventObject {
    EventObject { id: id.to_string(), object_type: Some(kind.to_string()), attributes }
}

pub(crate) fn user_object(u: &User) -> EventObject {
    object(&u.account_id, "users", attrs(&[("name", Some(&u.name)), ("email", u.email.as_deref())]))
}

pub(crate) fn site_object(w: &Workspace) -> EventObject {
    object(&w.id, "sites", attrs(&[("name", Some(&w.name)), ("productType", Some(&w.product_type))]))
}

pub(crate) fn group_object(g: &Group) -> EventObject {
    object(&g.id, "groups", attrs(&[("name", Some(&g.name))]))
}

pub(crate) fn user_actor(u: &User) -> EventActor {
    EventActor { id: u.account_id.clone(), name: Some(u.name.clone()), email: u.email.clone(), auth: None, on_behalf_of: None, app: None }
}

/// Where requests come from.
pub(crate) struct Locations;

impl Locations {
    /// A place and an address in it; now and then only the address and the country.
    pub fn draw(rng: &mut Rng) -> EventLocation {
        let (prefix, country, region, city) = *rng.pick(&PLACES);
        let ip = if prefix.contains(':') { format!("{prefix}::{:x}", 1 + rng.below(0xfffe)) } else { format!("{prefix}.{}", 1 + rng.below(254)) };
        let full = !rng.chance(0.2);
        EventLocation {
            ip: Some(ip),
            country_name: Some(country.to_string()),
            region_name: full.then(|| region.to_string()),
            city: full.then(|| city.to_string()),
        }
    }
}

/// The org's users by role, drawn from for actors and subjects.
pub(crate) struct Pool<'a> {
    org: &'a Org,
    admins: Vec<usize>,
}

impl<'a> Pool<'a> {
    fn new(org: &'a Org) -> Self {
        let admin = |u: &User| u.status == UserStatus::Active && u.platform_roles.iter().any(|r| r == "atlassian/org-admin");
        let mut admins: Vec<usize> = (0..org.users.len()).filter(|&i| admin(&org.users[i])).collect();
        if admins.is_empty() {
            admins = (0..org.users.len()).filter(|&i| org.users[i].status == UserStatus::Active).collect();
        }
        Pool { org, admins }
    }

    fn user(&self, rng: &mut Rng) -> Option<&'a User> {
        (!self.org.users.is_empty()).then(|| &self.org.users[rng.below(self.org.users.len() as u64) as usize])
    }

    /// The org's API key (an actor without a user behind it).
    fn api_key(&self) -> EventActor {
        let id = uuid_from(hash_str(0x0a91, &self.org.id), hash_str(0x0a92, &self.org.id));
        let auth = EventAuth { auth_type: AuthType::ContainerToken, token_id: Some(id.clone()), token_label: Some("Organization API key".into()) };
        EventActor { id, name: Some("Organization API key".into()), email: None, auth: Some(auth), on_behalf_of: None, app: None }
    }
}

/// Who did an admin action: mostly an org admin in admin.atlassian.com, else the admin with
/// an API token, the org's API key, or an app.
pub(crate) fn admin_actor(pool: &Pool, rng: &mut Rng) -> EventActor {
    let Some(&a) = (!pool.admins.is_empty()).then(|| rng.pick(&pool.admins)) else { return pool.api_key() };
    let admin = &pool.org.users[a];
    let x = rng.below(100);
    match x {
        0..70 => user_actor(admin),
        70..82 => {
            let label = rng.pick(&TOKEN_LABELS).to_string();
            let token = uuid_from(hash_str(0x7043, &admin.account_id), hash_str(0x7044, &label));
            EventActor { auth: Some(EventAuth { auth_type: AuthType::ApiToken, token_id: Some(token), token_label: Some(label) }), ..user_actor(admin) }
        }
        82..90 => pool.api_key(),
        _ => {
            let (name, kind, auth_type) = *rng.pick(&APPS);
            let id = uuid_from(hash_str(0x0a99, name), mix64(hash_str(0x0a98, name)));
            let on_behalf_of = (auth_type == AuthType::AuthTokenFor3Lo)
                .then(|| EventPrincipal { id: admin.account_id.clone(), name: Some(admin.name.clone()), email: admin.email.clone() });
            EventActor {
                id: id.clone(),
                name: Some(name.to_string()),
                email: None,
                auth: Some(EventAuth { auth_type, token_id: None, token_label: None }),
                on_behalf_of,
                app: Some(EventApp { id, app_type: kind.map(str::to_string) }),
            }
        }
    }
}

/// A user of the org, or someone made up when the org has none (or the event is about
/// someone no longer in it).
fn subject(pool: &Pool, rng: &mut Rng, former: bool) -> (EventObject, Option<EventActor>) {
    match pool.user(rng).filter(|_| !former) {
        Some(u) => (user_object(u), Some(user_actor(u))),
        None => {
            let n = rng.below(1_000_000);
            let id = format!("{:012x}{:012x}", mix64(n) & 0xffff_ffff_ffff, mix64(n ^ 0xf0) & 0xffff_ffff_ffff);
            (object(&id, "users", attrs(&[("name", Some(&format!("Former User {n}")))])), None)
        }
    }
}

fn history_draft(pool: &Pool, rng: &mut Rng) -> Draft {
    let total: u64 = HISTORY.iter().map(|h| h.1).sum();
    let mut x = rng.below(total);
    let action = HISTORY.iter().find(|(_, w)| if x < *w { true } else { x -= w; false }).map_or(USER_LOGGED_IN, |h| h.0);
    let org = pool.org;
    let site = |rng: &mut Rng| match org.workspaces.is_empty() {
        true => object("ari:cloud:platform::site/unknown", "sites", None),
        false => site_object(&org.workspaces[rng.below(org.workspaces.len() as u64) as usize]),
    };
    let group = |rng: &mut Rng| match org.groups.is_empty() {
        true => object(&uuid_from(rng.next_u64(), rng.next_u64()), "groups", attrs(&[("name", Some("former-group"))])),
        false => group_object(&org.groups[rng.below(org.groups.len() as u64) as usize]),
    };
    let (user, as_actor) = subject(pool, rng, action == USER_REMOVED_FROM_ORG);
    match (action, as_actor) {
        (USER_LOGGED_IN, Some(actor)) => Draft::by(action, actor, Locations::draw(rng)),
        (API_TOKEN_CREATED, Some(actor)) => token_draft(rng, actor),
        (USER_LOGGED_IN | API_TOKEN_CREATED, None) => Draft::admin(USER_ADDED_TO_ORG, vec![user]),
        (PRODUCT_ACCESS_GRANTED | PRODUCT_ACCESS_REVOKED, _) => Draft::admin(action, vec![user, site(rng)]),
        (SITE_LINKED | SITE_RENAMED, _) => Draft::admin(action, vec![site(rng)]),
        (GROUP_CREATED | GROUP_DELETED | GROUP_RENAMED, _) => Draft::admin(action, vec![group(rng)]),
        (USER_ADDED_TO_GROUP | USER_REMOVED_FROM_GROUP, _) => Draft::admin(action, vec![user, group(rng)]),
        (GROUP_ROLE_GRANTED | GROUP_ROLE_REVOKED, _) => Draft::admin(action, vec![group(rng), site(rng)]),
        _ => Draft::admin(action, vec![user]),
    }
}

/// `actor` created an API token (its id and label in `actor.auth`).
pub(crate) fn token_draft(rng: &mut Rng, actor: EventActor) -> Draft {
    let label = format!("{}-{}", rng.pick(&TOKEN_LABELS).replace(' ', "-"), rng.below(1000));
    token_draft_labelled(rng, actor, label)
}

pub(crate) fn token_draft_labelled(rng: &mut Rng, actor: EventActor, label: String) -> Draft {
    let token = uuid_from(rng.next_u64(), rng.next_u64());
    let auth = EventAuth { auth_type: AuthType::ApiToken, token_id: Some(token), token_label: Some(label) };
    Draft::by(API_TOKEN_CREATED, EventActor { auth: Some(auth), ..actor }, Locations::draw(rng))
}

/// A draft made an event: its id (not in `taken`), times, container, location and message.
fn finish(pool: &Pool, rng: &mut Rng, d: Draft, time: DateTime<Utc>, processed_at: DateTime<Utc>, taken: &mut HashSet<String>) -> Event {
    let id = loop {
        let id = uuid_from(rng.next_u64(), rng.next_u64());
        if taken.insert(id.clone()) {
            break id;
        }
    };
    let actor = d.actor.unwrap_or_else(|| admin_actor(pool, rng));
    let by_app = actor.auth.as_ref().is_some_and(|a| matches!(a.auth_type, AuthType::AuthTokenFor2Lo | AuthType::ConnectToken));
    let location = d.location.or_else(|| (!by_app && rng.chance(0.7)).then(|| Locations::draw(rng)));
    let mut context = d.context;
    // Now and then a field no client knows yet: clients must keep what they do not know.
    if let Some(attributes) = context.as_mut().and_then(|c| c.first_mut()).and_then(|o| o.attributes.as_mut()) {
        if rng.chance(0.05) {
            attributes.insert("futureField".into(), json!({"since": "2026-10", "value": rng.below(100)}));
        }
    }
    let org = pool.org;
    let container = (d.action != USER_LOGGED_IN).then(|| vec![object(&org.id, "orgs", attrs(&[("name", Some(&org.name))]))]);
    let message = rng.chance(0.25).then(|| {
        let what = EVENT_ACTIONS.iter().find(|a| a.id == d.action).map_or(d.action, |a| a.display_name);
        let about = context.as_ref().and_then(|c| c.first()).and_then(|o| o.attributes.as_ref()?.get("name")?.as_str().map(str::to_string));
        let content = match about {
            Some(name) => format!("{} · {what}: {name}", actor.name.as_deref().unwrap_or(&actor.id)),
            None => format!("{} · {what}", actor.name.as_deref().unwrap_or(&actor.id)),
        };
        EventMessage { content, format: "simple".into() }
    });
    Event { id, time, processed_at, action: d.action.to_string(), actor, context, container, location, message }
}

/// The org's history: `count` events spread over the 200 days before its now (so the oldest
/// tenth lies beyond the retention), in log order. Most are processed within seconds of
/// happening, about 5 % of them hours to two days later. Deterministic in `seed` and the org.
pub fn generate_events(org: &Org, seed: u64, count: usize) -> Vec<Event> {
    let pool = Pool::new(org);
    let end = org.now.trunc_subsecs(3) - Duration::seconds(1);
    let span = Duration::days(HISTORY_DAYS).num_milliseconds() as u64;
    let mut taken = HashSet::with_capacity(count);
    let mut out: Vec<Event> = (0..count)
        .map(|k| {
            let mut rng = Rng::stream(seed ^ 0x0e7e_4e75, k as u64);
            let processed_at = end - Duration::milliseconds(rng.below(span) as i64);
            let delay = if rng.chance(LATE_SHARE) { 3_600_000 + rng.below(47 * 3_600_000) } else { rng.below(5_000) };
            let draft = history_draft(&pool, &mut rng);
            finish(&pool, &mut rng, draft, processed_at - Duration::milliseconds(delay as i64), processed_at, &mut taken)
        })
        .collect();
    sort_log(&mut out);
    out
}

/// Appends the events of `drafts` to the log, processed at the org's now — or just after the
/// newest event, so each is processed strictly after every event already there; a draft
/// without a time happened up to 1.5 s before. Returns their ids.
pub(crate) fn stamp(org: &mut Org, rng: &mut Rng, drafts: Vec<Draft>) -> Vec<String> {
    if drafts.is_empty() {
        return Vec::new();
    }
    let now = org.now.trunc_subsecs(3);
    let mut at = match org.events.iter().map(|e| e.processed_at).max() {
        Some(last) if last >= now => last.trunc_subsecs(3) + Duration::milliseconds(1),
        _ => now,
    };
    let mut taken: HashSet<String> = org.events.iter().map(|e| e.id.clone()).collect();
    let pool = Pool::new(org);
    let mut new = Vec::with_capacity(drafts.len());
    for d in drafts {
        let time = d.time.unwrap_or_else(|| at - Duration::milliseconds(rng.below(1_500) as i64)).min(at);
        new.push(finish(&pool, rng, d, time, at, &mut taken));
        at += Duration::milliseconds(1);
    }
    let ids = new.iter().map(|e| e.id.clone()).collect();
    org.events.extend(new);
    ids
}
