//! Badges: a resource that exists only in the crate's own tests. It follows the recipe of
//! docs/development.md ("Adding a sandbox route") to the letter — this module, its line in
//! the registry, its field on [`Org`] — so the registry's hooks (routes with a scope, the
//! generator, named mutations, a truth section) and the paging styles new resources will use
//! stay proven until real resources use them.
//!
//! `GET /admin/v1/orgs/{orgId}/badges`: v1 URL cursors, 5 a page. `GET
//! /admin/api-access/v1/orgs/{orgId}/badges`: `pageSize` and `cursor` only (any other query
//! parameter is a 500), the list under `items` with `total`, `updatedAt` in epoch
//! milliseconds. Both need `read:badges:admin`.

use axum::extract::State;
use axum::routing::on;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::Org;
use crate::mutations::named::{MutationContext, MutationFields, NamedMutation};
use crate::mutations::MutationError;
use crate::rng::{uuid_from, Rng};
use crate::routes::{Resource, Route, Scope, TruthSection};
use crate::server::extract::{ApiPath, ApiQuery, CursorQuery, Rejects};
use crate::server::paging::{window, BeyondMax, Cursors, Page, PageSize, Style};
use crate::server::{AppState, Reply};

const SCOPE: Scope = Scope::new("read:badges:admin", "badges");

pub(crate) const RESOURCE: Resource = Resource {
    generate: Some(generate),
    mutations: &[
        NamedMutation::new::<AwardBadge>("award_badge", "a badge awarded (named, or drawn)"),
        NamedMutation::new::<RevokeBadge>("revoke_badge", "a badge drawn revoked"),
    ],
    truth: Some(TruthSection { key: "badges", render: truth }),
    ..Resource::routes(&[
        Route::get("/admin/v1/orgs/{orgId}/badges", "badges", |m| on(m, list)).query(&["cursor"]).scope(SCOPE),
        Route::get("/admin/api-access/v1/orgs/{orgId}/badges", "api_badges", |m| on(m, api_list))
            .query(&["pageSize", "cursor"])
            .refusing_other_params()
            .scope(SCOPE),
    ])
};

/// A badge of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Badge {
    pub id: String,
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

/// Twelve badges, updated over the year before the org's now.
fn generate(org: &mut Org, seed: u64) {
    let mut rng = Rng::stream(seed ^ 0xbad9e, 0);
    org.badges = (0..12)
        .map(|k| Badge {
            id: uuid_from(rng.next_u64(), rng.next_u64()),
            name: format!("Badge {k}"),
            updated_at: org.now - Duration::seconds(rng.below(365 * 86_400) as i64),
        })
        .collect();
}

fn truth(org: &Org, _base_url: &str) -> Value {
    serde_json::to_value(&org.badges).unwrap_or(Value::Null)
}

/// Both lists read by offset.
#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}

const CURSORS: Cursors<Offset> = Cursors::new("b");
const API_CURSORS: Cursors<Offset> = Cursors::new("B");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    let offset = CURSORS.read(&s, q.given())?.map_or(0, |at| at.o);
    let badges = &st.org.badges;
    let page = window(badges.len(), offset, 5);
    let data: Vec<Value> =
        badges[page.start..page.end].iter().map(|b| json!({"id": b.id, "type": "badges", "attributes": {"name": b.name}})).collect();
    let at = |o: Option<usize>| o.map(|o| CURSORS.write(&s, &Offset { o }));
    let url = format!("{}/admin/v1/orgs/{}/badges", s.cfg.base_url, st.org.id);
    Style::UrlCursor { url: &url }.reply(Page::of(data).this(q.given().map(str::to_owned)).prev(at(page.prev)).next(at(page.next)))
}

#[derive(Default, Deserialize)]
struct ApiListQuery {
    #[serde(rename = "pageSize")]
    page_size: Option<u64>,
    cursor: Option<String>,
}

impl Rejects for ApiListQuery {
    const CODE: &'static str = "ADMIN-400-4";
}

const API_PAGE_SIZE: PageSize = PageSize { param: "pageSize", default: 10, max: 50, beyond_max: BeyondMax::Refused, code: "ADMIN-400-4" };

