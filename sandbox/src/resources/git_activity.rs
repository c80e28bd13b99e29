//! Git-only Bitbucket developers: what the admin API cannot show. Bitbucket's "last active"
//! counts product pages, not git over the command line (Atlassian's knowledge base), so a
//! developer who only pushes and pulls holds a Bitbucket seat and shows no activity on it. No
//! route serves this (no Atlassian API does): the truth tells which seat holders work so, for
//! the licence report's tests — such a seat must never be on the reclaimable list.
//!
//! Generated: about a third of the active users (people, not the `svc-*` service users)
//! holding a billable role on a Bitbucket workspace with no activity there (drawn by account
//! id, so the rest of the org is unchanged).
//! The truth's `git_only` lists each (account, workspace) that is so now: a user since given
//! Bitbucket activity, or their seat, or removed, drops out.

use serde_json::{json, Value};

use crate::model::{Org, User, UserStatus, BILLABLE_ROLES};
use crate::rng::hash_str;
use crate::routes::{Resource, TruthSection};

pub(crate) const RESOURCE: Resource =
    Resource { generate: Some(generate), truth: Some(TruthSection { key: "git_only", render: truth }), ..Resource::routes(&[]) };

/// The Bitbucket workspaces (indexes) on which `u` holds a billable role and has no activity.
fn idle_bitbucket_seats<'a>(org: &'a Org, u: &'a User) -> impl Iterator<Item = usize> + 'a {
    (0..org.workspaces.len()).filter(move |&w| {
        org.workspaces[w].product_type == "bitbucket"
            && u.site_roles.iter().any(|r| r.workspace == w && BILLABLE_ROLES.contains(&r.role_id.as_ref()))
            && !u.product_access.iter().any(|p| p.workspace == w)
    })
}

fn generate(org: &mut Org, seed: u64) {
    org.git_only = org
        .users
        .iter()
        .filter(|u| u.status == UserStatus::Active && !u.name.starts_with("svc-") && hash_str(seed ^ 0x6177, &u.account_id) % 3 == 0)
        .filter(|u| idle_bitbucket_seats(org, u).next().is_some())
        .map(|u| u.account_id.clone())
        .collect();
}

fn truth(org: &Org, _base_url: &str) -> Value {
    let seats: Vec<Value> = org
        .users
        .iter()
        .filter(|u| org.git_only.contains(&u.account_id))
        .flat_map(|u| idle_bitbucket_seats(org, u).map(move |w| json!({"account_id": u.account_id, "workspace_id": org.workspaces[w].id})))
        .collect();
    json!(seats)
}

#[cfg(test)]
mod tests {
    use crate::{generate_org, OrgSpec};

    #[test]
    fn some_idle_bitbucket_holders_work_through_git_only() {
        let org = generate_org(&OrgSpec { seed: 42, users: 1000 });
        let truth = super::truth(&org, "");
        let seats = truth.as_array().unwrap();
        assert!(seats.len() >= 10, "{} git-only seats", seats.len());
        for s in seats {
            let u = org.user(s["account_id"].as_str().unwrap()).unwrap();
            let w = org.workspace_index(s["workspace_id"].as_str().unwrap()).unwrap();
            assert_eq!(org.workspaces[w].product_type, "bitbucket");
            assert!(!u.product_access.iter().any(|p| p.workspace == w), "no Bitbucket activity");
        }
        assert_eq!(org.git_only, generate_org(&OrgSpec { seed: 42, users: 1000 }).git_only);
    }
}
