//! Tests of the synthetic organization generator (no HTTP).

use std::collections::HashSet;

use atlassian_sandbox::org::{WS_BITBUCKET, WS_JIRA, WS_JIRA_SANDBOX, WS_TRELLO};
use atlassian_sandbox::*;
use chrono::Duration;

#[test]
fn same_seed_same_org_and_different_seed_differs() {
    let a = generate_org(&OrgSpec { seed: 7, users: 3000 });
    let b = generate_org(&OrgSpec { seed: 7, users: 3000 });
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    let c = generate_org(&OrgSpec { seed: 8, users: 3000 });
    assert_ne!(a.id, c.id);
    assert_ne!(a.users[0].account_id, c.users[0].account_id);
    // A prefix of a larger org is the same users (per-user streams).
    let small = generate_org(&OrgSpec { seed: 7, users: 100 });
    assert_eq!(small.users[50].account_id, a.users[50].account_id);
    assert_eq!(small.users[50].product_access, a.users[50].product_access);
}

/// What 200k users cost to generate is counted in `tests/cost.rs`.
#[test]
fn two_hundred_thousand_users_have_distinct_ids_and_emails() {
    let org = generate_org(&OrgSpec { seed: 42, users: 200_000 });
    assert_eq!(org.users.len(), 200_000);
    let ids: HashSet<&str> = org.users.iter().map(|u| u.account_id.as_str()).collect();
    assert_eq!(ids.len(), 200_000, "account ids must be unique");
    let emails: HashSet<&str> = org.users.iter().filter_map(|u| u.email.as_deref()).collect();
    assert_eq!(emails.len(), org.users.iter().filter(|u| u.email.is_some()).count());
}

#[test]
fn org_has_the_promised_variety() {
    let org = generate_org(&OrgSpec { seed: 42, users: 2000 });
    let now = org.now;
    assert_eq!(now.to_rfc3339(), "2026-11-01T00:00:00+00:00");
    for s in UserStatus::ALL {
        assert!(org.users.iter().any(|u| u.status == s), "missing status {s:?}");
    }
    let active = org.users.iter().filter(|u| u.status == UserStatus::Active).count();
    assert!(active > org.users.len() / 2, "mostly active");
    for u in &org.users {
        match u.status {
            UserStatus::Active => {
                assert_eq!((u.account_status, u.membership_status), (AccountStatus::Active, MembershipStatus::Active))
            }
            UserStatus::Suspended => assert_eq!(u.membership_status, MembershipStatus::Suspended),
            UserStatus::NotInvited => assert_eq!(u.membership_status, MembershipStatus::NoMembership),
            UserStatus::Deactivated => {
                assert_eq!(u.account_status, AccountStatus::Inactive);
                assert!(u.deactivated_on.is_some());
            }
            UserStatus::ForDeletion => assert!(u.for_deletion && u.deactivated_on.is_some()),
        }
        for p in &u.product_access {
            assert!(p.last_active <= now);
            assert!(p.last_active >= now - Duration::days(1800 + 1));
            if let Some(a) = u.added_to_org {
                assert!(p.last_active >= a - Duration::seconds(1), "activity before joining");
            }
        }
        assert!(u.groups.len() <= 3);
    }
    assert!(org.users.iter().any(|u| u.claim_status == ClaimStatus::Managed));
    assert!(org.users.iter().any(|u| u.claim_status == ClaimStatus::Unmanaged));
    assert!(org.users.iter().any(|u| u.job_title.is_none()));
    // Every user has an email: the service users, who had none, have their service account's.
    assert!(org.service_accounts.iter().all(|a| org.user(&a.account_id).and_then(|u| u.email.as_deref()).is_some_and(|e| e.ends_with("@serviceaccount.atlassian.com"))));
    let never: Vec<&User> = org.users.iter().filter(|u| u.product_access.is_empty()).collect();
    assert!(never.len() > 50);
    assert!(never.iter().any(|u| u.quirks.omit_empty_product_access));
    assert!(never.iter().any(|u| !u.quirks.omit_empty_product_access));
    assert!(org.users.iter().any(|u| u.product_access.len() >= 3));
    assert!(org
        .users
        .iter()
        .any(|u| u.product_access.iter().any(|p| p.last_active > now - Duration::days(2))));
    assert!(org
        .users
        .iter()
        .any(|u| u.product_access.iter().any(|p| p.last_active < now - Duration::days(300))));
    assert!(org.users.iter().any(|u| u.platform_roles.iter().any(|r| r == "atlassian/org-admin")));
    // Billable role but no activity on that site, and activity without a role.
    assert!(org.users.iter().any(|u| u
        .site_roles
        .iter()
        .any(|r| BILLABLE_ROLES.contains(&r.role_id.as_ref())
            && !u.product_access.iter().any(|p| p.workspace == r.workspace))));
    assert!(org.users.iter().any(|u| u
        .product_access
        .iter()
        .any(|p| !u.site_roles.iter().any(|r| r.workspace == p.workspace))));
    for role in ["atlassian/user", "atlassian/admin", "atlassian/guest", "atlassian/customer", "atlassian/basic"] {
        assert!(org.users.iter().any(|u| u.site_roles.iter().any(|r| r.role_id == role)), "{role}");
    }
    // Workspaces.
    assert!(org.workspaces.len() >= 8);
    let ws = &org.workspaces;
    assert_eq!(ws[WS_JIRA].entitlement.plan.as_deref(), Some("Premium"));
    assert!(ws[WS_JIRA].capacity.unwrap() as usize >= org.count_with_roles(WS_JIRA, &BILLABLE_ROLES));
    assert!(ws[WS_BITBUCKET].usage.is_some() && ws[WS_BITBUCKET].capacity.is_some());
    assert!(ws[WS_TRELLO].omit_capacity);
    assert_eq!(ws[WS_JIRA_SANDBOX].sandbox_type, "CHILD");
    assert!(ws.iter().any(|w| w.status == WorkspaceStatus::Offline));
    let conf_hosts: HashSet<_> =
        ws.iter().filter(|w| w.type_key == "confluence").map(|w| w.host_url.clone()).collect();
    assert!(conf_hosts.len() >= 2);
    let ids: HashSet<_> = ws.iter().map(|w| &w.id).collect();
    assert_eq!(ids.len(), ws.len());
    // Capacities scale with the user count.
    let big = generate_org(&OrgSpec { seed: 42, users: 20_000 });
    assert!(big.workspaces[WS_JIRA].capacity > ws[WS_JIRA].capacity);
}