async fn api_list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<ApiListQuery>) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    let size = API_PAGE_SIZE.read(&s, q.page_size)?;
    let offset = API_CURSORS.read(&s, q.cursor.as_deref())?.map_or(0, |at| at.o);
    let badges = &st.org.badges;
    let page = window(badges.len(), offset, size);
    let items: Vec<Value> = badges[page.start..page.end]
        .iter()
        .map(|b| json!({"id": b.id, "displayName": b.name, "updatedAt": b.updated_at.timestamp_millis()}))
        .collect();
    let at = |o: Option<usize>| o.map(|o| API_CURSORS.write(&s, &Offset { o }));
    Style::Items { total: badges.len() }.reply(Page::of(items).prev(at(page.prev)).next(at(page.next)))
}

/// `award_badge {name}`: a new badge, updated now.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AwardBadge {
    #[serde(default)]
    name: Option<String>,
}

impl MutationFields for AwardBadge {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let id = uuid_from(cx.rng.next_u64(), cx.number);
        let name = self.name.unwrap_or_else(|| format!("Badge {}", cx.number));
        cx.org.badges.push(Badge { id: id.clone(), name, updated_at: cx.org.now });
        cx.report.record("badges_added", id);
        Ok(())
    }
}

/// `revoke_badge {}`: a badge drawn, gone.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBadge {}

