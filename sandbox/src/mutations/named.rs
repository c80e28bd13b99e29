//! The mutations a resource module declares itself ([`NamedMutation`]), beside the
//! [`super::Mutation`]s: listed by `GET /__sandbox/mutations` after them, applied by
//! `POST /__sandbox/mutations/{name}` and [`crate::Sandbox::mutate`], drawing from the same
//! seeded streams and logging to the same audit log.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{MutationError, MutationReport};
use crate::model::Org;
use crate::rng::Rng;

/// A resource's own named mutation, declared in its module: a name, the fields `F` it reads
/// from JSON (absent ones take their serde defaults) and what they do ([`MutationFields`]).
pub(crate) struct NamedMutation {
    pub name: &'static str,
    pub description: &'static str,
    defaults: fn() -> Value,
    run: fn(Value, &mut MutationContext) -> Result<(), MutationError>,
}

/// The fields of a [`NamedMutation`], and what the mutation does with them.
pub(crate) trait MutationFields: Serialize + DeserializeOwned {
    /// Changes `cx.org` (checking first: an error must leave it as it was) and says what
    /// changed in `cx.report`.
    fn apply(self, cx: &mut MutationContext) -> Result<(), MutationError>;
}

/// What a [`NamedMutation`] works with.
pub(crate) struct MutationContext<'a> {
    pub org: &'a mut Org,
    /// This mutation's seeded stream: the n-th mutation of a sandbox draws the same each run.
    pub rng: &'a mut Rng,
    /// Which mutation this is (1 for the first applied to the sandbox), for names that must differ.
    pub number: u64,
    pub report: &'a mut MutationReport,
}

impl NamedMutation {
    pub const fn new<F: MutationFields>(name: &'static str, description: &'static str) -> NamedMutation {
        NamedMutation { name, description, defaults: defaults_of::<F>, run: run_with::<F> }
    }

    /// Its fields as `{}` reads them.
    pub fn defaults(&self) -> Value {
        (self.defaults)()
    }

    pub fn run(&self, fields: Value, cx: &mut MutationContext) -> Result<(), MutationError> {
        (self.run)(fields, cx)
    }
}

fn defaults_of<F: MutationFields>() -> Value {
    serde_json::from_value::<F>(Value::Object(Map::new())).ok().and_then(|f| serde_json::to_value(f).ok()).unwrap_or(Value::Null)
}

fn run_with<F: MutationFields>(fields: Value, cx: &mut MutationContext) -> Result<(), MutationError> {
    let fields: F = serde_json::from_value(fields).map_err(|e| MutationError(format!("{}: {e}", cx.report.mutation)))?;
    fields.apply(cx)
}

impl MutationReport {
    /// Records what a resource's mutation changed: `id` under `what` (`domains_added`).
    pub(crate) fn record(&mut self, what: &'static str, id: impl Into<String>) {
        self.changes.entry(what).or_default().push(id.into());
    }
}
