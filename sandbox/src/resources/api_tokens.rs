//! The managed accounts' API tokens: `GET /admin/api-access/v1/orgs/{orgId}/api-tokens`
//! (`read:tokens:admin`). It reads `pageSize` (default 20; above the maximum, 100, it serves
//! 100: the API documents neither) and `cursor`, and answers any other query parameter 500
//! `ADMIN-500-1`, as the live API does. `{data, links}`, the links bare cursors; each token
//! `{id, label, status, createdAt, expiresAt?, lastActiveAt?, user: {id, orgId, name, email},
//! scopes}` — never a secret. The owner's name and email are the user's as the users search
//! shows them.
//!
//! Generated: a token or two for about 5 % of the users (7 % of the managed accounts, who alone have tokens here). Some expired (status
//! `EXPIRED`), some never used (no `lastActiveAt`), some used long ago; and **integration
//! users**: seat holders (an active user with a billable role on a site) with no product
//! activity whose token was used in the last few days — API use that "last active" does not
//! see. The truth lists each token with its owner and `integration_user` (computed from the org
//! as it is: the owner holds a seat, has no product activity, and this token was used in the 7
//! days before the org's now). Mutations: `create_api_token {account_id?, label?}`,
//! `use_api_token {id?}` (last active now), `revoke_api_token {id?}` (gone from the list).

use axum::extract::State;
use axum::routing::on;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::{Org, UserStatus};
use crate::mutations::named::{MutationContext, MutationFields, NamedMutation};
use crate::mutations::MutationError;
use crate::rng::{uuid_from, Rng};
use crate::routes::{Resource, Route, Scope, TruthSection};
use crate::server::extract::{ApiPath, ApiQuery, Rejects};
use crate::server::paging::{window, BeyondMax, Cursors, Page, PageSize, Style};
use crate::server::{AppState, Reply};

pub(crate) const SCOPE: Scope = Scope::new("read:tokens:admin", "the managed accounts' API tokens");

pub(crate) const RESOURCE: Resource = Resource {
    generate: Some(generate),
    mutations: &[
        NamedMutation::new::<CreateToken>("create_api_token", "a new token (never used, expiring in a year) for `account_id`, or a managed account drawn"),
        NamedMutation::new::<UseToken>("use_api_token", "the token `id`, or one drawn, used now (its lastActiveAt the org's now)"),
        NamedMutation::new::<RevokeToken>("revoke_api_token", "the token `id`, or one drawn, revoked: gone from the list"),
    ],
    truth: Some(TruthSection { key: "api_tokens", render: truth }),
    ..Resource::routes(&[Route::get("/admin/api-access/v1/orgs/{orgId}/api-tokens", "api_tokens", |m| on(m, list))
        .query(&["pageSize", "cursor"])
        .refusing_other_params()
        .scope(SCOPE)])
};

/// What an integration user's token was used within, before the org's now.
pub const RECENT_USE_DAYS: i64 = 7;

/// A user API token of a managed account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub label: String,
    /// `ALLOWED`, or `EXPIRED` once past `expires_at`.
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `None`: never used.
    pub last_active_at: Option<DateTime<Utc>>,
    /// The owner's account id.
    pub account_id: String,
    pub scopes: Vec<String>,
}

const LABELS: [&str; 8] = ["jira-cli", "backup script", "zapier", "reporting", "ci pipeline", "confluence export", "personal", "terraform"];
const SCOPE_SETS: [&[&str]; 4] = [&[], &["read:jira-work"], &["read:jira-work", "write:jira-work"], &["read:confluence-content.all"]];

/// The org's seat holders without product activity: who an integration user can be.
fn idle_seat_holders(org: &Org) -> Vec<usize> {
    (0..org.users.len()).filter(|&i| org.users[i].access_billable() && org.users[i].product_access.is_empty()).collect()
}

