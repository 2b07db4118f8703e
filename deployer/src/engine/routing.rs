//! One execution, one release: while a release shifts, the workflow draws its whole
//! set of function versions once per execution from a routing record in the release
//! ledger (the etl-workflow module's state machine reads it; its README says why this
//! way). CodeDeploy shifts each alias on its own timer, so the record's weight is the
//! release's smallest share: an execution on the new release runs every function's new
//! version, and no execution mixes the two.

use super::{Engine, Event};
use crate::cloud::{Cloud, Routing};
use crate::ledger::ReleaseRecord;

/// The routing record of `record` at `weight_per_mille`: each function's version
/// before and after the release (the same for a function the release leaves alone).
pub(crate) fn routing_of(record: &ReleaseRecord, weight_per_mille: u32) -> Routing {
    Routing {
        release_id: record.release_id.clone(),
        record_id: record.record_id.clone(),
        weight_per_mille,
        old: record.functions.iter().map(|(a, f)| (a.clone(), f.previous_version.clone())).collect(),
        new: record
            .functions
            .iter()
            .map(|(a, f)| (a.clone(), f.version.clone().unwrap_or_else(|| f.previous_version.clone())))
            .collect(),
    }
}

impl<C: Cloud> Engine<'_, C> {
    /// Writes the routing record; a failure is told (the workflow then invokes the
    /// `live` aliases, weighted per invocation), never fatal to the release.
    pub(crate) async fn route(&self, record: &ReleaseRecord, weight_per_mille: u32) {
        if let Err(error) = self.cloud.put_routing(&routing_of(record, weight_per_mille)).await {
            self.tell(Event::RoutingFailed { error: &error });
        }
    }

    /// Removes the routing record: every execution invokes the `live` aliases again.
    pub(crate) async fn unroute(&self) {
        if let Err(error) = self.cloud.clear_routing().await {
            self.tell(Event::RoutingFailed { error: &error });
        }
    }
}
