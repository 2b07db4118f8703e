//! Fault injection, off by default: with `LOCALCLOUD_FAULTS` set, requests that pass
//! localcloud (its own services and the pass-through to ministack, including the
//! calls functions in the emulator make back through it) are throttled, reset,
//! answered with an empty 500, or applied and then left unanswered, as AWS's
//! transient faults look to a client. Draws are seeded, so a failing run can be
//! replayed, and every injected fault is counted per service and kind.
//!
//! [`spec`] parses the setting, [`classify`] tells what a request is, [`wire`]
//! renders the answers; the proxy acts on [`Faults::draw`].

pub mod classify;
pub mod spec;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub use classify::Call;
pub use spec::{FaultKind, FaultSpec, SpecError};

/// The environment variable that turns injection on.
pub const ENV: &str = "LOCALCLOUD_FAULTS";

/// Per service: requests the spec applied to, and the faults injected by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: u64,
    pub throttle: u64,
    pub reset: u64,
    pub error: u64,
    pub lost_reply: u64,
}

impl Counts {
    fn add(&mut self, kind: FaultKind) {
        match kind {
            FaultKind::Throttle => self.throttle += 1,
            FaultKind::Reset => self.reset += 1,
            FaultKind::Error => self.error += 1,
            FaultKind::LostReply => self.lost_reply += 1,
        }
    }

    pub fn faults(&self) -> u64 {
        self.throttle + self.reset + self.error + self.lost_reply
    }
}

/// What `localcloud status` and `GET /_localcloud/faults` report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The spec in force, in canonical form with its seed (None: off).
    pub spec: Option<String>,
    pub seed: Option<u64>,
    pub services: BTreeMap<String, Counts>,
    pub total: Counts,
}

struct Active {
    spec: FaultSpec,
    rng: fastrand::Rng,
}

/// The injector: the spec in force, its seeded draw and the counts.
pub struct Faults {
    /// Whether a spec is in force: read on every request, so without a lock.
    on: AtomicBool,
    active: Mutex<Option<Active>>,
    counts: Mutex<BTreeMap<String, Counts>>,
}

impl Faults {
    pub fn new(spec: Option<FaultSpec>) -> Self {
        let faults = Self { on: AtomicBool::new(false), active: Mutex::new(None), counts: Mutex::new(BTreeMap::new()) };
        faults.set(spec);
        faults
    }

    /// From `LOCALCLOUD_FAULTS`; a bad value is refused with its fix.
    pub fn from_env() -> Result<Self, SpecError> {
        let text = std::env::var(ENV).unwrap_or_default();
        Ok(Self::new(spec::parse(&text)?))
    }

    /// Replaces the spec in force (None: off); the draw restarts from its seed.
    pub fn set(&self, spec: Option<FaultSpec>) {
        let active = spec.map(|spec| Active { rng: fastrand::Rng::with_seed(spec.seed), spec });
        let mut guard = self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.on.store(active.is_some(), Ordering::SeqCst);
        *guard = active;
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Whether a rule filters on operations (then query-protocol bodies are read for
    /// their Action).
    pub fn filters_operations(&self) -> bool {
        self.active.lock().ok().and_then(|a| a.as_ref().map(|a| a.spec.filters_operations())).unwrap_or(false)
    }

    /// The fault for this request, if any: the first rule that matches it decides,
    /// with one seeded draw against its rates. Counts what it decides.
    pub fn draw(&self, call: &Call) -> Option<FaultKind> {
        let fault = {
            let mut guard = self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let active = guard.as_mut()?;
            let rule = active.spec.rules.iter().find(|r| r.matches(&call.service, &call.operation))?;
            let draw = active.rng.f64();
            let mut edge = 0.0;
            FaultKind::ALL.into_iter().find(|kind| {
                edge += rule.rate(*kind);
                draw < edge
            })
        };
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = counts.entry(call.service.clone()).or_default();
        entry.requests += 1;
        if let Some(kind) = fault {
            entry.add(kind);
        }
        fault
    }

    pub fn report(&self) -> Report {
        let active = self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let services = self.counts.lock().map(|c| c.clone()).unwrap_or_default();
        let mut total = Counts::default();
        for c in services.values() {
            total.requests += c.requests;
            total.throttle += c.throttle;
            total.reset += c.reset;
            total.error += c.error;
            total.lost_reply += c.lost_reply;
        }
        Report {
            spec: active.as_ref().map(|a| a.spec.to_string()),
            seed: active.as_ref().map(|a| a.spec.seed),
            services,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify::Wire;
    use super::*;

    fn call(service: &str, operation: &str) -> Call {
        Call { service: service.into(), operation: operation.into(), wire: Wire::RestJson, method: http::Method::GET }
    }

    fn faults(text: &str) -> Faults {
        Faults::new(spec::parse(text).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let draws = |seed: u64| -> Vec<Option<FaultKind>> {
            let f = faults(&format!("throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed={seed}"));
            (0..500).map(|i| f.draw(&call(if i % 2 == 0 { "s3" } else { "lambda" }, "X"))).collect()
        };
        assert_eq!(draws(7), draws(7), "replayable");
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn rates_hold_and_are_counted_per_service_and_kind() {
        let f = faults("throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=11");
        let n = 20_000;
        for _ in 0..n {
            f.draw(&call("s3", "PutObject"));
        }
        let report = f.report();
        let s3 = &report.services["s3"];
        assert_eq!(s3.requests, n);
        let share = |count: u64| count as f64 / n as f64;
        assert!((0.09..0.11).contains(&share(s3.throttle)), "{s3:?}");
        for count in [s3.reset, s3.error, s3.lost_reply] {
            assert!((0.02..0.04).contains(&share(count)), "{s3:?}");
        }
        assert_eq!(report.total, *s3);
        assert_eq!(report.spec.as_deref(), Some("throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=11"));
    }

    #[test]
    fn the_first_matching_rule_decides_and_others_pass() {
        let f = faults("service=sts;throttle=1,operation=PutObject;error=1,service=lambda,seed=1");
        assert_eq!(f.draw(&call("sts", "PutObject")), None, "exempted by the first rule");
        assert_eq!(f.draw(&call("s3", "PutObject")), Some(FaultKind::Throttle));
        assert_eq!(f.draw(&call("lambda", "Invoke")), Some(FaultKind::Error));
        assert_eq!(f.draw(&call("s3", "GetObject")), None, "no rule matches");
        let report = f.report();
        assert_eq!(report.services["sts"].requests, 1);
        assert!(!report.services.contains_key("s3") || report.services["s3"].requests == 1, "{report:?}");
        assert_eq!(report.total.faults(), 2);
    }

    #[test]
    fn off_draws_nothing_and_can_be_turned_on() {
        let f = Faults::new(None);
        assert!(!f.is_on());
        assert_eq!(f.draw(&call("s3", "PutObject")), None);
        assert_eq!(f.report(), Report::default());
        f.set(spec::parse("reset=1,seed=2").unwrap_or_default());
        assert_eq!(f.draw(&call("s3", "PutObject")), Some(FaultKind::Reset));
    }
}
