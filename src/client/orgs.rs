//! The organization from the key alone: when the config names no `org_id`, `GET /v1/orgs`
//! (every page, its `links.next` URLs read for their cursor) must list exactly one
//! organization. None (a key created with scopes lists none) or several is a config error
//! that says where to find the ID.

use super::endpoints;
use super::error::ApiError;
use super::pagination::CursorGuard;
use super::AtlassianClient;

/// Pages of `GET /v1/orgs` read at most (20 organizations a page) before giving up counting.
const MAX_ORG_PAGES: usize = 10;
/// Organizations a "several" message names.
const NAMED: usize = 5;

/// The organization found from the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundOrg {
    pub id: String,
    pub name: Option<String>,
}

impl FoundOrg {
    /// `'Name' (id)`, or the id alone.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("'{name}' ({})", self.id),
            None => self.id.clone(),
        }
    }
}

impl AtlassianClient {
    /// Finds the organization when the config names none, and reads it from then on;
    /// `None` when the config names it (nothing is requested).
    pub async fn find_org(&self) -> Result<Option<FoundOrg>, ApiError> {
        if self.org_id.get().is_some() {
            return Ok(None);
        }
        let mut guard = CursorGuard::new(endpoints::ORGS);
        let (mut cursor, mut orgs, mut more) = (None::<String>, Vec::new(), false);
        for _ in 0..MAX_ORG_PAGES {
            let (page, next) = self.orgs_page(cursor.as_deref()).await?;
            guard.page(page.len(), next.as_deref())?;
            orgs.extend(page.into_iter().map(|o| FoundOrg { id: o.id, name: o.attributes.name }));
            more = next.is_some();
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        match orgs.as_slice() {
            [] => Err(ApiError::NoOrgListed { endpoint: endpoints::ORGS }),
            [one] if !more => {
                let _ = self.org_id.set(one.id.clone());
                Ok(Some(one.clone()))
            }
            _ => {
                let mut listed: Vec<String> = orgs.iter().take(NAMED).map(FoundOrg::label).collect();
                if orgs.len() > NAMED || more {
                    listed.push("…".into());
                }
                let count = if more { format!("{} or more", orgs.len()) } else { orgs.len().to_string() };
                Err(ApiError::SeveralOrgsListed { endpoint: endpoints::ORGS, count, listed: listed.join(", ") })
            }
        }
    }
}
