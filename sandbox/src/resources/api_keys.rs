//! The organization's API keys: `GET /admin/api-access/v1/orgs/{orgId}/api-keys`. Atlassian
//! documents its scope as `read:tokens:admin` in one place and `read:keys:admin` in another:
//! the route needs `read:keys:admin`, and the handler refuses a key without
//! `read:tokens:admin` too (either switch gives the same 403). `pageSize` and `cursor` only, as
//! the tokens' list (`api_tokens.rs`: default 20, 100 at most), any other query parameter a
//! 500; `{data, links}`, bare cursors; each key `{id, label, createdAt, expiresAt?,
//! lastActiveAt?, systemAccountId, resource, orgId, createdBy: {id, name, email}, scopes,
//! targetResources}`.
//!
//! Generated: five keys — one expiring within 30 days, one without expiry, one never used, one
//! used today (the org's now), one used a month ago with scopes and two target sites. The key
//! the connector itself uses is not among them. Mutations: `create_api_key {label?}`,
//! `use_api_key {id?}` (last active now), `revoke_api_key {id?}` (gone),
//! `expire_api_key_soon {id?}` (expires in 7 days).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::on;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api_tokens::{ListQuery, PAGE_SIZE, SCOPE as TOKENS_SCOPE};
use crate::model::Org;
use crate::mutations::named::{MutationContext, MutationFields, NamedMutation};
use crate::mutations::MutationError;
use crate::org::{WS_CONFLUENCE, WS_JIRA};
use crate::rng::{uuid_from, Rng};
use crate::routes::{Resource, Route, Scope, TruthSection};
use crate::server::extract::{ApiPath, ApiQuery};
use crate::server::paging::{window, Cursors, Page, Style};
use crate::server::{AppState, Reply};

const SCOPE: Scope = Scope::new("read:keys:admin", "the organization's API keys");

pub(crate) const RESOURCE: Resource = Resource {
    generate: Some(generate),
    mutations: &[
        NamedMutation::new::<CreateKey>("create_api_key", "a new API key (never used, expiring in a year), `label` or key N"),
        NamedMutation::new::<UseKey>("use_api_key", "the key `id`, or one drawn, used now (its lastActiveAt the org's now)"),
        NamedMutation::new::<RevokeKey>("revoke_api_key", "the key `id`, or one drawn, revoked: gone from the list"),
        NamedMutation::new::<ExpireKeySoon>("expire_api_key_soon", "the key `id`, or one drawn that does not expire within 30 days, expiring in 7 days"),
    ],
    truth: Some(TruthSection { key: "api_keys", render: |org, _| json!(org.api_keys) }),
    ..Resource::routes(&[Route::get("/admin/api-access/v1/orgs/{orgId}/api-keys", "api_keys", |m| on(m, list))
        .query(&["pageSize", "cursor"])
        .refusing_other_params()
        .scope(SCOPE)])
};

/// An organization API key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// `None`: no expiry given.
    pub expires_at: Option<DateTime<Utc>>,
    /// `None`: never used.
    pub last_active_at: Option<DateTime<Utc>>,
    /// The account id of the admin who created it.
    pub created_by: String,
    pub scopes: Vec<String>,
    /// The site ARIs it is limited to (empty: the whole organization).
    pub target_resources: Vec<String>,
    /// The system account the key acts as.
    pub system_account_id: String,
}

