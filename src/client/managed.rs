//! Managed accounts as an activity source: `GET /v1/orgs/{orgId}/users` lists the accounts of
//! the organization's verified domains, 50 a page, each with `product_access`
//! (`[{key, name, url, last_active}]`) and `access_billable` — the bulk activity of managed
//! users when the users search gives no `productAccess`.
//!
//! The list is sorted differently from the users search, so it is read whole first, into a
//! [`ManagedIndex`] (account id → activity entries); the users-search pages then take each
//! managed user's activity from it ([`super::per_user`] asks it before making a
//! last-active-dates request, which only users it does not cover get). v1 names a product
//! instance by site URL and product key (older vocabulary: `jira-software`,
//! `jira-service-desk`, …; one host serves Jira and Confluence), not by id: [`SiteJoin`] finds
//! the workspace by both, so every source gives the same `product_id` and `product_key`.
//!
//! Memory: per managed user a 32-byte map bucket, the account id (24–43 characters: 32–48
//! bytes on the heap) and 16 bytes per activity entry: under 120 bytes a user with three sites
//! and 24-character ids (a test measures it), 12 MB for 100,000 managed users, held until the
//! users pass ends. The tables are sized from the list's `meta.total` up front, so they do not
//! double while it is read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::{mpsc, oneshot};

use super::endpoints::{self, v2_product_key};
use super::error::ApiError;
use super::models::{ApiUser, ApiWorkspace, ProductAccess, Text, UserPage};
use super::pagination::{Chained, UserPageResult};
use super::AtlassianClient;
use crate::time;

/// The workspaces by site and product, for the managed-accounts list's entries. Products of
/// one family share a key here (`jira-software`, `jira-core` → `jira`; `jira-service-desk`
/// → `jira-servicedesk`, as a workspace's `typeKey` says it); a site and product two
/// workspaces share is ambiguous and joins nothing.
#[derive(Debug, Default)]
pub struct SiteJoin {
    by_site: HashMap<(String, String), Option<String>>,
    /// Workspaces without a host URL, by product: the one of its product, if only one.
    without_url: HashMap<String, Option<String>>,
    /// The workspaces were read (without them nothing joins, and nothing is said about it).
    pub read: bool,
}

/// A site URL as compared: no scheme, no trailing `/`, lower case.
fn site_of(url: &str) -> String {
    let u = url.trim().to_ascii_lowercase();
    let u = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://")).unwrap_or(&u);
    u.trim_end_matches('/').to_string()
}

impl SiteJoin {
    pub fn add(&mut self, w: &ApiWorkspace) {
        self.read = true;
        let Some(product) = w.attributes.type_key.as_deref().map(v2_product_key) else { return };
        let slot = match w.attributes.host_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => self.by_site.entry((site_of(url), product.to_string())),
            None => return add_unique(self.without_url.entry(product.to_string()), &w.id),
        };
        add_unique(slot, &w.id);
    }

    /// The workspace (id) of an entry naming `url` (if any) and the product `key`.
    pub fn lookup(&self, url: Option<&str>, key: &str) -> Option<&str> {
        let product = v2_product_key(key).to_string();
        let found = match url {
            Some(url) => self.by_site.get(&(site_of(url), product)),
            None => self.without_url.get(&product),
        };
        found?.as_deref()
    }
}

fn add_unique<K>(slot: std::collections::hash_map::Entry<'_, K, Option<String>>, id: &str) {
    slot.and_modify(|seen| *seen = None).or_insert_with(|| Some(id.to_string()));
}

/// The join once the workspaces are read: the read loop sends it ([`sites_channel`]).
pub type SitesFuture = Shared<BoxFuture<'static, Arc<SiteJoin>>>;

/// Where the read loop sends the join, and where the pass awaits it.
pub fn sites_channel() -> (oneshot::Sender<Arc<SiteJoin>>, SitesFuture) {
    let (tx, rx) = oneshot::channel();
    (tx, rx.map(Result::unwrap_or_default).boxed().shared())
}

