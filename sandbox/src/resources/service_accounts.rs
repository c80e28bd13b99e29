//! The organization's service accounts: `GET /admin/api-access/v1/orgs/{orgId}/service-accounts`
//! (`read:service-accounts:admin`, an API Atlassian marks experimental). It reads `cursor` (10
//! a page) and answers any other query parameter 500 `ADMIN-500-1`, like the other api-access
//! lists. `{items, links, total}`, the links bare cursors; each account `{id, atlassianId,
//! email, displayName, status, createdById, description, updatedAt}`, `updatedAt` in epoch
//! milliseconds. An organization the API is not enabled for answers 404: a fault rule on
//! `service_accounts` makes it so.
//!
//! Generated: one per service user of the org (`svc-*`, about 1.2 % of the users): its
//! `atlassianId` is the user's account id, its email `<name>@serviceaccount.atlassian.com`,
//! which the generator gives the user too (the users search shows the same email), and the
//! first three active ones hold `atlassian/user` on the Jira site (they show up as seat
//! holders — a service account takes no seat). Mutations: `add_service_account {name?}` (a new
//! service user too), `remove_service_account {id?}` (the account and its user gone).

use axum::extract::State;
use axum::routing::on;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::borrow::Cow;

use crate::model::{AccountStatus, ClaimStatus, MembershipStatus, Org, SiteRole, User, UserStatus};
use crate::mutations::named::{MutationContext, MutationFields, NamedMutation};
use crate::mutations::MutationError;
use crate::org::WS_JIRA;
use crate::rng::{uuid_from, Rng};
use crate::routes::{Resource, Route, Scope, TruthSection};
use crate::server::extract::{ApiPath, ApiQuery, CursorQuery};
use crate::server::paging::{window, Cursors, Page, Style};
use crate::server::{AppState, Reply};

const SCOPE: Scope = Scope::new("read:service-accounts:admin", "the organization's service accounts");

pub(crate) const RESOURCE: Resource = Resource {
    generate: Some(generate),
    mutations: &[
        NamedMutation::new::<AddServiceAccount>("add_service_account", "a new service account, and its service user (`name`, or svc-new-N)"),
        NamedMutation::new::<RemoveServiceAccount>("remove_service_account", "the service account `id`, or one drawn, removed with its user"),
    ],
    truth: Some(TruthSection { key: "service_accounts", render: |org, _| json!(org.service_accounts) }),
    ..Resource::routes(&[Route::get("/admin/api-access/v1/orgs/{orgId}/service-accounts", "service_accounts", |m| on(m, list))
        .query(&["cursor"])
        .refusing_other_params()
        .scope(SCOPE)])
};

/// The email domain of every service account.
pub const EMAIL_DOMAIN: &str = "serviceaccount.atlassian.com";
/// Service accounts a page.
const PAGE: usize = 10;
/// Service users given a Jira seat by the generator.
const SEATED: usize = 3;

/// A service account of the organization; its name and email are its user's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAccount {
    pub id: String,
    /// The account id of its user in the directory (`atlassianId`).
    pub account_id: String,
    /// `ACTIVE` or `INACTIVE` (its user not active).
    pub status: &'static str,
    pub created_by: String,
    pub description: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A service user: generated as such (`svc-…`, no nickname, unverified email).
fn is_service_user(u: &User) -> bool {
    u.name.starts_with("svc-") && u.nickname.is_none() && u.email_verified == Some(false)
}

fn generate(org: &mut Org, seed: u64) {
    let mut rng = Rng::stream(seed ^ 0x5e7a1, 0);
    let creator = org.users.first().map(|u| u.account_id.clone()).unwrap_or_default();
    let now = org.now;
    let mut accounts = Vec::new();
    let mut seated = 0;
    for u in org.users.iter_mut().filter(|u| is_service_user(u)) {
        u.email = Some(format!("{}@{EMAIL_DOMAIN}", u.name));
        if u.status == UserStatus::Active && seated < SEATED {
            seated += 1;
            let seat = SiteRole { workspace: WS_JIRA, role_id: Cow::Borrowed("atlassian/user") };
            if !u.site_roles.contains(&seat) {
                u.site_roles.push(seat);
            }
        }
        accounts.push(ServiceAccount {
            id: uuid_from(rng.next_u64(), rng.next_u64()),
            account_id: u.account_id.clone(),
            status: if u.status == UserStatus::Active { "ACTIVE" } else { "INACTIVE" },
            created_by: creator.clone(),
            description: rng.chance(0.7).then(|| format!("Automation: {}", u.name.trim_start_matches("svc-"))),
            updated_at: now - Duration::milliseconds(rng.below(400 * 86_400_000) as i64),
        });
    }
    org.service_accounts = accounts;
}

