//! The generated org's product instances (sites of Jira, Confluence, a Bitbucket
//! workspace, ...) and what a new one is built from.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::rng::{mix64, uuid_from};

/// Smallest licence tier >= n (with 5% headroom).
pub fn capacity_tier(n: usize) -> u64 {
    const TIERS: [u64; 24] = [
        10, 25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500,
        3000, 4000, 5000, 7500, 10000, 15000, 20000,
    ];
    let want = (n as u64) + (n as u64) / 20;
    TIERS
        .iter()
        .copied()
        .find(|t| *t >= want)
        .unwrap_or_else(|| want.div_ceil(5000) * 5000)
}

pub(crate) fn slug(name: &str) -> String {
    name.to_ascii_lowercase().replace(' ', "-")
}

/// A product an org can have instances of, named in each vocabulary of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Product {
    /// `attributes.typeKey`, also the product segment of the ARI.
    pub type_key: &'static str,
    /// `attributes.type` (the product family).
    pub family: &'static str,
    /// The key in v2 `productAccess`.
    pub access_key: &'static str,
    /// The key in the v1 endpoints (older vocabulary).
    pub v1_key: &'static str,
    /// The product `name` of v1 users.
    pub name: &'static str,
    /// The ARI's resource kind (`site` or `workspace`).
    ari_kind: &'static str,
    /// The host URL around an instance's host name.
    host: (&'static str, &'static str),
}

const fn product(
    type_key: &'static str,
    family: &'static str,
    access_key: &'static str,
    v1_key: &'static str,
    name: &'static str,
    ari_kind: &'static str,
    host: (&'static str, &'static str),
) -> Product {
    Product { type_key, family, access_key, v1_key, name, ari_kind, host }
}

const ATLASSIAN_NET: (&str, &str) = ("https://", ".atlassian.net");

/// Every product the generator and the mutations create instances of.
pub(crate) const PRODUCTS: [Product; 6] = [
    product("jira-software", "jira", "jira", "jira-software", "Jira Software", "site", ATLASSIAN_NET),
    product("confluence", "confluence", "confluence", "confluence", "Confluence", "site", ATLASSIAN_NET),
    product("jira-servicedesk", "jira", "jira-servicedesk", "jira-service-desk", "Jira Service Management", "site", ATLASSIAN_NET),
    product("bitbucket", "bitbucket", "bitbucket", "bitbucket", "Bitbucket", "workspace", ("https://bitbucket.org/", "")),
    product("trello", "trello", "trello", "trello", "Trello", "workspace", ("https://trello.com/w/", "")),
    product("opsgenie", "opsgenie", "opsgenie", "opsgenie", "Opsgenie", "site", ("https://", ".app.opsgenie.com")),
];

impl Product {
    /// The product whose type key, v1 key or v2 key is `key`.
    pub fn find(key: &str) -> Option<&'static Product> {
        PRODUCTS.iter().find(|p| p.type_key == key || p.v1_key == key || p.access_key == key)
    }

    pub fn host_url(&self, host: &str) -> String {
        format!("{}{host}{}", self.host.0, self.host.1)
    }
}

/// The v1 product `name` of a v1 product key (the key itself when unknown).
pub(crate) fn product_name(v1_key: &str) -> &str {
    match PRODUCTS.iter().find(|p| p.v1_key == v1_key) {
        Some(p) => p.name,
        None => match v1_key {
            "jira-core" => "Jira Work Management",
            "statuspage" => "Statuspage",
            other => other,
        },
    }
}

/// What distinguishes one product instance from another.
pub(crate) struct SiteSpec {
    pub product: &'static Product,
    pub cloud_id: String,
    pub name: String,
    /// The org id.
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub host_url: Option<String>,
    /// `us` or `eu`.
    pub realm: &'static str,
    pub entitlement: Entitlement,
}

