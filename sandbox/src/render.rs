//! Wire rendering: the model ([`crate::model`]) to the API's JSON shapes.
//!
//! Users are serialized with a hand-written [`Serialize`] (no intermediate
//! `serde_json::Value`) so 100-user pages of a 200k-user org stay cheap. Field
//! presence follows [`crate::model::UserQuirks`]: a missing optional field is
//! omitted for some users and an explicit `null` for others.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::events::Event;
use crate::model::*;
use crate::resources::REGISTRY;
use crate::rng::hash_str;
use crate::ProductAccessMode;

/// ISO-8601 with seconds precision and `Z`.
pub fn ts_secs(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// ISO-8601 with millisecond precision and `Z`.
pub fn ts_millis(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `YYYY-MM-DD`.
pub fn date_only(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Which `expand` values were requested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expand {
    pub platform_roles: bool,
    pub counts_resources: bool,
    pub product_access: bool,
    pub groups: bool,
}

impl Expand {
    pub fn all() -> Self {
        Expand { platform_roles: true, counts_resources: true, product_access: true, groups: true }
    }
}

/// Derived avatar URL of a user (`size` 128 = picture, 48 = avatar).
pub fn avatar_url(account_id: &str, size: u32) -> String {
    format!(
        "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/{}/{:016x}/{}",
        account_id,
        hash_str(0xa7a7, account_id),
        size
    )
}

/// A user as the v2 search returns it.
pub struct UserView<'a> {
    pub org: &'a Org,
    pub user: &'a User,
    pub expand: Expand,
    pub product_access_mode: ProductAccessMode,
    /// `links.self` value.
    pub self_link: String,
    /// Add truth-only fields (`siteRoles`, `managed`, `accessBillable`, `quirks`, always `productAccess`).
    pub truth: bool,
    /// `counts.resources` is `-1` ([`crate::SandboxOptions::negative_estimates`]).
    pub negative_estimates: bool,
}

struct PaList<'a>(&'a Org, &'a User);

impl Serialize for PaList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.activity(self.1).map(|(w, pa)| {
            json!({"key": w.product_access_key, "id": w.id, "lastActiveTimestamp": ts_secs(&pa.last_active)})
        }))
    }
}

impl Serialize for UserView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.user;
        let nulls = u.quirks.missing_as_null;
        let mut m = s.serialize_map(None)?;
        macro_rules! opt {
            ($k:expr, $v:expr) => {
                match $v {
                    Some(v) => m.serialize_entry($k, &v)?,
                    None if nulls => m.serialize_entry($k, &Value::Null)?,
                    None => {}
                }
            };
        }
        m.serialize_entry("accountId", &u.account_id)?;
        m.serialize_entry("accountType", &u.account_type)?;
        m.serialize_entry("status", u.status.as_str())?;
        m.serialize_entry("accountStatus", u.account_status.as_str())?;
        m.serialize_entry("membershipStatus", u.membership_status.as_str())?;
        opt!("addedToOrg", u.added_to_org.as_ref().map(ts_millis));
        m.serialize_entry("name", &u.name)?;
        opt!("nickname", u.nickname.as_ref());
        opt!("email", u.email.as_ref());
        opt!("emailVerified", u.email_verified);
        m.serialize_entry("claimStatus", u.claim_status.as_str())?;
        if self.expand.platform_roles {
            m.serialize_entry("platformRoles", &u.platform_roles)?;
        }
        m.serialize_entry("picture", &avatar_url(&u.account_id, 128))?;
        m.serialize_entry("avatar", &avatar_url(&u.account_id, 48))?;
        m.serialize_entry("managementSource", &u.management_source.map(|x| x.as_str()))?;
        opt!("mfaEnabled", u.mfa_enabled);
        opt!("jobTitle", u.job_title.as_ref());
        opt!("department", u.department.as_ref());
        opt!("organization", u.organization.as_ref());
        opt!("location", u.location.as_ref());
        opt!("timeZone", u.time_zone.as_ref());
        if self.expand.counts_resources {
            let resources = if self.negative_estimates { -1 } else { u.resource_count() as i64 };
            m.serialize_entry("counts", &json!({"resources": resources}))?;
        }
        opt!("deactivatedOn", u.deactivated_on.as_ref().map(ts_millis));
        m.serialize_entry("forDeletion", &u.for_deletion)?;
        let pa_wanted = self.truth
            || (self.expand.product_access && self.product_access_mode == ProductAccessMode::Supported);
        if pa_wanted && (self.truth || !u.product_access.is_empty() || !u.quirks.omit_empty_product_access) {
            m.serialize_entry("productAccess", &PaList(self.org, u))?;
        }
        if self.expand.groups {
            let groups: Vec<Value> = u
                .groups
                .iter()
                .filter_map(|g| self.org.groups.get(*g))
                .map(|g| json!({"id": g.id, "name": g.name, "description": g.description}))
                .collect();
            m.serialize_entry("groups", &groups)?;
        }
        m.serialize_entry("links", &json!({"self": self.self_link}))?;
        if self.truth {
            let roles: Vec<Value> = u
                .site_roles
                .iter()
                .filter_map(|r| {
                    self.org
                        .workspaces
                        .get(r.workspace)
                        .map(|w| json!({"resourceId": w.id, "roleId": r.role_id}))
                })
                .collect();
            m.serialize_entry("siteRoles", &roles)?;
            m.serialize_entry("managed", &u.is_managed())?;
            m.serialize_entry("accessBillable", &u.access_billable())?;
            m.serialize_entry(
                "quirks",
                &json!({
                    "missingAsNull": u.quirks.missing_as_null,
                    "omitEmptyProductAccess": u.quirks.omit_empty_product_access,
                    "omitV1Timestamp": u.quirks.omit_v1_timestamp,
                }),
            )?;
        }
        m.end()
    }
}