/// Gives every entry of a managed account its workspace id and the v2 product key (its v1
/// key and URL are what it is found by); says once when an entry joins no workspace.
pub fn join_user(client: &AtlassianClient, u: &mut ApiUser<'_>, sites: &SiteJoin, told: &AtomicBool) {
    for p in u.product_access.iter_mut().flatten() {
        let Some(key) = p.key.as_deref() else { continue };
        p.id = sites.lookup(p.url.as_deref(), key).map(|id| Text::from(id.to_string()));
        if p.id.is_none() && sites.read && !told.swap(true, Ordering::Relaxed) {
            let message = format!(
                "{}: an activity entry (product '{key}') names a site URL and product that no workspace has: such entries count in users.last_active but give no user_activity record (the count of entries without a product id at the end of the pass says how many)",
                endpoints::MANAGED_USERS
            );
            client.notify(endpoints::MANAGED_USERS, message, None);
        }
        let v2 = v2_product_key(key);
        if v2 != key {
            p.key = Some(Text::from(v2.to_string()));
        }
    }
}

/// One user's activity, from wherever it came, ready to be put into the user.
#[derive(Debug)]
pub struct Activity {
    pub access: Vec<ProductAccess<'static>>,
    /// Billable in Access / Guard, when the source tells.
    pub billable: Option<bool>,
}

/// Where a managed account's activity lies in the index.
#[derive(Debug, Clone, Copy)]
struct Slot {
    first: u32,
    len: u32,
    billable: Option<bool>,
}

/// One activity entry: the (site URL, v1 key) pair it names, and when.
#[derive(Debug, Clone, Copy)]
struct Entry {
    pair: u32,
    at: Option<DateTime<Utc>>,
}

/// The managed accounts' activity by account id (see the module doc for its memory).
#[derive(Debug, Default)]
pub struct ManagedIndex {
    accounts: HashMap<Box<str>, Slot>,
    entries: Vec<Entry>,
    /// The distinct (site URL, v1 key) pairs entries name: a handful per organization.
    pairs: Vec<(Option<Box<str>>, Box<str>)>,
    pair_ids: HashMap<(Option<Box<str>>, Box<str>), u32>,
}

impl ManagedIndex {
    /// Takes in a page of the list. An account listed without `product_access` is not
    /// covered (its activity is asked for user by user).
    fn add_page(&mut self, page: &UserPage) {
        for u in page.users() {
            let Some(access) = &u.product_access else { continue };
            let first = self.entries.len() as u32;
            for p in access {
                let Some(key) = p.key.as_deref() else { continue };
                let pair = (p.url.as_deref().map(Box::from), Box::from(key));
                let next = self.pairs.len() as u32;
                let id = *self.pair_ids.entry(pair.clone()).or_insert(next);
                if id == next {
                    self.pairs.push(pair);
                }
                let at = time::stamp(p.last_active_timestamp.as_deref()).map(|(at, _)| at);
                self.entries.push(Entry { pair: id, at });
            }
            let slot = Slot { first, len: self.entries.len() as u32 - first, billable: u.access_billable };
            self.accounts.insert(Box::from(&*u.account_id), slot);
        }
    }

    /// Room for the `total` accounts the list announced, with as many entries each as the
    /// first page has on average: no doubling of the tables while the list is read.
    fn reserve(&mut self, total: Option<u64>, first: &UserPage) {
        let Some(total) = total.and_then(|t| usize::try_from(t).ok()).filter(|t| *t <= 10_000_000) else { return };
        let users = first.users().len().max(1);
        let entries: usize = first.users().iter().map(|u| u.product_access.as_ref().map_or(0, Vec::len)).sum();
        self.accounts.reserve(total);
        self.entries.reserve(total * entries / users + total / 10);
    }

    /// Managed accounts it covers.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.accounts.len()
    }

    /// The account's activity in the users search's shape, joined to the workspaces; `None`
    /// when the list did not cover the account.
    pub fn activity(&self, account_id: &str, sites: &SiteJoin) -> Option<Activity> {
        let slot = self.accounts.get(account_id)?;
        let entries = &self.entries[slot.first as usize..(slot.first + slot.len) as usize];
        let access = entries
            .iter()
            .map(|e| {
                let (url, key) = &self.pairs[e.pair as usize];
                ProductAccess {
                    key: Some(Text::from(v2_product_key(key).to_string())),
                    id: sites.lookup(url.as_deref(), key).map(|id| Text::from(id.to_string())),
                    last_active_timestamp: e.at.map(|at| Text::from(time::format(at))),
                    url: url.as_deref().map(|u| Text::from(u.to_string())),
                }
            })
            .collect();
        Some(Activity { access, billable: slot.billable })
    }
}

