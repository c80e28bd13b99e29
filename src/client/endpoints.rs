//! The typed calls, one per endpoint the connector uses. Each goes through the one retry loop
//! ([`AtlassianClient::call`]) with the decoder of its body.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::error::{ApiError, Endpoint};
use super::http::{json_body, Call};
use super::models::{ApiAccount, ApiDirectoryGroup, ApiEventAction, ApiRoleAssignment, EventsPage, ApiWorkspace, Links, OrgData, OrgResponse, Page, ProductAccess, Text, UserPage};
use super::pagination::CursorGuard;
use super::AtlassianClient;

/// Groups asked for a page: the API's default, which the search's maximum may not exceed.
const GROUPS_PAGE_LIMIT: u32 = 20;

#[derive(Debug, Deserialize)]
struct CountResponse {
    count: u64,
}

#[derive(Debug, Deserialize)]
struct LastActiveResponse {
    data: LastActiveData,
    #[serde(default)]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct LastActiveData {
    #[serde(default)]
    product_access: Option<Vec<V1ProductAccess>>,
}

/// v1 is snake_case, with the older product vocabulary and a date-only `last_active`.
#[derive(Debug, Deserialize)]
struct V1ProductAccess {
    id: Option<String>,
    key: Option<String>,
    last_active: Option<String>,
    last_active_timestamp: Option<String>,
}

/// The v2 (users search) name of a product key from the v1 vocabulary, so every activity
/// source gives identical records: `jira-software` → `jira`, `jira-service-desk` →
/// `jira-servicedesk`; other keys are the same in both.
pub fn v2_product_key(v1: &str) -> &str {
    match v1 {
        "jira-software" | "jira-core" => "jira",
        "jira-service-desk" => "jira-servicedesk",
        other => other,
    }
}

impl AtlassianClient {
    /// `GET /admin/v1/orgs/{orgId}`: proves the key and the org id in one call.
    pub async fn get_org(&self) -> Result<OrgResponse, ApiError> {
        let url = self.url(&["v1", "orgs", self.org_id()]);
        self.call(Call { endpoint: Endpoint::Org, method: Method::GET, url, body: None, decode: json_body }).await
    }

    /// One page of the organizations the key can list: their ids and names, and the cursor
    /// of the next page (taken from its `links.next` URL).
    pub async fn orgs_page(&self, cursor: Option<&str>) -> Result<(Vec<OrgData>, Option<String>), ApiError> {
        let mut url = self.url(&["v1", "orgs"]);
        if let Some(c) = cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let call = Call { endpoint: Endpoint::Orgs, method: Method::GET, url, body: None, decode: json_body };
        let page: Page<OrgData> = self.call(call).await?;
        let next = page.links.next.map(|link| self.cursor_of_link(Endpoint::Orgs, &link)).transpose()?;
        Ok((page.data, next))
    }

    /// One page of the managed accounts (`GET /v1/orgs/{orgId}/users`), read into the users
    /// search's shape ([`UserPage::parse_v1`]); its `links.next` URL is replaced by its cursor.
    pub async fn managed_users_page(&self, cursor: Option<&str>) -> Result<UserPage, ApiError> {
        let mut url = self.url(&["v1", "orgs", self.org_id(), "users"]);
        if let Some(c) = cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let call = Call { endpoint: Endpoint::ManagedUsers, method: Method::GET, url, body: None, decode: UserPage::parse_v1 };
        let mut page = self.call(call).await?;
        let next = page.next().map(|link| self.cursor_of_link(Endpoint::ManagedUsers, link)).transpose()?;
        page.set_next(next);
        Ok(page)
    }

    /// One page of the v2 users search with the given expands, its users parsed.
    pub async fn search_users(&self, cursor: Option<&str>, limit: u32, expand: &[&str]) -> Result<UserPage, ApiError> {
        let mut body = json!({"limit": limit});
        if !expand.is_empty() {
            body["expand"] = json!(expand);
        }
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        self.users_search(&body, UserPage::parse).await
    }

    /// One page of the v2 users search filtered to the users holding one of `role_ids` on one of
    /// `resource_ids` (site ARIs): who holds a seat on a site. No expands are asked for.
    pub async fn search_users_with_roles(
        &self,
        cursor: Option<&str>,
        limit: u32,
        resource_ids: &[&str],
        role_ids: &[&str],
    ) -> Result<Page<ApiAccount>, ApiError> {
        let mut body = json!({"limit": limit, "resourceIds": resource_ids, "roleIds": role_ids});
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        self.users_search(&body, json_body).await
    }

    async fn users_search<T>(&self, body: &Value, decode: fn(String) -> Result<T, String>) -> Result<T, ApiError> {
        let url = self.url(&["v2", "orgs", self.org_id(), "directories", &self.directory_id, "users", "search"]);
        self.call(Call { endpoint: Endpoint::UsersSearch, method: Method::POST, url, body: Some(body), decode }).await
    }