#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}
const CURSORS: Cursors<Offset> = Cursors::new("s");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let offset = CURSORS.read(&s, q.given())?.map_or(0, |at| at.o);
    let page = window(org.service_accounts.len(), offset, PAGE);
    let items: Vec<Value> = org.service_accounts[page.start..page.end]
        .iter()
        .map(|a| {
            let user = org.user(&a.account_id);
            json!({
                "atlassianId": a.account_id, "id": a.id, "email": user.and_then(|u| u.email.as_ref()),
                "displayName": user.map(|u| &u.name), "updatedAt": a.updated_at.timestamp_millis(), "status": a.status,
                "createdById": a.created_by, "description": a.description,
            })
        })
        .collect();
    let at = |o: Option<usize>| o.map(|o| CURSORS.write(&s, &Offset { o }));
    Style::Items { total: org.service_accounts.len() }.reply(Page::of(items).this(q.given().map(str::to_owned)).prev(at(page.prev)).next(at(page.next)))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddServiceAccount {
    #[serde(default)]
    name: Option<String>,
}

impl MutationFields for AddServiceAccount {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let name = self.name.unwrap_or_else(|| format!("svc-new-{}", cx.number));
        if !name.starts_with("svc-") {
            return Err(MutationError(format!("add_service_account: '{name}' does not start with svc-")));
        }
        if cx.org.users.iter().any(|u| u.name == name) {
            return Err(MutationError(format!("add_service_account: a user '{name}' exists")));
        }
        let (company, domain) = crate::org::identity(0);
        let mut u = loop {
            let u = crate::org::gen_user(cx.rng.next_u64(), 0, false, cx.org.now, domain, company);
            if cx.org.user(&u.account_id).is_none() {
                break u;
            }
        };
        (u.status, u.account_status, u.membership_status, u.claim_status) = (UserStatus::Active, AccountStatus::Active, MembershipStatus::Active, ClaimStatus::Managed);
        (u.deactivated_on, u.for_deletion, u.added_to_org) = (None, false, Some(cx.org.now));
        (u.nickname, u.email_verified, u.mfa_enabled, u.management_source) = (None, Some(false), None, None);
        (u.job_title, u.department, u.organization, u.location, u.time_zone) = (None, None, None, None, None);
        (u.platform_roles, u.groups, u.product_access, u.site_roles) = (vec![], vec![], vec![], vec![]);
        u.email = Some(format!("{name}@{EMAIL_DOMAIN}"));
        u.name = name;
        let id = uuid_from(cx.rng.next_u64(), cx.number);
        let created_by = cx.org.users.first().map(|u| u.account_id.clone()).unwrap_or_default();
        cx.org.service_accounts.push(ServiceAccount {
            id: id.clone(),
            account_id: u.account_id.clone(),
            status: "ACTIVE",
            created_by,
            description: None,
            updated_at: cx.org.now,
        });
        cx.report.record("users_added", u.account_id.clone());
        cx.org.users.push(u);
        cx.report.record("service_accounts_added", id);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveServiceAccount {
    #[serde(default)]
    id: Option<String>,
}

impl MutationFields for RemoveServiceAccount {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let i = match &self.id {
            Some(id) => cx.org.service_accounts.iter().position(|a| &a.id == id).ok_or_else(|| MutationError(format!("remove_service_account: no service account '{id}'")))?,
            None if cx.org.service_accounts.is_empty() => return Err(MutationError("remove_service_account: none left".into())),
            None => cx.rng.below(cx.org.service_accounts.len() as u64) as usize,
        };
        let gone = cx.org.service_accounts.remove(i);
        if let Some(k) = cx.org.users.iter().position(|u| u.account_id == gone.account_id) {
            let user = cx.org.users.remove(k);
            cx.report.record("users_removed", user.account_id);
        }
        cx.report.record("service_accounts_removed", gone.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::BILLABLE_ROLES;
    use crate::{generate_org, OrgSpec};

    #[test]
    fn every_service_user_is_a_service_account_with_its_email_and_a_few_hold_a_seat() {
        let org = generate_org(&OrgSpec { seed: 42, users: 1000 });
        assert!(org.service_accounts.len() >= 5, "{}", org.service_accounts.len());
        for a in &org.service_accounts {
            let u = org.user(&a.account_id).unwrap();
            assert!(u.name.starts_with("svc-"));
            assert_eq!(u.email.as_deref(), Some(format!("{}@serviceaccount.atlassian.com", u.name).as_str()));
        }
        let seated = org.service_accounts.iter().filter(|a| org.user(&a.account_id).unwrap().site_roles.iter().any(|r| BILLABLE_ROLES.contains(&r.role_id.as_ref()))).count();
        assert!(seated >= 3, "{seated} service users hold a seat");
    }
}