/// The managed accounts' activity, once the whole list is read (the users pass's pages
/// await it), and the join it needs.
#[derive(Clone)]
pub struct ManagedActivity {
    index: Shared<BoxFuture<'static, Result<Arc<ManagedIndex>, ApiError>>>,
    sites: SitesFuture,
}

impl ManagedActivity {
    /// Reads the rest of the list (its first page already fetched) into the index, in a task.
    pub fn read(first: Chained<UserPage>, mut rest: mpsc::Receiver<UserPageResult>, sites: SitesFuture) -> Self {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut index = ManagedIndex::default();
            index.reserve(first.total, &first.items);
            index.add_page(&first.items);
            drop(first);
            let built = loop {
                match rest.recv().await {
                    Some(Ok(page)) => index.add_page(&page.items),
                    Some(Err(e)) => break Err(e),
                    None => {
                        index.entries.shrink_to_fit();
                        break Ok(Arc::new(index));
                    }
                }
            };
            let _ = tx.send(built);
        });
        let index = rx
            .map(|r| r.unwrap_or_else(|_| Err(ApiError::Network { endpoint: endpoints::MANAGED_USERS, reason: "the read of the managed accounts stopped".into() })))
            .boxed()
            .shared();
        ManagedActivity { index, sites }
    }

    /// The account's activity from the list, or `None` when the list does not cover it.
    pub async fn of(&self, account_id: &str) -> Result<Option<Activity>, ApiError> {
        let index = self.index.clone().await?;
        let sites = self.sites.clone().await;
        Ok(index.activity(account_id, &sites))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(id: &str, type_key: &str, url: Option<&str>) -> ApiWorkspace {
        serde_json::from_value(serde_json::json!({"id": id, "attributes": {"typeKey": type_key, "hostUrl": url}})).unwrap()
    }

    #[test]
    fn entries_join_workspaces_by_site_and_product_family() {
        let mut join = SiteJoin::default();
        join.add(&ws("ari:jira", "jira-software", Some("https://acme.atlassian.net")));
        join.add(&ws("ari:conf", "confluence", Some("https://acme.atlassian.net/")));
        join.add(&ws("ari:jsm", "jira-servicedesk", Some("https://acme.atlassian.net")));
        join.add(&ws("ari:bb", "bitbucket", Some("https://bitbucket.org/acme-code")));
        join.add(&ws("ari:t1", "trello", None));
        join.add(&ws("ari:og1", "opsgenie", Some("https://acme.app.opsgenie.com")));
        join.add(&ws("ari:og2", "opsgenie", Some("https://ACME.app.opsgenie.com")));
        let site = Some("https://acme.atlassian.net");
        assert_eq!(join.lookup(site, "jira-software"), Some("ari:jira"), "one host, three products");
        assert_eq!(join.lookup(site, "jira-core"), Some("ari:jira"), "the same Jira site");
        assert_eq!(join.lookup(Some("HTTPS://acme.atlassian.net/"), "confluence"), Some("ari:conf"));
        assert_eq!(join.lookup(site, "jira-service-desk"), Some("ari:jsm"));
        assert_eq!(join.lookup(Some("https://bitbucket.org/acme-code"), "bitbucket"), Some("ari:bb"), "the path counts");
        assert_eq!(join.lookup(Some("https://bitbucket.org/other"), "bitbucket"), None);
        assert_eq!(join.lookup(None, "trello"), Some("ari:t1"), "without a URL: the one of its product");
        assert_eq!(join.lookup(Some("https://acme.app.opsgenie.com"), "opsgenie"), None, "two workspaces: ambiguous");
        assert_eq!(join.lookup(site, "statuspage"), None);
    }

    #[test]
    fn the_index_gives_the_search_shape_and_billable_status() {
        let body = r#"{"data":[
            {"account_id":"m1","account_type":"atlassian","account_status":"active","name":"A","picture":"p","access_billable":true,
             "product_access":[{"key":"jira-software","name":"Jira Software","url":"https://acme.atlassian.net","last_active":"2026-05-01T10:11:12Z"},
                               {"key":"confluence","name":"Confluence","url":"https://acme.atlassian.net","last_active":"2026-05-02T10:11:12.500Z"},
                               {"key":"statuspage","name":"Statuspage","url":"https://status.acme.io"}]},
            {"account_id":"m2","account_type":"atlassian","account_status":"active","name":"B","picture":"p","access_billable":false,"product_access":[]},
            {"account_id":"m3","account_type":"atlassian","account_status":"active","name":"C","picture":"p"}],"links":{}}"#;
        let mut index = ManagedIndex::default();
        index.add_page(&UserPage::parse_v1(body.to_string()).unwrap());
        let mut join = SiteJoin::default();
        join.add(&ws("ari:jira", "jira-software", Some("https://acme.atlassian.net")));
        join.add(&ws("ari:conf", "confluence", Some("https://acme.atlassian.net")));
        let a = index.activity("m1", &join).unwrap();
        assert_eq!(a.billable, Some(true));
        let got: Vec<(Option<&str>, Option<&str>, Option<&str>)> =
            a.access.iter().map(|p| (p.key.as_deref(), p.id.as_deref(), p.last_active_timestamp.as_deref())).collect();
        assert_eq!(
            got,
            [
                (Some("jira"), Some("ari:jira"), Some("2026-05-01T10:11:12Z")),
                (Some("confluence"), Some("ari:conf"), Some("2026-05-02T10:11:12.500Z")),
                (Some("statuspage"), None, None),
            ]
        );
        let never = index.activity("m2", &join).unwrap();
        assert!(never.access.is_empty() && never.billable == Some(false), "covered: never active");
        assert!(index.activity("m3", &join).is_none(), "listed without product_access: not covered");
        assert!(index.activity("u9", &join).is_none());
        assert_eq!((index.len(), index.pairs.len()), (2, 3));
    }

    /// The index's size at 100,000 managed users with three sites each (what the module doc
    /// states), from its tables' capacities: the map's buckets, the ids on the heap (glibc
    /// rounds a block to 16 bytes with 8 of header), the entries.
    #[test]
    fn the_index_takes_under_120_bytes_a_managed_user_with_three_sites() {
        let mut index = ManagedIndex::default();
        let entry = |key: &str, day: u32| format!(r#"{{"key":"{key}","name":"n","url":"https://acme.atlassian.net","last_active":"2026-05-{day:02}T10:11:12Z"}}"#);
        let sites = [entry("jira-software", 1), entry("confluence", 2), entry("jira-service-desk", 3)].join(",");
        for p in 0..2000u64 {
            let users: Vec<String> = (0..50)
                .map(|i| {
                    let id = format!("{:024x}", (p * 50 + i).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    format!(r#"{{"account_id":"{id}","account_type":"atlassian","account_status":"active","name":"N","picture":"p","product_access":[{sites}]}}"#)
                })
                .collect();
            let page = UserPage::parse_v1(format!(r#"{{"data":[{}],"links":{{}},"meta":{{"total":100000}}}}"#, users.join(","))).unwrap();
            if p == 0 {
                index.reserve(page.total(), &page);
            }
            index.add_page(&page);
        }
        let map = index.accounts.capacity() * (std::mem::size_of::<(Box<str>, Slot)>() + 1);
        let ids: usize = index.accounts.keys().map(|k| (k.len() + 8).div_ceil(16) * 16).sum();
        let entries = index.entries.capacity() * std::mem::size_of::<Entry>();
        let per_user = (map + ids + entries) / index.len();
        assert_eq!((index.len(), std::mem::size_of::<Entry>()), (100_000, 16));
        assert!(per_user < 120, "{per_user} bytes a user: map {map}, ids {ids}, entries {entries}");
    }
}
