//! The organization's policies: `GET /admin/v1/orgs/{orgId}/policies` (`read:policies:admin`;
//! `?cursor`, `?type` filters), 10 a page, the next cursor in `meta.next` and `links.next` a
//! URL (the events-stream's style). Each `{id, type: "policy", attributes: {type, name, status,
//! rule, resources: [{id, applicationStatus}], createdAt, updatedAt}}`.
//!
//! Generated: six policies — `data-security` (enabled, on the Jira and Confluence sites; a
//! disabled draft on none), `ip-allowlist` (enabled, on Jira), `authentication` (enabled, no
//! site), a type the connector does not know yet (`ai-governance`, disabled, on the EU
//! Confluence, still applying), `data-residency` (enabled, on Opsgenie). The paid Service
//! Management and Bitbucket sites have none. Mutations: `enable_policy {id?}`,
//! `disable_policy {id?}`, `apply_policy {site?, id?}` (a site by ARI or name, default the
//! Service Management site, applied), `add_policy {type?, name?}` (enabled, on no site).

use axum::extract::State;
use axum::routing::on;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::Org;
use crate::mutations::named::{MutationContext, MutationFields, NamedMutation};
use crate::mutations::MutationError;
use crate::org::{WS_CONFLUENCE, WS_CONFLUENCE_EU, WS_JIRA, WS_JSM, WS_OPSGENIE};
use crate::rng::{uuid_from, Rng};
use crate::routes::{Resource, Route, Scope, TruthSection};
use crate::server::extract::{ApiPath, ApiQuery, Rejects};
use crate::server::paging::{window, Cursors, Page, Style};
use crate::server::{AppState, Reply};

const SCOPE: Scope = Scope::new("read:policies:admin", "the organization's policies");

pub(crate) const RESOURCE: Resource = Resource {
    generate: Some(generate),
    mutations: &[
        NamedMutation::new::<EnablePolicy>("enable_policy", "the policy `id`, or a disabled one drawn, enabled"),
        NamedMutation::new::<DisablePolicy>("disable_policy", "the policy `id`, or an enabled one drawn, disabled"),
        NamedMutation::new::<ApplyPolicy>("apply_policy", "the policy `id` (or one drawn) applied to `site` (an ARI or a site name; the Service Management site by default)"),
        NamedMutation::new::<AddPolicy>("add_policy", "a new enabled policy of `type` (data-security by default), on no site"),
    ],
    truth: Some(TruthSection { key: "policies", render: |org, _| json!(org.policies) }),
    ..Resource::routes(&[Route::get("/admin/v1/orgs/{orgId}/policies", "policies", |m| on(m, list)).query(&["cursor", "type"]).scope(SCOPE)])
};

/// Policies a page.
const PAGE: usize = 10;

/// A policy of the organization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub id: String,
    /// `attributes.type`: an open set (`ip-allowlist`, `data-security`, …).
    pub kind: String,
    pub name: String,
    /// `enabled` or `disabled`.
    pub status: &'static str,
    /// The sites it is applied to (ARIs) and where each stands (`applied`, `applying`, …).
    pub resources: Vec<(String, String)>,
    pub rule: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A policy as generated: type, name, status, the sites it applies to with their status, its rule.
