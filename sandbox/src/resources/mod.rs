//! The registry: every resource the sandbox serves, one line each in [`REGISTRY`], and the
//! modules that hold them. A module declares its routes (method, path, name, query parameters,
//! scope, handler) as a [`Resource`], with, when it has data of its own, the data's generator,
//! its named mutations and its part of `/__sandbox/truth`. Handlers read requests with the
//! typed extractors of [`crate::server::extract`] and write every list with the one paging
//! helper, [`crate::server::paging`]. See docs/development.md, "Adding a sandbox route".
//!
//! The routes, in registry order (a new resource adds its line below and its rows here):
//!
//! | route | endpoint | scope | notes |
//! |---|---|---|---|
//! | `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search` | `users_search` | `read:directories:admin` | `directoryId` may be `-`; bare cursors; `expand` |
//! | `POST /admin/v2/orgs/{orgId}/workspaces` | `workspaces` | `read:workspaces:admin` | query/sort/limit, or `{"cursor"}` alone |
//! | `GET /admin/v1/orgs/{orgId}` | `org` | `read:orgs:admin` | `404 ADMIN-404-2` for any other id |
//! | `GET /admin/v1/orgs` | `orgs` | `read:orgs:admin` | `?cursor`; the org alone, none (`orgs_list_empty`), or among `extra_orgs` others, 20 a page, `links.next` a URL |
//! | `GET /admin/v2/orgs/{orgId}/directories/{directoryId}/users/count` | `users_count` | `read:directories:admin` | the search's filters as query parameters |
//! | `GET /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates` | `last_active_dates` | none | `?cursor`, bare cursors, `last_active_page_size` a page |
//! | `GET /admin/v1/orgs/{orgId}/users` | `managed_users` | `read:accounts:admin` | managed accounts only, 50 a page, `links` URLs with `?cursor` ([`crate::render::ManagedUserView`]) |
//! | `GET /admin/v2/orgs/{orgId}/directories` | `directories` | `read:directories:admin` | the org's one directory |
//! | `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search` | `groups_search` | `read:groups:admin` | bare cursors, `expand` counts |
//! | `GET /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments` | `group_role_assignments` | `read:groups:admin` | `?cursor`, `?limit` |
//! | `GET /admin/v1/orgs/{orgId}/events-stream` | `events_stream` | `read:events:admin` | the audit log (the crate doc's "Audit log") |
//! | `GET /admin/v1/orgs/{orgId}/event-actions` | `event_actions` | `read:events:admin` | every action the log can hold ([`crate::EVENT_ACTIONS`]) |
//! | `GET /admin/v1/orgs/{orgId}/domains` | `domains` | `read:domains:admin` | v1 URL cursors, 20 a page; two verified, one unverified |
//! | `GET /admin/api-access/v1/orgs/{orgId}/api-tokens` | `api_tokens` | `read:tokens:admin` | `pageSize` (20; 100 at most, served for more) and `cursor` only, any other a 500; bare cursors; integration users among the owners |
//! | `GET /admin/api-access/v1/orgs/{orgId}/service-accounts` | `service_accounts` | `read:service-accounts:admin` | experimental; `cursor` only, any other a 500; 10 a page under `items`, `updatedAt` epoch ms; the org's `svc-*` users |
//! | `GET /admin/api-access/v1/orgs/{orgId}/api-keys` | `api_keys` | `read:keys:admin` (and `read:tokens:admin`: either refused is a 403) | `pageSize` and `cursor` only, as `api_tokens`; five keys |
//! | `GET /admin/v1/orgs/{orgId}/policies` | `policies` | `read:policies:admin` | `?cursor`, `?type`; 10 a page, `meta.next`; six policies of five types, the paid Service Management and Bitbucket sites under none |
//!
//! `git_activity` serves no route: its generator flags the Bitbucket developers who work through
//! git only, and the truth lists them (`git_only`), for the licence report's tests.
//!
//! In the crate's own tests a test-only resource follows them: `badges` and `api_badges`
//! (`resources/badges.rs`, the recipe's worked example).

pub(crate) mod api_keys;
pub(crate) mod api_tokens;
#[cfg(test)]
pub(crate) mod badges;
pub(crate) mod directory;
pub(crate) mod domains;
pub(crate) mod events;
pub(crate) mod git_activity;
mod filter;
pub(crate) mod groups;
pub(crate) mod last_active;
pub(crate) mod managed_users;
pub(crate) mod orgs;
pub(crate) mod policies;
pub(crate) mod service_accounts;
pub(crate) mod workspaces;

use crate::routes::Resource;

/// Every resource, in the order its routes are counted and listed (`/__sandbox/stats`, `--help`).
pub(crate) const REGISTRY: &[Resource] = &[
    directory::USERS_SEARCH,
    workspaces::SEARCH,
    orgs::ORG,
    orgs::ORGS,
    directory::USERS_COUNT,
    last_active::DATES,
    managed_users::LIST,
    directory::DIRECTORIES,
    groups::SEARCH,
    groups::ROLE_ASSIGNMENTS,
    events::STREAM,
    events::ACTIONS,
    domains::RESOURCE,
    api_tokens::RESOURCE,
    service_accounts::RESOURCE,
    api_keys::RESOURCE,
    policies::RESOURCE,
    git_activity::RESOURCE,
    #[cfg(test)]
    badges::RESOURCE,
];

#[cfg(test)]
mod tests {
    use serde::de::{Error as _, Visitor};

    use super::filter::FilterParams;
    use crate::routes::{Route, ROUTES};
    use crate::server::extract::CursorQuery;
    use crate::Endpoint;

    /// The field names a derived `Deserialize` struct reads (serde hands them to `deserialize_struct`).
    fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
        struct Fields<'a>(&'a mut &'static [&'static str]);
        impl<'de> serde::Deserializer<'de> for Fields<'_> {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(Self::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                *self.0 = fields;
                Err(Self::Error::custom("fields taken"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
                unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(Fields(&mut fields));
        fields
    }

    #[test]
    fn the_registry_names_what_the_extractors_read() {
        assert_eq!(field_names::<FilterParams>(), Route::of(Endpoint::UsersCount).query);
        assert_eq!(field_names::<CursorQuery>(), ["cursor"]);
        assert_eq!(field_names::<super::events::EventsQuery>(), Route::of(Endpoint::EventsStream).query);
        assert_eq!(field_names::<super::directory::DirectoriesQuery>(), Route::of(Endpoint::Directories).query);
        assert_eq!(field_names::<super::groups::RolesQuery>(), Route::of(Endpoint::GroupRoleAssignments).query);
        assert_eq!(field_names::<super::api_tokens::ListQuery>(), Route::of(Endpoint::named("api_tokens")).query);
        assert_eq!(Route::of(Endpoint::named("service_accounts")).query, ["cursor"]);
        assert_eq!(field_names::<super::api_tokens::ListQuery>(), Route::of(Endpoint::named("api_keys")).query);
        assert_eq!(field_names::<super::policies::PoliciesQuery>(), Route::of(Endpoint::named("policies")).query);
        for ep in [Endpoint::Orgs, Endpoint::ManagedUsers, Endpoint::LastActiveDates] {
            assert_eq!(Route::of(ep).query, ["cursor"]);
        }
        // The POST routes read their body, not the query.
        for r in ROUTES.iter().filter(|r| r.method == crate::routes::Method::Post) {
            assert!(r.query.is_empty(), "{}", r.path);
        }
    }
}