fn generate(org: &mut Org, seed: u64) {
    let mut rng = Rng::stream(seed ^ 0x70c3e, 0);
    let now = org.now;
    let mut tokens = Vec::new();
    for i in 0..org.users.len() {
        let u = &org.users[i];
        if !u.is_managed() || u.status == UserStatus::NotInvited || !rng.chance(0.07) {
            continue;
        }
        let n = if rng.chance(0.25) { 2 } else { 1 };
        for _ in 0..n {
            tokens.push(token(&mut rng, now, &u.account_id.clone()));
        }
    }
    // Integration users: up to three idle seat holders, each with a token used in the last days.
    let idle = idle_seat_holders(org);
    for k in 0..idle.len().min(3) {
        let i = idle[(k * 7919) % idle.len()];
        let owner = org.users[i].account_id.clone();
        let mut t = token(&mut rng, now, &owner);
        t.label = format!("integration-{k}");
        t.status = "ALLOWED";
        t.expires_at = Some(now + Duration::days(30 + rng.below(300) as i64));
        t.last_active_at = Some(now - Duration::minutes(30 + rng.below(3 * 24 * 60) as i64));
        if !tokens.iter().any(|x: &ApiToken| x.account_id == owner && x.last_active_at == t.last_active_at) {
            tokens.push(t);
        }
    }
    org.api_tokens = tokens;
}