    /// One page of the v2 workspaces list; the next page is asked for with the cursor alone.
    pub async fn workspaces_page(&self, cursor: Option<&str>, limit: u32) -> Result<Page<ApiWorkspace>, ApiError> {
        let url = self.url(&["v2", "orgs", self.org_id(), "workspaces"]);
        let body = match cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({"limit": limit}),
        };
        self.call(Call { endpoint: Endpoint::Workspaces, method: Method::POST, url, body: Some(&body), decode: json_body }).await
    }

    /// One page of the v2 groups search, with their user and resource counts.
    pub async fn groups_page(&self, cursor: Option<&str>) -> Result<Page<ApiDirectoryGroup>, ApiError> {
        let url = self.url(&["v2", "orgs", self.org_id(), "directories", &self.directory_id, "groups", "search"]);
        let mut body = json!({"limit": GROUPS_PAGE_LIMIT, "expand": ["counts.users", "counts.resources"]});
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        self.call(Call { endpoint: Endpoint::GroupsSearch, method: Method::POST, url, body: Some(&body), decode: json_body }).await
    }

    /// `GET .../events-stream`: one page of the audit log, in processing order, from `cursor`
    /// (or from `from_ms`, epoch milliseconds, without one).
    pub async fn events_page(&self, cursor: Option<&str>, from_ms: Option<i64>, limit: u32) -> Result<EventsPage, ApiError> {
        let mut url = self.url(&["v1", "orgs", self.org_id(), "events-stream"]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &limit.to_string()).append_pair("sortOrder", "asc");
            match (cursor, from_ms) {
                (Some(c), _) => query.append_pair("cursor", c),
                (None, Some(from)) => query.append_pair("from", &from.to_string()),
                (None, None) => &mut query,
            };
        }
        self.call(Call { endpoint: Endpoint::EventsStream, method: Method::GET, url, body: None, decode: json_body }).await
    }

    /// `GET .../event-actions`: every action id of the audit log with its display name.
    pub async fn event_actions(&self) -> Result<Vec<(String, Option<String>)>, ApiError> {
        let url = self.url(&["v1", "orgs", self.org_id(), "event-actions"]);
        let actions: Vec<ApiEventAction> = self.every_page(Endpoint::EventActions, url).await?;
        Ok(actions.into_iter().map(|a| (a.id, a.attributes.and_then(|at| at.display_name))).collect())
    }

    /// Every role assignment of one group, over all its pages.
    pub async fn group_role_assignments(&self, group_id: &str) -> Result<Vec<ApiRoleAssignment>, ApiError> {
        let url = self.url(&["v2", "orgs", self.org_id(), "directories", &self.directory_id, "groups", group_id, "role-assignments"]);
        self.every_page(Endpoint::GroupRoleAssignments, url).await
    }

    /// Every item of a `GET` list over all its pages (`links.next`, a bare cursor), a repeated
    /// cursor refused.
    async fn every_page<T: DeserializeOwned>(&self, endpoint: Endpoint, first: Url) -> Result<Vec<T>, ApiError> {
        let mut guard = CursorGuard::new(endpoint);
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let mut url = first.clone();
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let page: Page<T> = self.call(Call { endpoint, method: Method::GET, url, body: None, decode: json_body }).await?;
            let empty = page.data.is_empty();
            out.extend(page.data);
            match page.links.next {
                Some(next) => {
                    guard.page(usize::from(!empty), Some(&next))?;
                    cursor = Some(next);
                }
                None => return Ok(out),
            }
        }
    }

    /// `GET .../users/count`: how many users the directory holds.
    pub async fn users_count(&self) -> Result<u64, ApiError> {
        let url = self.url(&["v2", "orgs", self.org_id(), "directories", &self.directory_id, "users", "count"]);
        let r: CountResponse = self.call(Call { endpoint: Endpoint::UsersCount, method: Method::GET, url, body: None, decode: json_body }).await?;
        Ok(r.count)
    }

    /// Every product-access entry of one user, over all pages of last-active-dates, in the
    /// users-search shape. An unknown user (removed since the search listed them) has none.
    pub async fn last_active_dates(&self, account_id: &str) -> Result<Vec<ProductAccess<'static>>, ApiError> {
        let mut guard = CursorGuard::new(Endpoint::LastActiveDates);
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let mut url = self.url(&["v1", "orgs", self.org_id(), "directory", "users", account_id, "last-active-dates"]);
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let call = Call { endpoint: Endpoint::LastActiveDates, method: Method::GET, url, body: None, decode: json_body };
            let page: LastActiveResponse = match self.call(call).await {
                Ok(p) => p,
                Err(ApiError::Client { status: 404, code, .. }) if code.as_deref() == Some("ADMIN-404-8") => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            out.extend(page.data.product_access.into_iter().flatten().map(|p| ProductAccess {
                key: p.key.as_deref().map(|k| Text::from(v2_product_key(k).to_owned())),
                id: p.id.map(Text::from),
                last_active_timestamp: p.last_active_timestamp.filter(|t| !t.is_empty()).or(p.last_active).map(Text::from),
                url: None,
            }));
            match page.links.next {
                Some(next) => {
                    guard.admit(&next)?;
                    cursor = Some(next);
                }
                None => return Ok(out),
            }
        }
    }
}