impl MutationFields for RevokeBadge {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        if cx.org.badges.is_empty() {
            return Err(MutationError("revoke_badge: the org has no badge".into()));
        }
        let k = cx.rng.below(cx.org.badges.len() as u64) as usize;
        let gone = cx.org.badges.remove(k);
        cx.report.record("badges_removed", gone.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use serde_json::{json, Value};

    use crate::{generate_org, mutation_catalog, Endpoint, FaultRule, Faults, OrgSpec, Sandbox, SandboxOptions, Scope};

    /// One request with `Connection: close`: the status and the body as JSON (`Null` if not JSON).
    fn send(sb: &Sandbox, method: &str, path: &str, key: bool) -> (u16, Value) {
        let host = sb.base_url().trim_start_matches("http://").to_string();
        let mut tcp = std::net::TcpStream::connect(&host).unwrap();
        let auth = if key { format!("Authorization: Bearer {}\r\n", sb.api_key()) } else { String::new() };
        write!(tcp, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}Content-Length: 0\r\n\r\n").unwrap();
        let mut raw = String::new();
        tcp.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn get(sb: &Sandbox, path: &str) -> (u16, Value) {
        send(sb, "GET", path, true)
    }

    #[test]
    fn badges_are_generated_from_the_seed_and_in_the_truth() {
        let a = generate_org(&OrgSpec { seed: 3, users: 20 });
        assert_eq!(a.badges.len(), 12);
        assert_eq!(a.badges, generate_org(&OrgSpec { seed: 3, users: 20 }).badges);
        assert_ne!(a.badges, generate_org(&OrgSpec { seed: 4, users: 20 }).badges);
        let sb = Sandbox::start(SandboxOptions { seed: 3, users: 20, ..Default::default() }).unwrap();
        let (_, truth) = send(&sb, "GET", "/__sandbox/truth", false);
        assert_eq!(truth["badges"], serde_json::to_value(&a.badges).unwrap());
    }

    #[test]
    fn both_lists_page_in_their_styles_and_count_as_their_endpoints() {
        let sb = Sandbox::start(SandboxOptions { users: 20, ..Default::default() }).unwrap();
        let org = sb.org_id();
        let mut path = format!("/admin/v1/orgs/{org}/badges");
        let mut ids = Vec::new();
        while {
            let (status, page) = get(&sb, &path);
            assert_eq!(status, 200, "{page}");
            ids.extend(page["data"].as_array().unwrap().iter().map(|b| b["id"].clone()));
            match page["links"]["next"].as_str() {
                Some(next) => path = next.trim_start_matches(&sb.base_url()).to_string(),
                None => path.clear(),
            }
            !path.is_empty()
        } {}
        let truth: Vec<Value> = sb.truth().badges.iter().map(|b| json!(b.id)).collect();
        assert_eq!(ids, truth);
        assert_eq!(sb.request_count(Endpoint::named("badges")), 3, "12 badges, 5 a page");

        let api = format!("/admin/api-access/v1/orgs/{org}/badges");
        let (status, first) = get(&sb, &format!("{api}?pageSize=7"));
        assert_eq!(status, 200);
        assert_eq!((first["items"].as_array().unwrap().len(), first["total"].as_u64()), (7, Some(12)));
        assert!(first["items"][0]["updatedAt"].is_i64());
        let next = first["links"]["next"].as_str().unwrap();
        let (_, second) = get(&sb, &format!("{api}?pageSize=7&cursor={next}"));
        assert_eq!(second["items"].as_array().unwrap().len(), 5);
        assert!(second["links"].get("next").is_none());
        for (query, status, code) in [("?limit=3", 500, "ADMIN-500-1"), ("?pageSize=0", 400, "ADMIN-400-4"), ("?cursor=nope", 400, "ADMIN-400-1")] {
            let (got, body) = get(&sb, &format!("{api}{query}"));
            assert_eq!((got, body["errors"][0]["code"].as_str()), (status, Some(code)), "{query}");
        }
        assert_eq!(sb.request_count(Endpoint::named("api_badges")), 5);
        assert!(sb.stats_json()["by_endpoint"]["api_badges"] == 5);
    }

    #[test]
    fn the_scope_in_the_entry_is_the_403_switch_and_faults_know_the_name() {
        let sb = Sandbox::start(SandboxOptions { users: 20, forbidden_scopes: vec!["read:badges:admin".into()], ..Default::default() }).unwrap();
        let list = format!("/admin/v1/orgs/{}/badges", sb.org_id());
        let (status, body) = get(&sb, &list);
        assert_eq!((status, body["errors"][0]["detail"].as_str()), (403, Some("The API key does not grant access to badges (scope read:badges:admin)")));
        assert!(sb.scope_forbidden("read:badges:admin"));
        sb.allow_scope("read:badges:admin").unwrap();
        assert_eq!(get(&sb, &list).0, 200);
        assert!(Scope::all().iter().any(|s| s.name == "read:badges:admin"));
        let rule: FaultRule = "api_badges:503:first=1".parse().unwrap();
        sb.set_faults(Faults { rules: vec![rule] });
        assert_eq!(get(&sb, &format!("/admin/api-access/v1/orgs/{}/badges", sb.org_id())).0, 503);
        assert!(crate::routes::routes_help().contains("/admin/api-access/v1/orgs/{orgId}/badges  [read:badges:admin]"));
    }

    #[test]
    fn its_mutations_are_listed_applied_by_name_and_reported() {
        let sb = Sandbox::start(SandboxOptions { users: 20, ..Default::default() }).unwrap();
        let award = mutation_catalog().into_iter().find(|m| m.name == "award_badge").unwrap();
        assert_eq!(award.defaults, json!({"name": null}));
        let (_, listed) = send(&sb, "GET", "/__sandbox/mutations", false);
        assert!(listed["mutations"].as_array().unwrap().iter().any(|m| m["name"] == "revoke_badge" && m["defaults"] == json!({})));
        let report = sb.mutate("award_badge", json!({"name": "Gold"})).unwrap();
        let added = &report.changes["badges_added"];
        assert_eq!(serde_json::to_value(&report).unwrap()["badges_added"], json!(added));
        assert!(sb.truth().badges.iter().any(|b| b.id == added[0] && b.name == "Gold"));
        let (status, body) = send(&sb, "POST", "/__sandbox/mutations/revoke_badge", false);
        assert_eq!(status, 200, "{body}");
        assert_eq!(sb.truth().badges.len(), 12);
        assert!(sb.mutate("award_badge", json!({"colour": "red"})).is_err());
        assert!(sb.mutate("no_such_mutation", json!({})).unwrap_err().0.contains("award_badge"));
        // The same mutations in the same order give the same org.
        let again = Sandbox::start(SandboxOptions { users: 20, ..Default::default() }).unwrap();
        again.mutate("award_badge", json!({"name": "Gold"})).unwrap();
        again.mutate("revoke_badge", json!(null)).unwrap();
        assert_eq!(again.truth().badges, sb.truth().badges);
    }
}