/// A managed account as `GET /v1/orgs/{orgId}/users` returns it (the official `User`
/// schema, snake_case). `product_access` carries exactly the activity of v2
/// `productAccess` (same workspaces, same timestamps) in the v1 vocabulary: `key` is the
/// older product key, `name` the product's name, `url` the workspace's host URL. A
/// workspace without a host URL keeps its entry, without `url` (the schema does not
/// require it), so no activity fact is lost; such entries can only be joined to
/// workspaces by key.
pub struct ManagedUserView<'a> {
    pub org: &'a Org,
    pub user: &'a User,
}

struct V1ProductList<'a>(&'a Org, &'a User);

impl Serialize for V1ProductList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.activity(self.1).map(|(w, pa)| {
            let mut e = json!({
                "key": w.last_active_key,
                "name": crate::org::product_name(&w.last_active_key),
                "last_active": ts_secs(&pa.last_active),
            });
            if let Some(url) = &w.host_url {
                e["url"] = json!(url);
            }
            e
        }))
    }
}

impl Serialize for ManagedUserView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (org, u) = (self.org, self.user);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("account_id", &u.account_id)?;
        m.serialize_entry("account_type", &u.account_type)?;
        m.serialize_entry("account_status", u.account_status.as_str())?;
        m.serialize_entry("name", &u.name)?;
        m.serialize_entry("picture", &avatar_url(&u.account_id, 128))?;
        if let Some(e) = &u.email {
            m.serialize_entry("email", e)?;
        }
        m.serialize_entry("access_billable", &u.access_billable())?;
        let last = org.activity(u).map(|(_, p)| p.last_active).max();
        if let Some(t) = last {
            m.serialize_entry("last_active", &ts_secs(&t))?;
        }
        m.serialize_entry("product_access", &V1ProductList(org, u))?;
        m.end()
    }
}

/// A workspace in the v2 workspaces API shape.
pub fn workspace_json(w: &Workspace, base_url: &str, org_id: &str) -> Value {
    let mut attrs = serde_json::Map::new();
    attrs.insert("name".into(), json!(w.name));
    attrs.insert("typeKey".into(), json!(w.type_key));
    attrs.insert("type".into(), json!(w.product_type));
    attrs.insert("owner".into(), json!(w.owner));
    attrs.insert("status".into(), json!(w.status.as_str()));
    attrs.insert("statusDetails".into(), json!(w.status_details));
    attrs.insert("icons".into(), json!({}));
    attrs.insert("avatars".into(), json!({}));
    attrs.insert("labels".into(), json!(w.labels));
    let mut sandbox = json!({"type": w.sandbox_type});
    if let Some(p) = &w.sandbox_parent_id {
        sandbox["parentId"] = json!(p);
    }
    attrs.insert("sandbox".into(), sandbox);
    attrs.insert("usage".into(), json!(w.usage));
    if !w.omit_capacity {
        attrs.insert("capacity".into(), json!(w.capacity));
    }
    attrs.insert("createdAt".into(), json!(ts_millis(&w.created_at)));
    attrs.insert("createdBy".into(), json!(w.created_by));
    attrs.insert("hostUrl".into(), json!(w.host_url));
    attrs.insert("realm".into(), json!(w.realm));
    attrs.insert("regions".into(), json!(w.regions));
    json!({
        "id": w.id,
        "type": "workspaces",
        "attributes": attrs,
        "links": {"self": format!("{base_url}/admin/v2/orgs/{org_id}/workspaces/{}", w.id)},
        "relationships": {
            "entitlement": [{
                "id": w.entitlement.id,
                "type": "entitlement",
                "attributes": {
                    "key": w.entitlement.key,
                    "planKey": w.entitlement.plan_key,
                    "plan": w.entitlement.plan,
                }
            }]
        }
    })
}

