//! The v2 groups search and a group's role assignments (camelCase; every field but a group's
//! id optional, as the API documents none as required).

use serde::Deserialize;

/// One group of the groups search, with `expand: ["counts.users", "counts.resources"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiDirectoryGroup {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub directory_id: Option<String>,
    /// `external`, `admins`, `team-members` or `open`.
    #[serde(default)]
    pub managed_by: Option<String>,
    #[serde(default)]
    pub external_synced: Option<bool>,
    #[serde(default)]
    pub counts: Option<GroupCounts>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupCounts {
    #[serde(default)]
    pub users: Option<i64>,
    #[serde(default)]
    pub resources: Option<i64>,
}

impl ApiDirectoryGroup {
    /// Whether its role assignments must be asked for: it grants roles on some site, or the
    /// page did not say (a count missing or reported as -1).
    pub fn may_grant_roles(&self) -> bool {
        self.counts.as_ref().and_then(|c| c.resources).is_none_or(|n| n != 0)
    }
}

/// The roles a group grants on one site.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRoleAssignment {
    /// The site's ARI (a workspace id).
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub default_role: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A group and the role assignments it has (none asked for when it grants nothing).
#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub group: ApiDirectoryGroup,
    pub roles: Vec<ApiRoleAssignment>,
}
