//! `POST /v2/orgs/{orgId}/workspaces`: product instances with the documented
//! query language (`and`/`or`/`field`/`searchWorkspaces`), sorting, and paging
//! where the next page is asked for with `{"cursor": ...}` alone.

use axum::extract::State;
use axum::routing::on;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::cursor::WorkspacesCursor;
use crate::model::{Org, Workspace};
use crate::render;
use crate::routes::{Resource, Route, Scope};
use crate::server::extract::{present, ApiJson, ApiPath, CursorArg, Rejects};
use crate::server::paging::{window, BeyondMax, Cursors, Page, PageSize, Style};
use crate::server::{AppState, Reply, Shared};

pub(crate) const SEARCH: Resource = Resource::routes(&[Route::post("/admin/v2/orgs/{orgId}/workspaces", "workspaces", |m| on(m, search))
    .scope(Scope::new("read:workspaces:admin", "the organization's workspaces"))]);

const CURSORS: Cursors<WorkspacesCursor> = Cursors::new("w");

/// A first page's size (a later page keeps it, in its cursor).
const PAGE_SIZE: PageSize = PageSize { param: "limit", default: 20, max: 1000, beyond_max: BeyondMax::Refused, code: "ADMIN-400-4" };

/// Fields a query or sort may name.
const WS_FIELDS: [&str; 9] = [
    "id",
    "attributes.name",
    "attributes.type",
    "attributes.typeKey",
    "attributes.status",
    "attributes.hostUrl",
    "attributes.realm",
    "attributes.createdAt",
    "attributes.sandbox.type",
];

/// The documented request body (`SearchWorkspacesRequestV2`). Presence is kept apart from
/// null because a cursor must come alone.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WorkspacesBody {
    #[serde(default, deserialize_with = "present")]
    cursor: Option<Option<CursorArg>>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    sort: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    query: Option<Value>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl Rejects for WorkspacesBody {
    const CODE: &'static str = "ADMIN-400-4";
}

fn ws_field(w: &Workspace, f: &str) -> Option<String> {
    Some(match f {
        "id" => w.id.clone(),
        "attributes.name" => w.name.clone(),
        "attributes.type" => w.product_type.clone(),
        "attributes.typeKey" => w.type_key.clone(),
        "attributes.status" => w.status.as_str().to_string(),
        "attributes.hostUrl" => w.host_url.clone().unwrap_or_default(),
        "attributes.realm" => w.realm.clone(),
        "attributes.createdAt" => render::ts_millis(&w.created_at),
        "attributes.sandbox.type" => w.sandbox_type.clone(),
        _ => return None,
    })
}

fn ws_query_match(q: &Value, w: &Workspace) -> Result<bool, String> {
    let Value::Object(m) = q else {
        return if q.is_null() { Ok(true) } else { Err("query must be an object".into()) };
    };
    let mut ok = true;
    for (k, v) in m {
        let hit = match k.as_str() {
            "and" | "or" => {
                let a = v.as_array().ok_or_else(|| format!("'{k}' must be an array"))?;
                let hits = a.iter().map(|x| ws_query_match(x, w)).collect::<Result<Vec<bool>, String>>()?;
                if k == "and" {
                    hits.iter().all(|h| *h)
                } else {
                    hits.iter().any(|h| *h)
                }
            }
            "field" => {
                let name = v.get("name").and_then(|n| n.as_str()).ok_or("'field.name' is required")?;
                let values = v.get("values").and_then(|n| n.as_array()).ok_or("'field.values' is required")?;
                let actual = ws_field(w, name).ok_or_else(|| format!("Unsupported field '{name}'"))?;
                values.iter().any(|x| x.as_str() == Some(actual.as_str()))
            }
            "searchWorkspaces" => {
                let t = v.as_str().ok_or("'searchWorkspaces' must be a string")?.to_lowercase();
                w.name.to_lowercase().contains(&t)
                    || w.host_url.as_deref().unwrap_or("").to_lowercase().contains(&t)
                    || w.id.to_lowercase().contains(&t)
            }
            // Features and policies are not modelled: they filter nothing.
            "features" | "policies" => true,
            other => return Err(format!("Unsupported query operator '{other}'")),
        };
        ok &= hit;
    }
    Ok(ok)
}

fn sort_keys(sort: &Value) -> Result<Vec<(String, bool)>, String> {
    match sort {
        Value::Null => Ok(vec![]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                let f = x.get("field").and_then(|f| f.as_str()).ok_or("sort field is required")?;
                if !WS_FIELDS.contains(&f) {
                    return Err(format!("Unsupported sort field '{f}'"));
                }
                let desc = match x.get("order").and_then(|o| o.as_str()) {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(o) => return Err(format!("Invalid sort order '{o}'")),
                };
                Ok((f.to_string(), desc))
            })
            .collect(),
        _ => Err("'sort' must be an array".into()),
    }
}

fn ws_select(org: &Org, sort: &Value, query: &Value) -> Result<Vec<usize>, String> {
    let mut idx = Vec::new();
    for (i, w) in org.workspaces.iter().enumerate() {
        if ws_query_match(query, w)? {
            idx.push(i);
        }
    }
    let keys = sort_keys(sort)?;
    idx.sort_by(|a, b| {
        for (f, desc) in &keys {
            let x = ws_field(&org.workspaces[*a], f);
            let y = ws_field(&org.workspaces[*b], f);
            let o = if *desc { y.cmp(&x) } else { x.cmp(&y) };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(idx)
}

/// The page a body asks for: decoded from its cursor, or a first page from its fields.
fn requested_page(s: &Shared, body: WorkspacesBody) -> Result<WorkspacesCursor, axum::response::Response> {
    if let Some(Some(cursor)) = body.cursor {
        if body.limit.is_some() || body.sort.is_some() || body.query.is_some() || !body.other.is_empty() {
            return Err(s.bad_request(
                "ADMIN-400-4",
                "When a cursor is provided in the request body, no other properties may be present",
            ));
        }
        return match cursor {
            CursorArg::Text(c) => CURSORS.decode(s, &c),
            CursorArg::NotText(_) => Err(s.invalid_cursor()),
        };
    }
    let limit = PAGE_SIZE.read(s, body.limit.flatten())?;
    Ok(WorkspacesCursor {
        o: 0,
        l: limit,
        s: body.sort.unwrap_or(Value::Null),
        q: body.query.unwrap_or(Value::Null),
    })
}

async fn search(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiJson(body): ApiJson<WorkspacesBody>) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let asked = requested_page(&s, body)?;
    let idx = ws_select(org, &asked.s, &asked.q).map_err(|d| s.bad_request("ADMIN-400-4", &d))?;
    let total = idx.len();
    let page = window(total, asked.o, asked.l);
    let data: Vec<Value> =
        idx[page.start..page.end].iter().map(|i| render::workspace_json(&org.workspaces[*i], &s.cfg.base_url, &org.id)).collect();
    let at = |o: usize| CURSORS.write(&s, &WorkspacesCursor { o, ..asked.clone() });
    let (si, ei) = if page.end > page.start { (json!(page.start), json!(page.end - 1)) } else { (Value::Null, Value::Null) };
    Style::BareCursor.reply(
        Page::of(data)
            .this(Some(at(page.start)))
            .prev(page.prev.map(at))
            .next(page.next.map(at))
            .meta(json!({"pageSize": asked.l, "startIndex": si, "endIndex": ei, "total": s.cfg.estimate(total)})),
    )
}
