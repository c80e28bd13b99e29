//! The v2 directory's user filters, shared by the users search (JSON body) and
//! users count (query string): the typed parameters and the compiled filter.

use std::collections::HashSet;

use serde::Deserialize;

use crate::server::extract::OneOrMany;
use crate::model::*;

/// The filter fields of a users search body / users count query.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FilterParams {
    account_ids: Option<OneOrMany<String>>,
    status: Option<OneOrMany<UserStatus>>,
    account_status: Option<OneOrMany<AccountStatus>>,
    membership_status: Option<OneOrMany<MembershipStatus>>,
    claim_status: Option<OneOrMany<ClaimStatus>>,
    resource_ids: Option<OneOrMany<String>>,
    role_ids: Option<OneOrMany<String>>,
    group_ids: Option<OneOrMany<String>>,
    email_domains: Option<OneOrMany<String>>,
    emails: Option<OneOrMany<String>>,
    directory_ids: Option<OneOrMany<String>>,
    search_term: Option<String>,
}

/// Compiled users filter.
#[derive(Default)]
pub(super) struct UserFilter {
    account_ids: Option<HashSet<String>>,
    statuses: Option<Vec<UserStatus>>,
    account_statuses: Option<Vec<AccountStatus>>,
    membership_statuses: Option<Vec<MembershipStatus>>,
    claim_statuses: Option<Vec<ClaimStatus>>,
    /// Resolved workspace indexes (unknown ARIs resolve to nothing).
    resources: Option<Vec<usize>>,
    roles: Option<Vec<String>>,
    groups: Option<Vec<usize>>,
    email_domains: Option<Vec<String>>,
    emails: Option<HashSet<String>>,
    search_term: Option<String>,
    /// `directoryIds` given and not naming our directory.
    no_directory: bool,
}

impl FilterParams {
    /// Resolve ids against `org`. `Err(detail)` is an invalid resource id (`ADMIN-400-4`).
    pub fn compile(self, org: &Org) -> Result<UserFilter, String> {
        let list = |v: Option<OneOrMany<String>>| v.map(OneOrMany::into_vec);
        let lower = |v: Option<OneOrMany<String>>, trim: &str| {
            list(v).map(|l| l.into_iter().map(|d| d.trim_start_matches(trim).to_ascii_lowercase()).collect::<Vec<_>>())
        };
        let mut f = UserFilter {
            account_ids: list(self.account_ids).map(|l| l.into_iter().collect()),
            statuses: self.status.map(OneOrMany::into_vec),
            account_statuses: self.account_status.map(OneOrMany::into_vec),
            membership_statuses: self.membership_status.map(OneOrMany::into_vec),
            claim_statuses: self.claim_status.map(OneOrMany::into_vec),
            roles: list(self.role_ids),
            email_domains: lower(self.email_domains, "@"),
            emails: lower(self.emails, "").map(|l| l.into_iter().collect()),
            search_term: self.search_term.filter(|t| !t.is_empty()).map(|t| t.to_lowercase()),
            ..Default::default()
        };
        if let Some(res) = list(self.resource_ids) {
            let mut idx = Vec::new();
            for r in &res {
                if !r.starts_with("ari:cloud:") {
                    return Err(format!("Invalid resource: {r}"));
                }
                idx.extend(org.workspace_index(r));
            }
            f.resources = Some(idx);
        }
        if let Some(gs) = list(self.group_ids) {
            f.groups = Some(gs.iter().filter_map(|g| org.groups.iter().position(|x| &x.id == g)).collect());
        }
        if let Some(ds) = list(self.directory_ids) {
            f.no_directory = !ds.iter().any(|d| d == "-" || *d == org.directory_id);
        }
        Ok(f)
    }
}

impl UserFilter {
    pub fn matches(&self, u: &User) -> bool {
        if self.no_directory {
            return false;
        }
        /// An absent filter allows everything; a present one, only its values.
        fn allows<T: PartialEq>(filter: &Option<Vec<T>>, value: &T) -> bool {
            filter.as_ref().is_none_or(|f| f.contains(value))
        }
        let listed = self.account_ids.as_ref().is_none_or(|a| a.contains(&u.account_id))
            && allows(&self.statuses, &u.status)
            && allows(&self.account_statuses, &u.account_status)
            && allows(&self.membership_statuses, &u.membership_status)
            && allows(&self.claim_statuses, &u.claim_status);
        listed && self.roles_match(u) && self.rest_matches(u)
    }

    /// `resourceIds` alone: a role or activity there; with `roleIds`: one of those roles
    /// there; `roleIds` alone: that role anywhere, site or platform.
    fn roles_match(&self, u: &User) -> bool {
        let role_in = |roles: &[String], id: &str| roles.iter().any(|x| x == id);
        match (&self.resources, &self.roles) {
            (Some(res), None) => res.iter().any(|w| u.touches_workspace(*w)),
            (Some(res), Some(roles)) => {
                u.site_roles.iter().any(|r| res.contains(&r.workspace) && role_in(roles, &r.role_id))
            }
            (None, Some(roles)) => {
                u.site_roles.iter().any(|r| role_in(roles, &r.role_id))
                    || u.platform_roles.iter().any(|r| role_in(roles, r))
            }
            (None, None) => true,
        }
    }

    fn rest_matches(&self, u: &User) -> bool {
        if let Some(g) = &self.groups {
            if !u.groups.iter().any(|x| g.contains(x)) {
                return false;
            }
        }
        if self.email_domains.is_none() && self.emails.is_none() && self.search_term.is_none() {
            return true;
        }
        let email = u.email.as_deref().map(str::to_ascii_lowercase);
        if let Some(d) = &self.email_domains {
            let Some(e) = &email else { return false };
            if !d.iter().any(|d| e.rsplit('@').next() == Some(d.as_str())) {
                return false;
            }
        }
        if let Some(es) = &self.emails {
            if !email.as_ref().is_some_and(|e| es.contains(e)) {
                return false;
            }
        }
        if let Some(t) = &self.search_term {
            let hit = u.name.to_lowercase().contains(t)
                || u.email.as_ref().is_some_and(|e| e.to_lowercase().contains(t))
                || u.nickname.as_ref().is_some_and(|n| n.to_lowercase().contains(t));
            if !hit {
                return false;
            }
        }
        true
    }
}