/// Any organization as the v1 org endpoints show it (the official `OrgModel`).
pub fn org_entry(id: &str, name: &str, base_url: &str) -> Value {
    json!({
        "id": id,
        "type": "orgs",
        "attributes": {"name": name},
        "relationships": {},
        "links": {"self": format!("{base_url}/admin/v1/orgs/{id}")},
    })
}

/// An audit-log event as `events-stream` serves it: `attributes` (`time`, `processedAt`,
/// `action`, `actor`, and `context`, `container`, `location` when the event has them),
/// `message` beside them, times in milliseconds.
pub fn event_json(e: &Event, base_url: &str, org_id: &str) -> Value {
    let mut attrs = serde_json::Map::new();
    attrs.insert("time".into(), json!(ts_millis(&e.time)));
    attrs.insert("processedAt".into(), json!(ts_millis(&e.processed_at)));
    attrs.insert("action".into(), json!(e.action));
    attrs.insert("actor".into(), json!(e.actor));
    if let Some(c) = &e.context {
        attrs.insert("context".into(), json!(c));
    }
    if let Some(c) = &e.container {
        attrs.insert("container".into(), json!(c));
    }
    if let Some(l) = &e.location {
        attrs.insert("location".into(), json!(l));
    }
    let mut v = json!({"id": e.id, "type": "events", "attributes": attrs});
    if let Some(m) = &e.message {
        v["message"] = json!(m);
    }
    v["links"] = json!({"self": format!("{base_url}/admin/v1/orgs/{org_id}/events/{}", e.id)});
    v
}

/// The whole org for `/__sandbox/truth`, each resource's section last.
pub struct TruthView<'a> {
    pub org: &'a Org,
    pub base_url: &'a str,
    /// `links.self` of each user (parallel to `org.users`).
    pub self_link: &'a dyn Fn(&User) -> String,
}

impl Serialize for TruthView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let org = self.org;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("orgId", &org.id)?;
        m.serialize_entry("name", &org.name)?;
        m.serialize_entry("directoryId", &org.directory_id)?;
        m.serialize_entry("directoryName", &org.directory_name)?;
        m.serialize_entry("now", &ts_secs(&org.now))?;
        let ws: Vec<Value> = org
            .workspaces
            .iter()
            .map(|w| {
                let mut v = workspace_json(w, self.base_url, &org.id);
                v["productAccessKey"] = json!(w.product_access_key);
                v["lastActiveKey"] = json!(w.last_active_key);
                v
            })
            .collect();
        m.serialize_entry("workspaces", &ws)?;
        let groups: Vec<Value> = org
            .groups
            .iter()
            .map(|g| {
                let grants: Vec<Value> = g
                    .grants
                    .iter()
                    .filter_map(|r| org.workspaces.get(r.workspace).map(|w| json!({"workspace_id": w.id, "role": r.role_id})))
                    .collect();
                json!({"id": g.id, "name": g.name, "description": g.description, "managed_by": g.managed_by, "external_synced": g.external_synced, "role_assignments": grants})
            })
            .collect();
        m.serialize_entry("groups", &groups)?;
        struct Users<'b>(&'b TruthView<'b>);
        impl Serialize for Users<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.org.users.len()))?;
                for u in &self.0.org.users {
                    seq.serialize_element(&UserView {
                        org: self.0.org,
                        user: u,
                        expand: Expand::all(),
                        product_access_mode: ProductAccessMode::Supported,
                        self_link: (self.0.self_link)(u),
                        truth: true,
                        negative_estimates: false,
                    })?;
                }
                seq.end()
            }
        }
        m.serialize_entry("users", &Users(self))?;
        // The whole log as served (the part before `eventsRetainedSince` never is).
        m.serialize_entry("eventsRetainedSince", &ts_millis(&org.event_retention_start()))?;
        let events: Vec<Value> = org.events.iter().map(|e| event_json(e, self.base_url, &org.id)).collect();
        m.serialize_entry("events", &events)?;
        for section in REGISTRY.iter().filter_map(|r| r.truth) {
            m.serialize_entry(section.key, &(section.render)(org, self.base_url))?;
        }
        m.end()
    }
}
