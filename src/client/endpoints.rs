//! The endpoints every read needs (the organization, the users, the sites), as data
//! ([`EndpointSpec`]), and their typed calls. Each goes through the one retry loop
//! ([`AtlassianClient::call`]) with the decoder of its body; the request of a paged one is
//! built by [`AtlassianClient::request`] from its page style. Endpoints of one stream alone are
//! declared in that stream's module.

use serde::Deserialize;
use serde_json::json;

use super::endpoint::{EndpointSpec, PageStyle};
use super::error::{ApiError, Endpoint};
use super::http::json_body;
use super::models::{ApiAccount, ApiWorkspace, Links, OrgData, OrgResponse, Page, ProductAccess, Text, UserPage};
use super::pagination::{CursorGuard, Request};
use super::AtlassianClient;

pub const ORG: Endpoint = Endpoint::new(&EndpointSpec::get("/admin/v1/orgs/{orgId}", "read:orgs:admin"));
/// The organizations the key can list.
pub const ORGS: Endpoint = Endpoint::new(&EndpointSpec::get("/admin/v1/orgs", "read:orgs:admin").pages(PageStyle::NextUrl));
pub const USERS_SEARCH: Endpoint =
    Endpoint::new(&EndpointSpec::post("/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search", "read:directories:admin").pages(PageStyle::BodyCursor));
pub const USERS_COUNT: Endpoint = Endpoint::new(&EndpointSpec::get("/admin/v2/orgs/{orgId}/directories/{directoryId}/users/count", "read:directories:admin"));
pub const WORKSPACES: Endpoint = Endpoint::new(&EndpointSpec::post("/admin/v2/orgs/{orgId}/workspaces", "read:workspaces:admin").pages(PageStyle::BodyCursorAlone));
/// Atlassian documents no scope for last-active-dates; the v1 user APIs' scope is the best
/// guess, and its 403 says so.
pub const LAST_ACTIVE_DATES: Endpoint = Endpoint::new(
    &EndpointSpec::get("/admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates", "read:accounts:admin")
        .pages(PageStyle::QueryCursor)
        .scope_advice("read:accounts:admin — unconfirmed: no scope is documented for this endpoint, so if that does not help use a key without scopes"),
);
/// The managed accounts (v1 users).
pub const MANAGED_USERS: Endpoint = Endpoint::new(&EndpointSpec::get("/admin/v1/orgs/{orgId}/users", "read:accounts:admin").pages(PageStyle::NextUrl));

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
        self.fetch(ORG, &Request::default(), None, json_body).await
    }

    /// One page of the organizations the key can list: their ids and names, and the cursor
    /// of the next page (taken from its `links.next` URL).
    pub async fn orgs_page(&self, cursor: Option<&str>) -> Result<(Vec<OrgData>, Option<String>), ApiError> {
        let page: Page<OrgData> = self.page(ORGS, &Request::default(), cursor).await?;
        Ok((page.data, page.links.next))
    }

    /// One page of the managed accounts (`GET /v1/orgs/{orgId}/users`), read into the users
    /// search's shape ([`UserPage::parse_v1`]); its `links.next` URL is replaced by its cursor.
    pub async fn managed_users_page(&self, cursor: Option<&str>) -> Result<UserPage, ApiError> {
        let mut page = self.fetch(MANAGED_USERS, &Request::default(), cursor, UserPage::parse_v1).await?;
        let next = self.next_cursor(MANAGED_USERS, page.next(), None)?;
        page.set_next(next);
        Ok(page)
    }

    /// One page of the v2 users search with the given expands, its users parsed.
    pub async fn search_users(&self, cursor: Option<&str>, limit: u32, expand: &[&str]) -> Result<UserPage, ApiError> {
        let mut body = json!({"limit": limit});
        if !expand.is_empty() {
            body["expand"] = json!(expand);
        }
        self.fetch(USERS_SEARCH, &Request::body(body), cursor, UserPage::parse).await
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
        let body = json!({"limit": limit, "resourceIds": resource_ids, "roleIds": role_ids});
        self.page(USERS_SEARCH, &Request::body(body), cursor).await
    }

    /// One page of the v2 workspaces list; the next page is asked for with the cursor alone.
    pub async fn workspaces_page(&self, cursor: Option<&str>, limit: u32) -> Result<Page<ApiWorkspace>, ApiError> {
        self.page(WORKSPACES, &Request::body(json!({"limit": limit})), cursor).await
    }

    /// `GET .../users/count`: how many users the directory holds.
    pub async fn users_count(&self) -> Result<u64, ApiError> {
        let r: CountResponse = self.fetch(USERS_COUNT, &Request::default(), None, json_body).await?;
        Ok(r.count)
    }

    /// Every product-access entry of one user, over all pages of last-active-dates, in the
    /// users-search shape. An unknown user (removed since the search listed them) has none.
    pub async fn last_active_dates(&self, account_id: &str) -> Result<Vec<ProductAccess<'static>>, ApiError> {
        let mut guard = CursorGuard::new(LAST_ACTIVE_DATES);
        let request = Request::path(vec![account_id.to_string()]);
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let page: LastActiveResponse = match self.fetch(LAST_ACTIVE_DATES, &request, cursor.as_deref(), json_body).await {
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
