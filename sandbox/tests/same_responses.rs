//! Every route's responses for fixed seeds, options, faults and mutations, hashed and held
//! against `tests/fixtures/responses.txt`: a refactoring of the sandbox must not change one
//! byte the connector's end-to-end tests read (cursors included).
//!
//! Each line is one request: its label, the status, the hash of the exact bytes (status, the
//! headers a client reads, the body with the server's address taken out) and the hash of the
//! same with every JSON object's keys sorted. The exact hash is checked when `serde_json` keeps
//! key order (its `preserve_order` feature, on in the workspace build CI runs); the sorted one
//! always (a `-p atlassian-sandbox` build sorts keys). `SANDBOX_SNAPSHOT_UPDATE=1` rewrites the
//! file, for a change meant to alter responses.
//!
//! What a new resource adds is left out, so adding one changes no line: the transcript applies
//! the [`MUTATIONS`] only, and the control answers that list everything (the truth, the stats,
//! the mutations) are hashed with only the parts they had when the file was recorded.

mod common;

use std::time::Duration;

use atlassian_sandbox::*;
use common::*;
use serde_json::{json, Value};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses.txt");

/// The truth's sections when the file was recorded (a resource's own section comes after them).
const TRUTH_KEYS: [&str; 10] =
    ["orgId", "name", "directoryId", "directoryName", "now", "workspaces", "groups", "users", "eventsRetainedSince", "events"];

/// The endpoints when the file was recorded, in their order.
const ENDPOINTS: [&str; 12] = [
    "users_search",
    "workspaces",
    "org",
    "orgs",
    "users_count",
    "last_active_dates",
    "managed_users",
    "directories",
    "groups_search",
    "group_role_assignments",
    "events_stream",
    "event_actions",
];

/// A control answer with only the parts it had when the file was recorded.
fn as_recorded(path: &str, v: &mut Value) {
    let keep = |m: &mut serde_json::Map<String, Value>, keys: &[&str]| m.retain(|k, _| keys.contains(&k.as_str()));
    match path {
        "/__sandbox/truth" => keep(v.as_object_mut().unwrap(), &TRUTH_KEYS),
        "/__sandbox/stats" | "/__sandbox/stats/reset" => {
            for by in ["by_endpoint", "throttled_by_endpoint"] {
                keep(v[by].as_object_mut().unwrap(), &ENDPOINTS);
            }
        }
        "/__sandbox/mutations" => {
            v["mutations"].as_array_mut().unwrap().retain(|m| MUTATIONS.iter().any(|(name, _, _)| m["name"] == *name))
        }
        _ => {}
    }
}

/// The headers a client reads (never a time: `Date` and `X-RateLimit-Reset` move).
const HEADERS: [&str; 5] = ["content-type", "x-ratelimit-limit", "x-ratelimit-remaining", "retry-after", "location"];

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// `v` with every object's keys in sorted order.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Writes sorted keys whatever the map keeps (`to_string` of a `preserve_order` map keeps insertion order).
fn sorted_text(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{}:{}", json!(k), sorted_text(&m[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(sorted_text).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

fn preserves_order() -> bool {
    let mut m = serde_json::Map::new();
    m.insert("b".into(), json!(1));
    m.insert("a".into(), json!(2));
    m.keys().next().is_some_and(|k| k == "b")
}

/// Requests against one sandbox, recorded as transcript lines.
struct Recorder<'a> {
    sb: &'a Sandbox,
    base: String,
    key: String,
    lines: &'a mut Vec<String>,
}

impl<'a> Recorder<'a> {
    fn new(sb: &'a Sandbox, scenario: &str, lines: &'a mut Vec<String>) -> Self {
        lines.push(format!("# {scenario}"));
        Recorder { sb, base: sb.base_url(), key: sb.api_key().to_string(), lines }
    }

    fn org(&self) -> String {
        self.sb.org_id()
    }