/// A token of `owner` drawn: created up to two years ago; some expired, some never used, some
/// used long ago, the rest lately.
fn token(rng: &mut Rng, now: DateTime<Utc>, owner: &str) -> ApiToken {
    let created_at = now - Duration::seconds(86_400 + rng.below(730 * 86_400) as i64);
    let expires_at = if rng.chance(0.1) { None } else { Some(created_at + Duration::days(365)) };
    let expired = expires_at.is_some_and(|e| e <= now);
    let last_active_at = match rng.below(10) {
        0..=2 => None,
        3..=4 => Some(created_at + Duration::seconds(rng.below(30 * 86_400) as i64)),
        _ => Some(now - Duration::seconds(rng.below(60 * 86_400) as i64)),
    }
    .map(|t| t.min(expires_at.unwrap_or(now)).min(now).max(created_at));
    ApiToken {
        id: uuid_from(rng.next_u64(), rng.next_u64()),
        label: rng.pick(&LABELS).to_string(),
        status: if expired { "EXPIRED" } else { "ALLOWED" },
        created_at,
        expires_at,
        last_active_at,
        account_id: owner.to_string(),
        scopes: rng.pick(&SCOPE_SETS).iter().map(|s| s.to_string()).collect(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether `t`'s owner is an integration user through it (see the module doc).
pub fn integration_use(org: &Org, t: &ApiToken) -> bool {
    let recent = t.last_active_at.is_some_and(|at| at > org.now - Duration::days(RECENT_USE_DAYS));
    recent && org.user(&t.account_id).is_some_and(|u| u.access_billable() && u.product_access.is_empty())
}

fn truth(org: &Org, _base_url: &str) -> Value {
    let tokens: Vec<Value> = org
        .api_tokens
        .iter()
        .map(|t| {
            let owner = org.user(&t.account_id);
            let integration = org.api_tokens.iter().any(|x| x.account_id == t.account_id && integration_use(org, x));
            json!({
                "id": t.id, "label": t.label, "status": t.status, "created_at": t.created_at, "expires_at": t.expires_at,
                "last_active_at": t.last_active_at, "scopes": t.scopes,
                "owner": {"account_id": t.account_id, "name": owner.map(|u| &u.name), "email": owner.and_then(|u| u.email.as_ref()), "integration_user": integration},
            })
        })
        .collect();
    json!(tokens)
}

/// The query of an api-access list: `pageSize` and `cursor`, nothing else (the route refuses
/// any other parameter).
#[derive(Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(rename = "pageSize")]
    pub page_size: Option<u64>,
    pub cursor: Option<String>,
}

impl Rejects for ListQuery {
    const CODE: &'static str = "ADMIN-400-4";
}

/// The api-access lists' page size: 20 by default, 100 served for anything above.
pub(crate) const PAGE_SIZE: PageSize = PageSize { param: "pageSize", default: 20, max: 100, beyond_max: BeyondMax::Served, code: "ADMIN-400-4" };

#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}
const CURSORS: Cursors<Offset> = Cursors::new("t");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<ListQuery>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let size = PAGE_SIZE.read(&s, q.page_size)?;
    let offset = CURSORS.read(&s, q.cursor.as_deref())?.map_or(0, |at| at.o);
    let page = window(org.api_tokens.len(), offset, size);
    let data: Vec<Value> = org.api_tokens[page.start..page.end]
        .iter()
        .map(|t| {
            let owner = org.user(&t.account_id);
            let mut v = json!({
                "id": t.id, "label": t.label, "status": t.status, "createdAt": time(t.created_at),
                "user": {"id": t.account_id, "orgId": org.id, "name": owner.map(|u| &u.name), "email": owner.and_then(|u| u.email.as_ref())},
                "scopes": t.scopes,
            });
            if let Some(e) = t.expires_at {
                v["expiresAt"] = json!(time(e));
            }
            if let Some(a) = t.last_active_at {
                v["lastActiveAt"] = json!(time(a));
            }
            v
        })
        .collect();
    let at = |o: Option<usize>| o.map(|o| CURSORS.write(&s, &Offset { o }));
    Style::BareCursor.reply(Page::of(data).this(q.cursor.clone().filter(|c| !c.is_empty())).prev(at(page.prev)).next(at(page.next)))
}

/// The token `id`, or one drawn among those `eligible` keeps; `what` names the mutation.
fn pick(cx: &mut MutationContext, id: Option<&str>, what: &str, eligible: impl Fn(&ApiToken) -> bool) -> Result<usize, MutationError> {
    match id {
        Some(id) => cx.org.api_tokens.iter().position(|t| t.id == id).ok_or_else(|| MutationError(format!("{what}: no token '{id}'"))),
        None => {
            let open: Vec<usize> = (0..cx.org.api_tokens.len()).filter(|&i| eligible(&cx.org.api_tokens[i])).collect();
            if open.is_empty() {
                return Err(MutationError(format!("{what}: no token to draw")));
            }
            Ok(open[cx.rng.below(open.len() as u64) as usize])
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

impl MutationFields for CreateToken {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let owner = match self.account_id {
            Some(a) if cx.org.user(&a).is_some() => a,
            Some(a) => return Err(MutationError(format!("create_api_token: no user '{a}'"))),
            None => {
                let managed: Vec<usize> = (0..cx.org.users.len()).filter(|&i| cx.org.users[i].is_managed() && cx.org.users[i].status == UserStatus::Active).collect();
                if managed.is_empty() {
                    return Err(MutationError("create_api_token: no active managed account".into()));
                }
                cx.org.users[managed[cx.rng.below(managed.len() as u64) as usize]].account_id.clone()
            }
        };
        let now = cx.org.now;
        let id = uuid_from(cx.rng.next_u64(), cx.number);
        let label = self.label.unwrap_or_else(|| format!("token {}", cx.number));
        cx.org.api_tokens.push(ApiToken {
            id: id.clone(),
            label,
            status: "ALLOWED",
            created_at: now,
            expires_at: Some(now + Duration::days(365)),
            last_active_at: None,
            account_id: owner,
            scopes: vec![],
        });
        cx.report.record("api_tokens_added", id);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UseToken {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for UseToken {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let now = cx.org.now;
        let i = pick(cx, self.id.as_deref(), "use_api_token", |t| t.status == "ALLOWED" && t.last_active_at != Some(now))?;
        cx.org.api_tokens[i].last_active_at = Some(now);
        cx.report.record("api_tokens_changed", cx.org.api_tokens[i].id.clone());
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeToken {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for RevokeToken {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let i = pick(cx, self.id.as_deref(), "revoke_api_token", |_| true)?;
        let gone = cx.org.api_tokens.remove(i);
        cx.report.record("api_tokens_removed", gone.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{generate_org, OrgSpec};

    use super::integration_use;

    #[test]
    fn tokens_for_about_one_user_in_twenty_with_integration_users_among_them() {
        let org = generate_org(&OrgSpec { seed: 42, users: 1000 });
        let n = org.api_tokens.len();
        assert!((30..=120).contains(&n), "{n} tokens");
        let integration: Vec<_> = org.api_tokens.iter().filter(|t| integration_use(&org, t)).collect();
        assert!(!integration.is_empty(), "integration users");
        for t in integration {
            let u = org.user(&t.account_id).unwrap();
            assert!(u.access_billable() && u.product_access.is_empty());
        }
        assert!(org.api_tokens.iter().any(|t| t.status == "EXPIRED"), "some expired");
        assert!(org.api_tokens.iter().any(|t| t.last_active_at.is_none()), "some never used");
        assert!(org.api_tokens.iter().any(|t| t.last_active_at.is_some_and(|a| a < org.now - chrono::Duration::days(180))), "some used long ago");
        assert_eq!(org.api_tokens, generate_org(&OrgSpec { seed: 42, users: 1000 }).api_tokens);
    }
}