/// An online, non-sandbox instance as [`SiteSpec`] describes it.
pub(crate) fn site(spec: SiteSpec) -> Workspace {
    let p = spec.product;
    Workspace {
        id: format!("ari:cloud:{}::{}/{}", p.type_key, p.ari_kind, spec.cloud_id),
        cloud_id: spec.cloud_id,
        name: spec.name,
        type_key: p.type_key.into(),
        product_type: p.family.into(),
        product_access_key: p.access_key.into(),
        last_active_key: p.v1_key.into(),
        owner: Some(spec.owner),
        status: WorkspaceStatus::Online,
        status_details: vec![],
        labels: vec![],
        sandbox_type: "NONE".into(),
        sandbox_parent_id: None,
        usage: None,
        capacity: None,
        omit_capacity: false,
        created_at: spec.created_at,
        created_by: None,
        host_url: spec.host_url,
        realm: spec.realm.into(),
        regions: if spec.realm == "eu" {
            vec!["eu-west-1".into(), "eu-central-1".into()]
        } else {
            vec!["us-east-1".into(), "us-west-2".into()]
        },
        entitlement: spec.entitlement,
    }
}

/// An entitlement on `plan` (e.g. `Premium`).
pub(crate) fn entitlement(id: String, key: &str, plan: &str) -> Entitlement {
    Entitlement {
        id,
        key: key.to_string(),
        plan_key: Some(format!("{}.{}", key, plan.to_ascii_lowercase())),
        plan: Some(plan.to_string()),
    }
}

pub(super) fn workspaces(seed: u64, now: DateTime<Utc>, company: &str, org: &str) -> Vec<Workspace> {
    let slug = slug(company);
    let cloud = |k: u64| uuid_from(mix64(seed ^ (k << 40)), mix64(seed ^ (k << 41) ^ 7));
    let trello = format!("{:024x}", mix64(seed ^ 0x7e110) as u128 | ((mix64(seed) as u128 & 0xffff_ffff) << 64));
    let days = |d: i64| now - Duration::days(d) - Duration::seconds((mix64(seed ^ d as u64) % 86_400) as i64);
    let [jira, confluence, jsm, bitbucket, trello_p, opsgenie] = &PRODUCTS;
    // (product, cloud id, name, created days ago, host name, realm, plan), in WS_* order.
    let sites = [
        (jira, cloud(1), format!("{company} Jira"), 1500, slug.clone(), "us", "Premium"),
        (confluence, cloud(1), format!("{company} Confluence"), 1490, slug.clone(), "us", "Standard"),
        (jsm, cloud(1), format!("{company} Service Management"), 1200, slug.clone(), "us", "Standard"),
        (bitbucket, cloud(5), format!("{slug}-code"), 1000, format!("{slug}-code"), "us", "Standard"),
        (trello_p, trello, format!("{company} Boards"), 700, slug.clone(), "us", "Free"),
        (jira, cloud(2), format!("{company} Legacy Jira"), 1800, format!("{slug}-legacy"), "us", "Standard"),
        (jira, cloud(3), format!("{company} Jira (sandbox)"), 90, format!("{slug}-sandbox-{}", seed % 1000), "us", "Premium"),
        (confluence, cloud(4), format!("{company} EU Confluence"), 400, format!("{slug}-eu"), "eu", "Free"),
        (opsgenie, cloud(6), format!("{company} Opsgenie"), 900, slug.clone(), "us", "Standard"),
    ];
    let mut v: Vec<Workspace> = sites
        .into_iter()
        .enumerate()
        .map(|(k, (product, cloud_id, name, age, host, realm, plan))| {
            let k = k as u64;
            site(SiteSpec {
                product,
                cloud_id,
                name,
                owner: org.to_string(),
                created_at: days(age),
                host_url: Some(product.host_url(&host)),
                realm,
                entitlement: entitlement(uuid_from(mix64(seed ^ 0xe000 ^ k), mix64(seed ^ 0xe100 ^ k)), product.type_key, plan),
            })
        })
        .collect();
    v[WS_JIRA].labels = vec!["production".into()];
    v[WS_CONFLUENCE].labels = vec!["production".into(), "docs".into()];
    v[WS_TRELLO].omit_capacity = true;
    v[WS_JIRA_OFFLINE].status = WorkspaceStatus::Offline;
    v[WS_JIRA_OFFLINE].status_details = vec!["deactivated".into()];
    v[WS_JIRA_SANDBOX].sandbox_type = "CHILD".into();
    v[WS_JIRA_SANDBOX].sandbox_parent_id = Some(v[WS_JIRA].id.clone());
    v[WS_JIRA_SANDBOX].labels = vec!["sandbox".into()];
    v[WS_CONFLUENCE_EU].labels = vec!["eu".into()];
    v[WS_OPSGENIE].status = WorkspaceStatus::Deprecated;
    v[WS_OPSGENIE].status_details = vec!["product-retiring".into()];
    v
}