    /// One request; its line; the body as JSON (`Null` when not JSON), the address taken out.
    fn send(&mut self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Value {
        let r = request(&self.base, method, path, key, body);
        let mut text = String::from_utf8_lossy(&r.body).replace(&self.base, "http://sandbox");
        if path.starts_with("/__sandbox/") && r.status == 200 {
            // Written again as serde_json writes it: the same bytes, less what was added since.
            let mut v: Value = serde_json::from_str(&text).unwrap();
            as_recorded(path, &mut v);
            text = v.to_string();
        }
        let mut head = format!("{}\n", r.status);
        for h in HEADERS {
            if let Some(v) = r.header(h) {
                head.push_str(&format!("{h}: {}\n", v.replace(&self.base, "http://sandbox")));
            }
        }
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let canonical = match &parsed {
            Some(v) => sorted_text(&sorted(v)),
            None => text.clone(),
        };
        let label = format!("{method} {}{}", path.replace(&self.base, ""), body.map(|b| format!(" {b}")).unwrap_or_default());
        self.lines.push(format!(
            "{label} => {} {:016x} {:016x}",
            r.status,
            fnv(format!("{head}{text}").as_bytes()),
            fnv(format!("{head}{canonical}").as_bytes())
        ));
        parsed.unwrap_or(Value::Null)
    }

    fn get(&mut self, path: &str) -> Value {
        let key = self.key.clone();
        self.send("GET", path, Some(&key), None)
    }

    fn post(&mut self, path: &str, body: &Value) -> Value {
        let key = self.key.clone();
        self.send("POST", path, Some(&key), Some(&body.to_string()))
    }

    /// Follows `links.next` URLs from `path` (v1 lists).
    fn walk_urls(&mut self, path: &str) {
        let mut path = path.to_string();
        for _ in 0..500 {
            let page = self.get(&path);
            match page["links"]["next"].as_str() {
                Some(next) => match next.find("/admin/") {
                    Some(at) => path = next[at..].to_string(),
                    None => return,
                },
                None => return,
            }
        }
    }

    /// Follows bare `links.next` cursors of a GET route as `?cursor=` (with `query` besides).
    fn walk_get(&mut self, path: &str, query: &str) {
        let mut page = self.get(&format!("{path}?{query}"));
        for _ in 0..500 {
            // Events answer the bare cursor in `meta.next` (their `links.next` is a URL).
            let next = page["meta"]["next"].as_str().or_else(|| page["links"]["next"].as_str());
            let Some(next) = next.map(str::to_owned) else { return };
            if page["data"].as_array().is_some_and(|d| d.is_empty()) {
                return;
            }
            page = self.get(&format!("{path}?{query}&cursor={next}"));
        }
    }

    /// Follows bare `links.next` cursors of a POST route in the body (`cursor_alone`: the
    /// next body is the cursor only, as workspaces wants).
    fn walk_post(&mut self, path: &str, body: Value, cursor_alone: bool) {
        let mut page = self.post(path, &body);
        for _ in 0..500 {
            let Some(next) = page["links"]["next"].as_str().map(str::to_owned) else { return };
            let mut body = if cursor_alone { json!({}) } else { body.clone() };
            body["cursor"] = json!(next);
            page = self.post(path, &body);
        }
    }

    fn control(&mut self, method: &str, path: &str, body: Option<&str>) -> Value {
        self.send(method, path, None, body)
    }

    /// Every `/admin` route once or more, good and bad requests.
    fn every_route(&mut self) {
        let org = self.org();
        let dir = self.sb.directory_id();
        self.get("/admin/v1/orgs");
        self.get("/admin/v1/orgs?cursor=bogus");
        self.get(&format!("/admin/v1/orgs/{org}"));
        self.get("/admin/v1/orgs/not-an-org");
        self.get("/admin/v1/orgs/%FF%FE");
        let search = format!("/admin/v2/orgs/{org}/directories/-/users/search");
        self.walk_post(&search, json!({"limit": 37, "expand": ["productAccess", "groups", "platformRoles", "counts.resources"]}), false);
        self.walk_post(&format!("/admin/v2/orgs/{org}/directories/{dir}/users/search"), json!({"limit": 100}), false);
        for filter in [
            json!({"status": ["active", "suspended"], "expand": ["groups"]}),
            json!({"accountStatus": "inactive", "claimStatus": "managed"}),
            json!({"resourceIds": [self.sb.truth().workspaces[0].id], "roleIds": ["atlassian/user"], "limit": 100}),
            json!({"roleIds": ["atlassian/org-admin"]}),
            json!({"groupIds": [self.sb.truth().groups[0].id], "limit": 10}),
            json!({"emailDomains": ["@example.com"], "searchTerm": "a"}),
            json!({"directoryIds": ["other"]}),
            json!({"limit": 0}),
            json!({"limit": 1000}),
            json!({"cursor": "nope"}),
            json!({"cursor": 5}),
            json!({"expand": ["bogus"]}),
            json!({"resourceIds": ["nope"]}),
            json!({"status": ["weird"]}),
        ] {
            self.post(&search, &filter);
        }
        let key = self.key.clone();
        self.send("POST", &search, Some(&key), Some("{} x"));
        self.send("POST", &search, Some(&key), Some("[]"));
        self.post(&format!("/admin/v2/orgs/{org}/directories/other/users/search"), &json!({}));
        let count = format!("/admin/v2/orgs/{org}/directories/-/users/count");
        for q in ["", "?status=active", "?status=active,suspended&claimStatus=managed", "?resourceIds=nope", "?status=act%FFive", "?searchTerm=a+b"] {
            self.get(&format!("{count}{q}"));
        }
        self.get(&format!("/admin/v2/orgs/{org}/directories"));
        self.get(&format!("/admin/v2/orgs/{org}/directories?cursor=x"));
        self.get(&format!("/admin/v2/orgs/{org}/directories?limit=0"));
        self.get("/admin/v2/orgs/nope/directories");
        let ws = format!("/admin/v2/orgs/{org}/workspaces");
        self.walk_post(&ws, json!({"limit": 3}), true);
        self.walk_post(&ws, json!({"limit": 4, "sort": [{"field": "attributes.name", "order": "desc"}], "query": {"or": [{"field": {"name": "attributes.type", "values": ["jira", "confluence"]}}, {"searchWorkspaces": "bit"}]}}), true);
        for bad in [json!({"limit": "5"}), json!({"cursor": "c", "limit": null}), json!({"cursor": 5}), json!({"query": {"nope": 1}}), json!({"sort": [{"field": "x"}]})] {
            self.post(&ws, &bad);
        }
        self.walk_urls(&format!("/admin/v1/orgs/{org}/users"));
        self.get(&format!("/admin/v1/orgs/{org}/users?cursor=nope"));
        let users: Vec<String> = self.sb.truth().users.iter().take(6).map(|u| u.account_id.clone()).collect();
        for id in &users {
            self.walk_get(&format!("/admin/v1/orgs/{org}/directory/users/{id}/last-active-dates"), "x=1");
        }
        self.get(&format!("/admin/v1/orgs/{org}/directory/users/nobody/last-active-dates"));
        self.get(&format!("/admin/v1/orgs/{org}/directory/users/{}/last-active-dates?cursor=bad", users[0]));
        let groups = format!("/admin/v2/orgs/{org}/directories/-/groups/search");
        self.walk_post(&groups, json!({"limit": 4, "expand": ["counts.users", "counts.resources"]}), false);
        self.walk_post(&groups, json!({}), false);
        for bad in [json!({"expand": ["x"]}), json!({"cursor": "x"}), json!({"limit": 101})] {
            self.post(&groups, &bad);
        }
        let group_ids: Vec<String> = self.sb.truth().groups.iter().map(|g| g.id.clone()).collect();
        for g in &group_ids {
            self.walk_get(&format!("/admin/v2/orgs/{org}/directories/-/groups/{g}/role-assignments"), "limit=1");
            self.get(&format!("/admin/v2/orgs/{org}/directories/{dir}/groups/{g}/role-assignments"));
        }
        self.get(&format!("/admin/v2/orgs/{org}/directories/-/groups/nope/role-assignments"));
        self.get(&format!("/admin/v2/orgs/{org}/directories/-/groups/{}/role-assignments?cursor=bad", group_ids[0]));
        let events = format!("/admin/v1/orgs/{org}/events-stream");
        self.walk_get(&events, "limit=70");
        self.walk_get(&events, "limit=90&sortOrder=desc");
        self.walk_get(&events, "from=1777000000000&to=1790000000000&limit=25");
        for q in ["", "?limit=0", "?limit=x", "?limit=900", "?sortOrder=up", "?from=x", "?from=1790000000000&to=1777000000000", "?cursor=bad"] {
            self.get(&format!("{events}{q}"));
        }
        self.get(&format!("/admin/v1/orgs/{org}/event-actions"));
        self.get("/admin/v1/orgs/nope/event-actions");
        // The gateway and the router.
        self.send("GET", &format!("/admin/v1/orgs/{org}"), Some("wrong"), None);
        self.send("GET", &format!("/admin/v1/orgs/{org}"), None, None);
        self.send("DELETE", &format!("/admin/v1/orgs/{org}"), Some(&key), None);
        self.get("/admin/v1/nowhere");
    }

    /// Every mutation with its defaults, then the routes that show them.
    fn mutations(&mut self) {
        let list = self.control("GET", "/__sandbox/mutations", None);
        let names: Vec<String> = list["mutations"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, MUTATIONS.iter().map(|m| m.0).collect::<Vec<_>>());
        let org = self.org();
        let events = format!("/admin/v1/orgs/{org}/events-stream");
        let first = self.get(&format!("{events}?limit=500"));
        let mut poll = first["meta"]["next"].as_str().map(str::to_owned);
        for name in &names {
            self.control("POST", &format!("/__sandbox/mutations/{name}"), None);
            if let Some(c) = poll.clone() {
                let page = self.get(&format!("{events}?cursor={c}"));
                poll = page["meta"]["next"].as_str().map(str::to_owned);
            }
        }
        self.control("POST", "/__sandbox/mutations/add_users", Some(r#"{"count": 4, "last_active_days_ago": 3}"#));
        self.control("POST", "/__sandbox/mutations/link_site", Some(r#"{"product": "jira-software", "users": 7}"#));
        self.control("POST", "/__sandbox/mutations/remove_users", Some(r#"{"cnt": 1}"#));
        self.control("POST", "/__sandbox/mutations/link_site", Some(r#"{"product": "notion"}"#));
        self.walk_post(&format!("/admin/v2/orgs/{org}/directories/-/users/search"), json!({"limit": 100, "expand": ["productAccess", "groups"]}), false);
        self.walk_urls(&format!("/admin/v1/orgs/{org}/users"));
        self.walk_post(&format!("/admin/v2/orgs/{org}/workspaces"), json!({"limit": 5}), true);
        self.walk_post(&format!("/admin/v2/orgs/{org}/directories/-/groups/search"), json!({"expand": ["counts.users"]}), false);
        self.walk_get(&events, "limit=200");
        self.control("POST", "/__sandbox/events/expire-cursors", None);
        if let Some(c) = poll {
            self.get(&format!("{events}?cursor={c}"));
        }
        self.control("GET", "/__sandbox/truth", None);
        self.control("GET", "/__sandbox/stats", None);
        self.control("POST", "/__sandbox/stats/reset", None);
    }
}

fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start(SandboxOptions { cursor_salt: Some(0x5eed), ..opts }).expect("start")
}

fn rule(text: &str) -> FaultRule {
    text.parse().unwrap()
}

fn transcript() -> Vec<String> {
    let mut lines = Vec::new();
    {
        let sb = start(SandboxOptions { users: 260, events: 420, last_active_page_size: 3, ..Default::default() });
        let mut r = Recorder::new(&sb, "every route, then every mutation", &mut lines);
        r.every_route();
        r.control("GET", "/__sandbox/truth", None);
        r.mutations();
    }
    {
        let sb = start(SandboxOptions { seed: 7, users: 90, events: 60, extra_orgs: 44, negative_estimates: true, ..Default::default() });
        let mut r = Recorder::new(&sb, "extra orgs, negative estimates", &mut lines);
        r.walk_urls("/admin/v1/orgs");
        r.every_route();
    }
    {
        let opts = SandboxOptions {
            users: 40,
            orgs_list_empty: true,
            product_access_mode: ProductAccessMode::Rejected,
            search_max_limit: 10,
            directory_forbidden: true,
            groups_forbidden: true,
            events_access: EventsAccess::Forbidden,
            ..Default::default()
        };
        let sb = start(opts);
        let mut r = Recorder::new(&sb, "scopes refused, productAccess rejected", &mut lines);
        r.every_route();
        sb.set_directory_forbidden(false);
        sb.set_groups_forbidden(false);
        sb.set_events_access(EventsAccess::Empty);
        r.every_route();
        sb.set_events_access(EventsAccess::Guard);
        r.every_route();
    }
    {
        let sb = start(SandboxOptions {
            users: 120,
            events: 50,
            events_null_next: true,
            product_access_mode: ProductAccessMode::Omitted,
            ..Default::default()
        });
        let mut r = Recorder::new(&sb, "events null next, productAccess omitted", &mut lines);
        r.every_route();
        r.mutations();
    }
    {
        let sb = start(SandboxOptions {
            users: 60,
            events: 30,
            // No Retry-After: the limiter's is a time.
            rate_limit: Some(RateLimit::new(40, Duration::from_secs(3600))),
            events_rate_limit: Some(RateLimit::new(3, Duration::from_secs(3600))),
            ..Default::default()
        });
        let mut r = Recorder::new(&sb, "rate limits", &mut lines);
        r.every_route();
    }
    {
        let sb = start(SandboxOptions { users: 150, events: 40, ..Default::default() });
        let mut r = Recorder::new(&sb, "faults", &mut lines);
        let org = r.org();
        let rules = [
            "users_search:repeat-cursor:nth=2",
            "managed_users:next-link-origin=http://proxy.example:8080:nth=1",
            "workspaces:truncate=40:first=1",
            "org:429,retry-after=2:first=1",
            "orgs:503:first=1",
            "last_active_dates:malformed:first=1",
            "groups_search:wrong-shape:first=1",
            "events_stream:502,html:first=1",
            "directories:404:first=1",
            "event_actions:redirect=http://127.0.0.2:9/x:first=1",
            "users_count:next-link=http://elsewhere/x?cursor=c:first=1",
            "*:500:nth=3",
        ];
        sb.set_faults(Faults { rules: rules.iter().map(|t| rule(t)).collect() });
        let search = format!("/admin/v2/orgs/{org}/directories/-/users/search");
        r.walk_post(&search, json!({"limit": 40}), false);
        r.every_route();
        r.control("GET", "/__sandbox/stats", None);
        sb.set_faults(Faults::none());
        sb.reset_counts();
        sb.set_faults(Faults { rules: vec![rule("users_search:repeat-cursor:nth=3")] });
        r.walk_post(&search, json!({"limit": 20}), false);
    }
    lines
}

#[test]
fn every_route_answers_as_before() {
    let lines = transcript();
    let text = lines.join("\n") + "\n";
    if std::env::var_os("SANDBOX_SNAPSHOT_UPDATE").is_some() {
        std::fs::write(FIXTURE, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(FIXTURE).expect("tests/fixtures/responses.txt (SANDBOX_SNAPSHOT_UPDATE=1 writes it)");
    let exact = preserves_order();
    let field = |line: &str, k: usize| line.rsplit(' ').nth(k).map(str::to_owned);
    let want: Vec<&str> = want.lines().collect();
    assert_eq!(lines.len(), want.len(), "the number of requests changed");
    for (i, (got, want)) in lines.iter().zip(&want).enumerate() {
        let label = |l: &str| l.rsplitn(4, ' ').nth(3).map(str::to_owned);
        assert_eq!(label(got), label(want), "request {i} differs");
        if got.starts_with('#') {
            continue;
        }
        assert_eq!(field(got, 2), field(want, 2), "status of request {i}: {want}");
        assert_eq!(field(got, 0), field(want, 0), "response {i} differs (keys sorted): {want}");
        if exact {
            assert_eq!(field(got, 1), field(want, 1), "response {i} differs in its bytes: {want}");
        }
    }
}
