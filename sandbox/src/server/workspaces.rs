//! `POST /v2/orgs/{orgId}/workspaces`: product instances with the documented
//! query language (`and`/`or`/`field`/`searchWorkspaces`), sorting, and paging
//! where the next page is asked for with `{"cursor": ...}` alone.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::extract::{present, ApiJson, ApiPath, CursorArg, Rejects};
use super::{ok_json, AppState, Reply};
use crate::cursor::WorkspacesCursor;
use crate::model::{Org, Workspace};
use crate::render;

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
pub(super) struct WorkspacesBody {
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

/// The documented bounds of `limit`.
pub(crate) const WS_LIMIT: std::ops::RangeInclusive<u64> = 1..=1000;

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
fn requested_page(s: &super::Shared, body: WorkspacesBody) -> Result<WorkspacesCursor, axum::response::Response> {
    if let Some(Some(cursor)) = body.cursor {
        if body.limit.is_some() || body.sort.is_some() || body.query.is_some() || !body.other.is_empty() {
            return Err(s.bad_request(
                "ADMIN-400-4",
                "When a cursor is provided in the request body, no other properties may be present",
            ));
        }
        return match cursor {
            CursorArg::Text(c) => s.codec.decode::<WorkspacesCursor>(&c, "w").ok_or_else(|| s.invalid_cursor()),
            CursorArg::NotText(_) => Err(s.invalid_cursor()),
        };
    }
    let limit = match body.limit.flatten() {
        None => 20,
        Some(n) if WS_LIMIT.contains(&n) => n as usize,
        Some(_) => return Err(s.bad_request("ADMIN-400-4", "'limit' must be an integer between 1 and 1000")),
    };
    Ok(WorkspacesCursor {
        t: "w".into(),
        o: 0,
        l: limit,
        s: body.sort.unwrap_or(Value::Null),
        q: body.query.unwrap_or(Value::Null),
    })
}

pub(super) async fn search(
    State(s): State<AppState>,
    ApiPath(org_id): ApiPath<String>,
    ApiJson(body): ApiJson<WorkspacesBody>,
) -> Reply {
    let st = s.read();
    let org = &st.org;
    s.check_org(org, &org_id)?;
    let page = requested_page(&s, body)?;
    let idx = ws_select(org, &page.s, &page.q).map_err(|d| s.bad_request("ADMIN-400-4", &d))?;
    let total = idx.len();
    let start = page.o.min(total);
    let end = (start + page.l).min(total);
    let data: Vec<Value> =
        idx[start..end].iter().map(|i| render::workspace_json(&org.workspaces[*i], &s.cfg.base_url, &org.id)).collect();
    let at = |o: usize| s.codec.encode(&WorkspacesCursor { o, ..page.clone() });
    let mut links = Map::new();
    links.insert("self".into(), json!(at(start)));
    if start > 0 {
        links.insert("prev".into(), json!(at(start.saturating_sub(page.l))));
    }
    if end < total {
        links.insert("next".into(), json!(at(end)));
    }
    let (si, ei) = if end > start { (json!(start), json!(end - 1)) } else { (Value::Null, Value::Null) };
    ok_json(&json!({
        "data": data,
        "links": links,
        "meta": {"pageSize": page.l, "startIndex": si, "endIndex": ei, "total": s.cfg.estimate(total)},
    }))
}
