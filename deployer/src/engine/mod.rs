//! The release engine: a release into one environment, and the operator's commands
//! around it. One release, one verdict: every changed function gets its own CodeDeploy
//! deployment, all started together and watched together with the alarms; the first
//! alarm or failed deployment stops them all and returns every function of the release
//! to the version it had before. The engine never ends with an alias split.
//!
//! One job per file:
//! - [`preflight`]: checks before any change (infrastructure, plan, refusals);
//! - [`ship`]: hooks, publishing, bootstraps, starting the deployments;
//! - [`watch`]: the deployments and alarms until the verdict;
//! - [`restore`]: abort, restore, restore an unfinished release, `rollback`;
//! - [`release`]: a deploy or promote from start to record;
//! - [`inspect`]: `plan`, `status`, `history`, `prune`; [`doctor`]: the read-only
//!   check before a first release;
//! - [`policy`]: the rules, as pure functions returning typed refusals;
//! - [`evidence`] and [`replay`]: no canary step passes on no evidence, and the dry
//!   runs that bring it; [`routing`]: the record the workflow draws its release from;
//! - [`reconcile`]: whether a call that failed happened anyway (a lost answer);
//! - [`lock`], [`artifacts`], [`signals`], [`join`]: the release lock, the artifacts'
//!   bytes, SIGINT/SIGTERM, concurrent calls;
//! - [`events`] and [`outcome`]: what the engine tells while it works and ends with,
//!   as data for the report layer.

pub mod artifacts;
mod doctor;
pub mod events;
mod evidence;
mod inspect;
pub mod join;
mod lock;
pub mod outcome;
mod pairing;
pub mod policy;
mod preflight;
mod reconcile;
mod release;
pub mod replay;
mod restore;
mod routing;
mod shadow_run;
mod ship;
pub mod signals;
#[cfg(test)]
mod tests;
pub mod timeline;
mod watch;

pub use artifacts::{fetch_release, store_release, Zips};
pub use events::{Event, FunctionProgress, Observer, Silent};
pub use outcome::*;
pub use signals::Interrupt;

use crate::cloud::Cloud;
use crate::ledger::{holder_id, RecordKind};
use crate::release::Manifest;
use crate::settings::Settings;

/// The alias's version before any release: Terraform creates `live` on `$LATEST`.
pub const UNRELEASED: &str = "$LATEST";

/// What to release: the artifacts and where they came from.
pub struct Incoming {
    pub manifest: Manifest,
    pub zips: Zips,
    pub kind: RecordKind,
    pub source_environment: Option<String>,
}

/// One environment's release engine, over any [`Cloud`].
pub struct Engine<'a, C> {
    settings: &'a Settings,
    cloud: C,
    observer: &'a dyn Observer,
    holder: String,
    interrupt: Interrupt,
}

impl<'a, C: Cloud> Engine<'a, C> {
    pub fn new(settings: &'a Settings, cloud: C, observer: &'a dyn Observer) -> Self {
        Self { settings, cloud, observer, holder: holder_id(), interrupt: Interrupt::default() }
    }

    /// Stops and restores the release when `interrupt` is raised.
    pub fn interruptible(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = interrupt;
        self
    }

    /// Takes the lock under another name (tests run two deployers in one process).
    pub fn holder(mut self, holder: &str) -> Self {
        holder.clone_into(&mut self.holder);
        self
    }

    fn tell(&self, event: Event<'_>) {
        self.observer.event(event);
    }

    /// Runs `call` for every item side by side, each with its own handle on the cloud.
    async fn each<I, T, F, Fut>(&self, items: I, call: F) -> Vec<T>
    where
        I: IntoIterator,
        F: Fn(C, I::Item) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        join::each(items.into_iter().map(|item| call(self.cloud.clone(), item))).await
    }

    /// Like [`Self::each`], the first error winning.
    async fn all<I, T, F, Fut>(&self, items: I, call: F) -> crate::error::Result<Vec<T>>
    where
        I: IntoIterator,
        F: Fn(C, I::Item) -> Fut,
        Fut: std::future::Future<Output = crate::error::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.each(items, call).await.into_iter().collect()
    }
}
