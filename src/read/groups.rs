//! `groups` on the paged-stream driver ([`super::paged`]): the groups search, each group with
//! its role assignments (the client asks for them only for groups that grant roles), joined
//! to the workspaces.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::paged::{Context, PagedStream};
use crate::client::models::GroupEntry;
use crate::client::pagination::{self, PageResult};
use crate::client::AtlassianClient;
use crate::incremental::by_id::{ById, Groups};
use crate::json::{Observed, Unstamped};
use crate::streams::groups::{self, GroupRecord};
use crate::streams::StreamId;

pub struct GroupsStream;

impl PagedStream for GroupsStream {
    const ID: StreamId = StreamId::Groups;
    type Item = GroupEntry;
    type Store = ById<Groups>;
    type Deletion<'a> = GroupRecord<'a>;

    fn pages(client: Arc<AtlassianClient>, start: Option<String>) -> mpsc::Receiver<PageResult<GroupEntry>> {
        pagination::groups(client, start)
    }

    fn id(item: &GroupEntry) -> &str {
        &item.group.id
    }

    fn write<'b>(ctx: &Context, item: &GroupEntry, out: &'b mut Vec<u8>) -> Unstamped<'b> {
        let roles = groups::role_records(&item.roles, ctx.sites);
        let billable = groups::billable_workspaces(&roles);
        groups::record(ctx.org_id, item, &roles, &billable).write_unstamped(out)
    }

    fn deletion<'a>(ctx: &Context<'a>, id: &'a str, now: &'a str) -> GroupRecord<'a> {
        groups::deletion(ctx.org_id, id, now)
    }
}