type Shape = (&'static str, &'static str, &'static str, Vec<(String, String)>, Value);

fn generate(org: &mut Org, seed: u64) {
    let mut rng = Rng::stream(seed ^ 0x9011c, 0);
    let now = org.now;
    let site = |k: usize| org.workspaces.get(k).map(|w| w.id.clone());
    let on = |sites: &[usize], status: &str| -> Vec<(String, String)> { sites.iter().filter_map(|&k| site(k)).map(|id| (id, status.to_string())).collect() };
    let shapes: Vec<Shape> = vec![
        ("data-security", "Block data export", "enabled", on(&[WS_JIRA, WS_CONFLUENCE], "applied"), json!({"appAccess": "block", "publicLinks": "block"})),
        ("ip-allowlist", "Office networks", "enabled", on(&[WS_JIRA], "applied"), json!({"ipRanges": ["203.0.113.0/24", "198.51.100.0/24"]})),
        ("authentication", "Enforced SSO", "enabled", vec![], json!({"sso": true, "twoStepVerification": "enforced", "sessionDurationMinutes": 720})),
        ("ai-governance", "Generative AI review", "disabled", on(&[WS_CONFLUENCE_EU], "applying"), json!({"models": ["rovo"], "review": {"required": true}})),
        ("data-security", "Draft: block attachments", "disabled", vec![], json!({"attachments": "block"})),
        ("data-residency", "US data residency", "enabled", on(&[WS_OPSGENIE], "applied"), json!({"realm": "us"})),
    ];
    org.policies = shapes
        .into_iter()
        .map(|(kind, name, status, resources, rule)| {
            let created_at = now - Duration::seconds(86_400 + rng.below(600 * 86_400) as i64);
            Policy {
                id: uuid_from(rng.next_u64(), rng.next_u64()),
                kind: kind.to_string(),
                name: name.to_string(),
                status,
                resources,
                rule,
                created_at,
                updated_at: created_at + Duration::seconds(rng.below((now - created_at).num_seconds().max(1) as u64) as i64),
            }
        })
        .collect();
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PoliciesQuery {
    cursor: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl Rejects for PoliciesQuery {
    const CODE: &'static str = "ADMIN-400-4";
}

#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}
const CURSORS: Cursors<Offset> = Cursors::new("p");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<PoliciesQuery>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let offset = CURSORS.read(&s, q.cursor.as_deref())?.map_or(0, |at| at.o);
    let chosen: Vec<&Policy> = org.policies.iter().filter(|p| q.kind.as_deref().is_none_or(|k| k == p.kind)).collect();
    let page = window(chosen.len(), offset, PAGE);
    let data: Vec<Value> = chosen[page.start..page.end]
        .iter()
        .map(|p| {
            let resources: Vec<Value> = p.resources.iter().map(|(id, status)| json!({"id": id, "applicationStatus": status})).collect();
            json!({"id": p.id, "type": "policy", "attributes": {
                "type": p.kind, "name": p.name, "status": p.status, "rule": p.rule, "resources": resources,
                "createdAt": time(p.created_at), "updatedAt": time(p.updated_at),
            }})
        })
        .collect();
    let next = page.next.map(|o| CURSORS.write(&s, &Offset { o }));
    let url = format!("{}/admin/v1/orgs/{}/policies", s.cfg.base_url, org.id);
    let query = [("type", q.kind.as_deref())];
    Style::MetaNext { url: &url, query: &query }.reply(Page::of(data).this(q.cursor.clone().filter(|c| !c.is_empty())).next(next))
}

/// The policy `id`, or one drawn among those `eligible` keeps.
fn pick(cx: &mut MutationContext, id: Option<&str>, what: &str, eligible: impl Fn(&Policy) -> bool) -> Result<usize, MutationError> {
    if let Some(id) = id {
        return cx.org.policies.iter().position(|p| p.id == id).ok_or_else(|| MutationError(format!("{what}: no policy '{id}'")));
    }
    let open: Vec<usize> = (0..cx.org.policies.len()).filter(|&i| eligible(&cx.org.policies[i])).collect();
    if open.is_empty() {
        return Err(MutationError(format!("{what}: no policy to draw")));
    }
    Ok(open[cx.rng.below(open.len() as u64) as usize])
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnablePolicy {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for EnablePolicy {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let i = pick(cx, self.id.as_deref(), "enable_policy", |p| p.status == "disabled")?;
        set_status(cx, i, "enabled");
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisablePolicy {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for DisablePolicy {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let i = pick(cx, self.id.as_deref(), "disable_policy", |p| p.status == "enabled")?;
        set_status(cx, i, "disabled");
        Ok(())
    }
}

fn set_status(cx: &mut MutationContext, i: usize, status: &'static str) {
    let now = cx.org.now;
    let p = &mut cx.org.policies[i];
    p.status = status;
    p.updated_at = now;
    cx.report.record("policies_changed", p.id.clone());
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyPolicy {
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for ApplyPolicy {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let site = match &self.site {
            Some(s) => cx.org.workspaces.iter().find(|w| &w.id == s || &w.name == s).map(|w| w.id.clone()),
            None => cx.org.workspaces.get(WS_JSM).map(|w| w.id.clone()),
        }
        .ok_or_else(|| MutationError(format!("apply_policy: no site {:?}", self.site)))?;
        let i = pick(cx, self.id.as_deref(), "apply_policy", |p| !p.resources.iter().any(|(id, _)| *id == site))?;
        let now = cx.org.now;
        let p = &mut cx.org.policies[i];
        if p.resources.iter().any(|(id, _)| *id == site) {
            return Err(MutationError(format!("apply_policy: '{}' is applied to {site} already", p.id)));
        }
        p.resources.push((site, "applied".into()));
        p.updated_at = now;
        cx.report.record("policies_changed", p.id.clone());
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPolicy {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl MutationFields for AddPolicy {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let now = cx.org.now;
        let id = uuid_from(cx.rng.next_u64(), cx.number);
        let kind = self.kind.unwrap_or_else(|| "data-security".into());
        cx.org.policies.push(Policy {
            id: id.clone(),
            name: self.name.unwrap_or_else(|| format!("{kind} policy {}", cx.number)),
            kind,
            status: "enabled",
            resources: vec![],
            rule: json!({}),
            created_at: now,
            updated_at: now,
        });
        cx.report.record("policies_added", id);
        Ok(())
    }
}