fn generate(org: &mut Org, seed: u64) {
    let mut rng = Rng::stream(seed ^ 0xa91e5, 0);
    let now = org.now;
    let creator = org.users.first().map(|u| u.account_id.clone()).unwrap_or_default();
    let site = |k: usize| org.workspaces.get(k).map(|w| w.id.clone());
    let targets: Vec<String> = [site(WS_JIRA), site(WS_CONFLUENCE)].into_iter().flatten().collect();
    // (label, created days ago, expires in days, last used: seconds before now)
    let shapes: [(&str, i64, Option<i64>, Option<i64>); 5] = [
        ("jira-automation", 340, Some(12), Some(2 * 86_400)),
        ("legacy-sync", 900, None, Some(40 * 86_400)),
        ("unused-audit", 20, Some(345), None),
        ("identity-provisioning", 100, Some(265), Some(2 * 3600)),
        ("reporting", 60, Some(305), Some(30 * 86_400)),
    ];
    org.api_keys = shapes
        .iter()
        .enumerate()
        .map(|(k, (label, created, expires, used))| ApiKey {
            id: uuid_from(rng.next_u64(), rng.next_u64()),
            label: label.to_string(),
            created_at: now - Duration::days(*created),
            expires_at: expires.map(|d| now + Duration::days(d)),
            last_active_at: used.map(|s| now - Duration::seconds(s)),
            created_by: creator.clone(),
            scopes: if k == 4 { vec!["read:directories:admin".into(), "read:workspaces:admin".into()] } else { vec![] },
            target_resources: if k == 4 { targets.clone() } else { vec![] },
            system_account_id: format!("557058:{}", uuid_from(rng.next_u64(), rng.next_u64())),
        })
        .collect();
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}
const CURSORS: Cursors<Offset> = Cursors::new("k");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<ListQuery>) -> Reply {
    if s.forbids(&TOKENS_SCOPE) {
        // Atlassian documents this list under either scope: a key without either is refused.
        return Err(s.error(StatusCode::FORBIDDEN, "ADMIN-403-3", "Forbidden", &SCOPE.refusal()));
    }
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let size = PAGE_SIZE.read(&s, q.page_size)?;
    let offset = CURSORS.read(&s, q.cursor.as_deref())?.map_or(0, |at| at.o);
    let page = window(org.api_keys.len(), offset, size);
    let data: Vec<Value> = org.api_keys[page.start..page.end]
        .iter()
        .map(|k| {
            let by = org.user(&k.created_by);
            let mut v = json!({
                "id": k.id, "label": k.label, "createdAt": time(k.created_at), "systemAccountId": k.system_account_id,
                "resource": format!("ari:cloud:platform::org/{}", org.id), "orgId": org.id,
                "createdBy": {"id": k.created_by, "name": by.map(|u| &u.name), "email": by.and_then(|u| u.email.as_ref())},
                "scopes": k.scopes, "targetResources": k.target_resources,
            });
            if let Some(e) = k.expires_at {
                v["expiresAt"] = json!(time(e));
            }
            if let Some(a) = k.last_active_at {
                v["lastActiveAt"] = json!(time(a));
            }
            v
        })
        .collect();
    let at = |o: Option<usize>| o.map(|o| CURSORS.write(&s, &Offset { o }));
    Style::BareCursor.reply(Page::of(data).this(q.cursor.clone().filter(|c| !c.is_empty())).prev(at(page.prev)).next(at(page.next)))
}

/// The key `id`, or one drawn among those `eligible` keeps.
fn pick(cx: &mut MutationContext, id: Option<&str>, what: &str, eligible: impl Fn(&ApiKey) -> bool) -> Result<usize, MutationError> {
    if let Some(id) = id {
        return cx.org.api_keys.iter().position(|k| k.id == id).ok_or_else(|| MutationError(format!("{what}: no key '{id}'")));
    }
    let open: Vec<usize> = (0..cx.org.api_keys.len()).filter(|&i| eligible(&cx.org.api_keys[i])).collect();
    if open.is_empty() {
        return Err(MutationError(format!("{what}: no key to draw")));
    }
    Ok(open[cx.rng.below(open.len() as u64) as usize])
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    #[serde(default)]
    label: Option<String>,
}

impl MutationFields for CreateKey {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let now = cx.org.now;
        let id = uuid_from(cx.rng.next_u64(), cx.number);
        let created_by = cx.org.users.first().map(|u| u.account_id.clone()).unwrap_or_default();
        let system = format!("557058:{}", uuid_from(cx.rng.next_u64(), cx.rng.next_u64()));
        cx.org.api_keys.push(ApiKey {
            id: id.clone(),
            label: self.label.unwrap_or_else(|| format!("key {}", cx.number)),
            created_at: now,
            expires_at: Some(now + Duration::days(365)),
            last_active_at: None,
            created_by,
            scopes: vec![],
            target_resources: vec![],
            system_account_id: system,
        });
        cx.report.record("api_keys_added", id);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UseKey {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for UseKey {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let now = cx.org.now;
        let i = pick(cx, self.id.as_deref(), "use_api_key", |k| k.last_active_at != Some(now))?;
        cx.org.api_keys[i].last_active_at = Some(now);
        cx.report.record("api_keys_changed", cx.org.api_keys[i].id.clone());
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeKey {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for RevokeKey {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let i = pick(cx, self.id.as_deref(), "revoke_api_key", |_| true)?;
        let gone = cx.org.api_keys.remove(i);
        cx.report.record("api_keys_removed", gone.id);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpireKeySoon {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for ExpireKeySoon {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let now = cx.org.now;
        let soon = now + Duration::days(30);
        let i = pick(cx, self.id.as_deref(), "expire_api_key_soon", |k| k.expires_at.is_none_or(|e| e > soon))?;
        cx.org.api_keys[i].expires_at = Some(now + Duration::days(7));
        cx.report.record("api_keys_changed", cx.org.api_keys[i].id.clone());
        Ok(())
    }
}
