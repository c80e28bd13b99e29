//! The organization's domains: `GET /admin/v1/orgs/{orgId}/domains`, v1 URL cursors, 20 a
//! page (`read:domains:admin`). Generated: the managed domain and a second one verified, and
//! `contractors.example` (some users' email domain) claimed but unverified — its users are
//! external. Mutations: `add_domain {name}` (claimed, unverified), `verify_domain` (an
//! unverified one drawn), `remove_domain {name}` (a named or drawn one).

use axum::extract::State;
use axum::routing::on;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::Org;
use crate::mutations::named::{MutationContext, MutationFields, NamedMutation};
use crate::mutations::MutationError;
use crate::rng::{uuid_from, Rng};
use crate::routes::{Resource, Route, Scope, TruthSection};
use crate::server::extract::{ApiPath, ApiQuery, CursorQuery};
use crate::server::paging::{window, Cursors, Page, Style};
use crate::server::{AppState, Reply};

/// Domains a page.
const PAGE: usize = 20;

pub(crate) const RESOURCE: Resource = Resource {
    generate: Some(generate),
    mutations: &[
        NamedMutation::new::<AddDomain>("add_domain", "a domain claimed (dns), unverified; `name` or a new one"),
        NamedMutation::new::<VerifyDomain>("verify_domain", "an unverified domain drawn, verified"),
        NamedMutation::new::<RemoveDomain>("remove_domain", "the domain `name`, or one drawn, no longer claimed"),
    ],
    truth: Some(TruthSection { key: "domains", render: |org, _| json!(org.domains) }),
    ..Resource::routes(&[Route::get("/admin/v1/orgs/{orgId}/domains", "domains", |m| on(m, list))
        .query(&["cursor"])
        .scope(Scope::new("read:domains:admin", "the organization's domains"))])
};

/// A domain the organization claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    /// `http` or `dns`.
    pub claim_type: &'static str,
    /// `verified` or `unverified`.
    pub status: &'static str,
}

fn generate(org: &mut Org, seed: u64) {
    let mut rng = Rng::stream(seed ^ 0xd0a1, 0);
    let (_, managed) = crate::org::identity(seed);
    let claimed = [(managed.to_string(), "verified"), (format!("mail.{managed}"), "verified"), ("contractors.example".to_string(), "unverified")];
    org.domains = claimed
        .into_iter()
        .map(|(name, status)| Domain {
            id: uuid_from(rng.next_u64(), rng.next_u64()),
            name,
            claim_type: if rng.chance(0.5) { "dns" } else { "http" },
            status,
        })
        .collect();
}

#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}
const CURSORS: Cursors<Offset> = Cursors::new("d");

async fn list(State(s): State<AppState>, ApiPath(org_id): ApiPath<String>, ApiQuery(q): ApiQuery<CursorQuery>) -> Reply {
    let st = s.read();
    s.check_org(&st.org, &org_id)?;
    let offset = CURSORS.read(&s, q.given())?.map_or(0, |at| at.o);
    let page = window(st.org.domains.len(), offset, PAGE);
    let data: Vec<Value> = st.org.domains[page.start..page.end]
        .iter()
        .map(|d| {
            let link = format!("{}/admin/v1/orgs/{}/domains/{}", s.cfg.base_url, st.org.id, d.id);
            json!({"id": d.id, "type": "domains", "attributes": {"name": d.name, "claim": {"type": d.claim_type, "status": d.status}}, "links": {"self": link}})
        })
        .collect();
    let at = |o: Option<usize>| o.map(|o| CURSORS.write(&s, &Offset { o }));
    let url = format!("{}/admin/v1/orgs/{}/domains", s.cfg.base_url, st.org.id);
    Style::UrlCursor { url: &url }.reply(Page::of(data).this(q.given().map(str::to_owned)).prev(at(page.prev)).next(at(page.next)))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddDomain {
    #[serde(default)]
    name: Option<String>,
}

impl MutationFields for AddDomain {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let name = self.name.unwrap_or_else(|| format!("new{}.example.org", cx.number));
        if cx.org.domains.iter().any(|d| d.name == name) {
            return Err(MutationError(format!("add_domain: '{name}' is claimed already")));
        }
        let id = uuid_from(cx.rng.next_u64(), cx.number);
        cx.org.domains.push(Domain { id: id.clone(), name, claim_type: "dns", status: "unverified" });
        cx.report.record("domains_added", id);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyDomain {}

impl MutationFields for VerifyDomain {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let open: Vec<usize> = (0..cx.org.domains.len()).filter(|&i| cx.org.domains[i].status != "verified").collect();
        let Some(&i) = open.get(cx.rng.below(open.len().max(1) as u64) as usize) else {
            return Err(MutationError("verify_domain: every domain is verified".into()));
        };
        cx.org.domains[i].status = "verified";
        cx.report.record("domains_changed", cx.org.domains[i].id.clone());
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveDomain {
    #[serde(default)]
    name: Option<String>,
}

impl MutationFields for RemoveDomain {
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError> {
        let i = match &self.name {
            Some(name) => cx.org.domains.iter().position(|d| &d.name == name).ok_or_else(|| MutationError(format!("remove_domain: no domain '{name}'")))?,
            None if cx.org.domains.is_empty() => return Err(MutationError("remove_domain: no domain left".into())),
            None => cx.rng.below(cx.org.domains.len() as u64) as usize,
        };
        let gone = cx.org.domains.remove(i);
        cx.report.record("domains_removed", gone.id);
        Ok(())
    }
}
