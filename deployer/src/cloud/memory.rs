//! An in-memory cloud for unit tests of the release logic: Lambda functions, versions
//! and aliases with RevisionIds; CodeDeploy deployments that move one step per
//! GetDeployment following a scripted behaviour; alarms; the ledger and lock; the
//! artifact store. Faults and triggers let a test break any call or change the world
//! when a call happens (an alarm firing during publish, a lock taken meanwhile).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::*;
use crate::error::{CloudFailure, DeployError, RefusalKind};
use crate::ledger::{now_ms, rfc3339, ReleaseRecord};

/// One version's (or `$LATEST`'s) code and configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub sha: String,
    pub config: FunctionConfig,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub latest: Code,
    pub latest_revision: u64,
    /// Configuration reads that still answer InProgress after an update.
    pub updating: u32,
    pub versions: BTreeMap<u64, Code>,
    pub alias_version: String,
    pub alias_extra: Option<(String, f64)>,
    pub alias_revision: u64,
}

/// How a function's deployments go, one step per GetDeployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Pre-traffic hook, a 10 % canary, then everything.
    Succeed,
    /// The pre-traffic hook reports Failed; no traffic ever moves.
    FailPreTraffic,
    /// Holds the 10 % canary forever.
    Hang,
    /// Holds the 10 % canary for this many polls, then shifts everything.
    SlowCanary(u32),
    /// Stays Created.
    NeverStart,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub group: (String, String),
    pub function: String,
    pub current: String,
    pub target: String,
    pub status: DeploymentStatus,
    pub steps_taken: u32,
    pub behaviour: Behaviour,
    pub error: Option<String>,
    /// Stopped by CodeDeploy on an alarm (ALARM_ACTIVE).
    pub alarm_stop: bool,
    pub description: String,
}

/// A call that fails `times` more times with `error`.
struct Fault {
    op: &'static str,
    subject: Option<String>,
    times: u32,
    error: DeployError,
    /// Applied first, then the answer is lost: the caller sees `error` anyway.
    after_applying: bool,
}

type Action = Box<dyn FnMut(&mut World) + Send>;

/// A change to the world after a call (`op`, on `subject` if given) succeeded.
struct Trigger {
    op: &'static str,
    subject: Option<String>,
    /// Matching calls still to pass before it fires.
    skip: u32,
    action: Action,
}

#[derive(Default)]
pub struct World {
    pub functions: BTreeMap<String, Function>,
    pub configs: BTreeSet<String>,
    pub groups: BTreeSet<(String, String)>,
    pub deployments: BTreeMap<String, Deployment>,
    pub behaviour: BTreeMap<String, Behaviour>,
    pub alarms: BTreeMap<String, AlarmState>,
    pub records: BTreeMap<String, ReleaseRecord>,
    pub lock: Option<LockInfo>,
    pub store: BTreeMap<String, crate::release::ZipBytes>,
    /// Deployment groups' safety wiring (absent: the settings' alarms, rollback on).
    pub group_views: BTreeMap<String, GroupView>,
    /// (principal, action) pairs IAM denies.
    pub denied: BTreeSet<(String, String)>,
    /// Alarms' metric names (absent: Errors).
    pub alarm_metrics: BTreeMap<String, String>,
    /// What `review` reads: state machines by ARN, log groups, dashboards' bodies,
    /// tables, roles, functions' resource policies.
    pub workflows: BTreeMap<String, WorkflowView>,
    pub log_groups: Vec<LogGroupView>,
    pub dashboards: BTreeMap<String, String>,
    pub tables: BTreeMap<String, TableView>,
    pub roles: BTreeMap<String, RoleView>,
    pub function_policies: BTreeMap<String, String>,
    /// The verdicts hooks logged, by deployment id.
    pub hook_verdicts: BTreeMap<String, HookVerdict>,
    /// What the pre-traffic hook logs when it fails a deployment (None: nothing).
    pub pre_traffic_verdict: Option<HookVerdict>,
    /// The release log's events: (group, stream, event).
    pub release_log: Vec<(String, String, ReleaseLogEvent)>,
    /// The routing record the workflow draws its release from.
    pub routing: Option<Routing>,
    /// Every routing record written, in order (the weights a release went through).
    pub routing_log: Vec<Routing>,
    /// Invocations CloudWatch counted: (function, version, at ms, error).
    pub invocations: Vec<(String, String, u64, bool)>,
    /// What a version serves in any window read, besides `invocations`: (function,
    /// version) -> (invocations, errors). The live callers on the old release.
    pub steady_traffic: BTreeMap<(String, String), (u32, u32)>,
    /// The workflow's executions: ARN -> (input, polls so far).
    pub executions: BTreeMap<String, (String, u32)>,
    /// Executions of the workflow fail (a release whose new versions error on replay).
    pub executions_fail: bool,
    /// The raw bucket's partitions (dates) and objects written to it.
    pub raw_dates: Vec<String>,
    /// Other buckets' objects: (bucket, key) -> body (the curated and quarantine output).
    pub objects: BTreeMap<(String, String), Vec<u8>>,
    /// What a dry run pinned to the new release writes when it finishes: (bucket, key,
    /// body), `{execution}` in a body replaced by the execution's name.
    pub shadow_output: Vec<(String, String, String)>,
    pub raw_objects: BTreeMap<String, Vec<u8>>,
    /// How long each function's state takes in a dry run, by (artifact, pinned to the
    /// new release); absent: 100 ms, give or take a few.
    pub state_ms: BTreeMap<(String, bool), u64>,
    /// Functions whose new version answers a dry run differently from the old.
    pub new_answers_differ: BTreeSet<String>,
    /// Alarms' state changes, as DescribeAlarmHistory gives them.
    pub alarm_changes: Vec<AlarmChange>,
    /// Every call, as `Op subject`.
    pub calls: Vec<String>,
    faults: Vec<Fault>,
    triggers: Vec<Trigger>,
}

#[derive(Clone, Default)]
pub struct MemoryCloud(Arc<Mutex<World>>);

impl MemoryCloud {
    pub fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A function whose alias `live` is on version 1 holding `sha`.
    pub fn add_function(&self, name: &str, sha: &str) {
        let code =
            Code { sha: sha.into(), config: FunctionConfig { memory_mb: Some(512), ..FunctionConfig::default() } };
        self.with(|w| {
            w.functions.insert(
                name.into(),
                Function {
                    latest: code.clone(),
                    latest_revision: 1,
                    updating: 0,
                    versions: [(1, code)].into(),
                    alias_version: "1".into(),
                    alias_extra: None,
                    alias_revision: 1,
                },
            )
        });
    }

    /// Makes `times` calls of `op` (on `subject`, if given) fail with `error`.
    pub fn fail(&self, op: &'static str, subject: Option<&str>, times: u32, error: DeployError) {
        self.with(|w| w.add_fault(op, subject, times, error));
    }

    /// Makes `times` calls of `op` (on `subject`, if given) take effect and then lose
    /// their answer, as a dropped connection after the request was applied does. (The
    /// SDK retries such a call as any transient failure, so the next attempt meets a
    /// world where the first one happened.)
    pub fn lose_reply(&self, op: &'static str, subject: Option<&str>, times: u32) {
        let error = DeployError::Unreachable {
            endpoint: "memory".into(),
            problem: format!("{op}: the connection closed before the answer (it was applied)"),
            fix: "injected by the test".into(),
        };
        self.with(|w| {
            w.faults.push(Fault { op, subject: subject.map(str::to_owned), times, error, after_applying: true })
        });
    }

    /// Runs `action` after the first successful `op` (on `subject`, if given).
    pub fn after(&self, op: &'static str, subject: Option<&str>, action: impl FnMut(&mut World) + Send + 'static) {
        self.after_nth(op, subject, 1, action);
    }

    /// Runs `action` after the `n`th successful `op` (on `subject`, if given).
    pub fn after_nth(
        &self,
        op: &'static str,
        subject: Option<&str>,
        n: u32,
        action: impl FnMut(&mut World) + Send + 'static,
    ) {
        let trigger =
            Trigger { op, subject: subject.map(str::to_owned), skip: n.saturating_sub(1), action: Box::new(action) };
        self.with(|w| w.triggers.push(trigger));
    }

    pub fn calls(&self, op: &str) -> usize {
        self.with(|w| w.calls.iter().filter(|c| c.split(' ').next() == Some(op)).count())
    }

    /// Each function's alias: (version, extra version and weight).
    pub fn aliases(&self) -> BTreeMap<String, (String, Option<(String, f64)>)> {
        self.with(|w| {
            w.functions.iter().map(|(n, f)| (n.clone(), (f.alias_version.clone(), f.alias_extra.clone()))).collect()
        })
    }

    /// The code the alias's primary version runs, per function.
    pub fn live_code(&self) -> BTreeMap<String, String> {
        self.with(|w| {
            w.functions
                .iter()
                .map(|(n, f)| {
                    let sha = match f.alias_version.parse::<u64>() {
                        Ok(v) => f.versions[&v].sha.clone(),
                        Err(_) => f.latest.sha.clone(),
                    };
                    (n.clone(), sha)
                })
                .collect()
        })
    }

    /// Records a call; fails it if a fault says so.
    fn call(&self, op: &'static str, subject: &str) -> Result<()> {
        self.with(|w| {
            w.calls.push(format!("{op} {subject}"));
            let fault = w.faults.iter_mut().find(|f| {
                f.op == op && !f.after_applying && f.times > 0 && f.subject.as_deref().is_none_or(|s| s == subject)
            });
            match fault {
                Some(f) => {
                    f.times -= 1;
                    Err(f.error.clone())
                }
                None => Ok(()),
            }
        })
    }

    /// Runs the triggers of a call that succeeded (each once).
    fn fire(&self, op: &'static str, subject: &str) {
        self.with(|w| {
            let mut due: Vec<Trigger> = Vec::new();
            let mut kept = Vec::new();
            for mut t in w.triggers.drain(..) {
                if t.op == op && t.subject.as_deref().is_none_or(|s| s == subject) {
                    if t.skip == 0 {
                        due.push(t);
                        continue;
                    }
                    t.skip -= 1;
                }
                kept.push(t);
            }
            w.triggers = kept;
            for mut t in due {
                (t.action)(w);
            }
        });
    }

    fn done<T>(&self, op: &'static str, subject: &str, value: Result<T>) -> Result<T> {
        if value.is_ok() {
            self.fire(op, subject);
            let lost = self.with(|w| {
                let fault = w.faults.iter_mut().find(|f| {
                    f.op == op && f.after_applying && f.times > 0 && f.subject.as_deref().is_none_or(|s| s == subject)
                });
                fault.map(|f| {
                    f.times -= 1;
                    f.error.clone()
                })
            });
            if let Some(error) = lost {
                return Err(error);
            }
        }
        value
    }
}

/// An AWS service error as the SDK adapter would map it.
pub fn service_error(call: &str, code: &str) -> DeployError {
    DeployError::Cloud {
        failure: Box::new(CloudFailure {
            call: call.into(),
            code: Some(code.into()),
            message: "injected".into(),
            ..Default::default()
        }),
        fix: "injected by the test".into(),
    }
}

fn not_found(what: &str) -> DeployError {
    DeployError::infrastructure(format!("{what} does not exist"), "create it")
}

impl World {
    /// Like [`MemoryCloud::fail`], from inside a trigger.
    pub fn add_fault(&mut self, op: &'static str, subject: Option<&str>, times: u32, error: DeployError) {
        self.faults.push(Fault { op, subject: subject.map(str::to_owned), times, error, after_applying: false });
    }

    fn function(&mut self, name: &str) -> Result<&mut Function> {
        self.functions.get_mut(name).ok_or_else(|| not_found(&format!("function {name}")))
    }

    /// Moves a deployment one step along its behaviour.
    fn step(&mut self, id: &str) {
        let Some(d) = self.deployments.get(id).cloned() else { return };
        if d.status.is_terminal() {
            return;
        }
        let (status, split, error) = match (d.behaviour, d.steps_taken) {
            (Behaviour::NeverStart, _) => (DeploymentStatus::Created, None, None),
            (_, 0) => (DeploymentStatus::InProgress, None, None),
            (Behaviour::FailPreTraffic, _) => {
                if let Some(verdict) = self.pre_traffic_verdict.clone() {
                    self.hook_verdicts.insert(id.to_owned(), verdict);
                }
                (DeploymentStatus::Failed, None, Some("BeforeAllowTraffic hook reported Failed".to_owned()))
            }
            (Behaviour::Hang, _) | (Behaviour::Succeed, 1) => (DeploymentStatus::InProgress, Some(0.1), None),
            (Behaviour::SlowCanary(polls), n) if n <= polls => (DeploymentStatus::InProgress, Some(0.1), None),
            (Behaviour::Succeed | Behaviour::SlowCanary(_), _) => (DeploymentStatus::Succeeded, None, None),
        };
        if let Some(f) = self.functions.get_mut(&d.function) {
            match (status, split) {
                (DeploymentStatus::InProgress, Some(w)) if f.alias_extra.is_none() => {
                    f.alias_extra = Some((d.target.clone(), w));
                    f.alias_revision += 1;
                }
                (DeploymentStatus::Succeeded, _) => {
                    f.alias_version.clone_from(&d.target);
                    f.alias_extra = None;
                    f.alias_revision += 1;
                }
                _ => {}
            }
        }
        if let Some(d) = self.deployments.get_mut(id) {
            d.status = status;
            d.error = error;
            d.steps_taken += 1;
        }
    }

    fn events(d: &Deployment) -> Vec<LifecycleEvent> {
        use LifecycleStep::{AfterAllowTraffic, AllowTraffic, BeforeAllowTraffic};
        let e = |step, status| LifecycleEvent { step, status };
        let (pre, shift, post) = match (d.status, d.behaviour, d.steps_taken) {
            (DeploymentStatus::Created, ..) => (StepStatus::Pending, StepStatus::Pending, StepStatus::Pending),
            (DeploymentStatus::Succeeded, ..) => (StepStatus::Succeeded, StepStatus::Succeeded, StepStatus::Succeeded),
            (DeploymentStatus::Failed, Behaviour::FailPreTraffic, _) => {
                (StepStatus::Failed, StepStatus::Skipped, StepStatus::Skipped)
            }
            (DeploymentStatus::Stopped | DeploymentStatus::Failed, ..) => {
                (StepStatus::Succeeded, StepStatus::Failed, StepStatus::Skipped)
            }
            (_, _, 1) => (StepStatus::InProgress, StepStatus::Pending, StepStatus::Pending),
            _ => (StepStatus::Succeeded, StepStatus::InProgress, StepStatus::Pending),
        };
        vec![e(BeforeAllowTraffic, pre), e(AllowTraffic, shift), e(AfterAllowTraffic, post)]
    }
}

impl Functions for MemoryCloud {
    async fn alias(&self, function: &str, _alias: &str) -> Result<AliasState> {
        self.call("GetAlias", function)?;
        self.with(|w| {
            let f = w.function(function)?;
            Ok(AliasState {
                version: f.alias_version.clone(),
                additional: f.alias_extra.clone(),
                revision_id: Some(f.alias_revision.to_string()),
            })
        })
    }

    async fn configuration(&self, function: &str, qualifier: Option<&str>) -> Result<FunctionState> {
        self.call("GetFunctionConfiguration", function)?;
        self.with(|w| {
            let f = w.function(function)?;
            let (code, version, update) = match qualifier.filter(|q| *q != "$LATEST") {
                Some(q) => {
                    let n: u64 = q.parse().map_err(|_| not_found(&format!("version {q}")))?;
                    let code = f.versions.get(&n).ok_or_else(|| not_found(&format!("{function}:{q}")))?;
                    (code.clone(), q.to_owned(), UpdateState::Successful)
                }
                None => {
                    let update = if f.updating > 0 {
                        f.updating -= 1;
                        UpdateState::InProgress
                    } else {
                        UpdateState::Successful
                    };
                    (f.latest.clone(), "$LATEST".into(), update)
                }
            };
            Ok(FunctionState {
                code_sha256: code.sha,
                revision_id: Some(f.latest_revision.to_string()),
                version,
                update,
                update_reason: None,
                config: code.config,
            })
        })
    }

    async fn update_code(
        &self,
        function: &str,
        zip: crate::release::ZipBytes,
        revision_id: Option<&str>,
    ) -> Result<()> {
        self.call("UpdateFunctionCode", function)?;
        let value = self.with(|w| {
            let f = w.function(function)?;
            if revision_id.is_some_and(|r| r != f.latest_revision.to_string()) {
                return Err(service_error("UpdateFunctionCode", "PreconditionFailedException"));
            }
            f.latest.sha = crate::release::code_sha256(&zip);
            f.latest_revision += 1;
            f.updating = 1;
            Ok(())
        });
        self.done("UpdateFunctionCode", function, value)
    }

    async fn publish(
        &self,
        function: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
        _description: &str,
    ) -> Result<Published> {
        self.call("PublishVersion", function)?;
        let value = self.with(|w| {
            let f = w.function(function)?;
            if f.latest.sha != code_sha256 || revision_id.is_some_and(|r| r != f.latest_revision.to_string()) {
                return Err(service_error("PublishVersion", "PreconditionFailedException"));
            }
            // Lambda publishes nothing new when $LATEST equals the newest version.
            let newest = f.versions.iter().next_back().map(|(n, c)| (*n, c.clone()));
            let version = match newest {
                Some((n, code)) if code == f.latest => n,
                other => {
                    let n = other.map_or(1, |(n, _)| n + 1);
                    f.versions.insert(n, f.latest.clone());
                    n
                }
            };
            Ok(Published { version: version.to_string(), code_sha256: f.latest.sha.clone() })
        });
        self.done("PublishVersion", function, value)
    }

    async fn point_alias(&self, function: &str, _alias: &str, version: &str, revision_id: Option<&str>) -> Result<()> {
        self.call("UpdateAlias", function)?;
        let value = self.with(|w| {
            let f = w.function(function)?;
            if revision_id.is_some_and(|r| r != f.alias_revision.to_string()) {
                return Err(service_error("UpdateAlias", "PreconditionFailedException"));
            }
            version.clone_into(&mut f.alias_version);
            f.alias_extra = None;
            f.alias_revision += 1;
            Ok(())
        });
        self.done("UpdateAlias", function, value)
    }

    async fn versions(&self, function: &str) -> Result<Vec<(u64, String)>> {
        self.call("ListVersionsByFunction", function)?;
        self.with(|w| Ok(w.function(function)?.versions.iter().map(|(n, c)| (*n, c.sha.clone())).collect()))
    }

    async fn delete_version(&self, function: &str, version: u64) -> Result<()> {
        self.call("DeleteFunction", function)?;
        self.with(|w| {
            w.function(function)?.versions.remove(&version);
            Ok(())
        })
    }
}

impl Deployments for MemoryCloud {
    async fn check_config(&self, name: &str) -> Result<()> {
        self.call("GetDeploymentConfig", name)?;
        self.with(|w| if w.configs.contains(name) { Ok(()) } else { Err(not_found(&format!("config {name}"))) })
    }

    async fn check_group(&self, application: &str, group: &str) -> Result<()> {
        self.call("GetDeploymentGroup", group)?;
        self.with(|w| {
            if w.groups.contains(&(application.to_owned(), group.to_owned())) {
                Ok(())
            } else {
                Err(not_found(&format!("deployment group {group}")))
            }
        })
    }

    async fn group(&self, application: &str, group: &str) -> Result<GroupView> {
        self.call("GetDeploymentGroup", group)?;
        self.with(|w| {
            if !w.groups.contains(&(application.to_owned(), group.to_owned())) {
                return Err(not_found(&format!("deployment group {group}")));
            }
            Ok(w.group_views.get(group).cloned().unwrap_or_else(|| GroupView {
                alarms: w.alarms.keys().filter(|a| a.starts_with(group)).cloned().collect(),
                alarms_enabled: true,
                ignore_poll_alarm_failure: false,
                rollback_enabled: true,
                rollback_events: vec!["DEPLOYMENT_FAILURE".into(), "DEPLOYMENT_STOP_ON_ALARM".into()],
            }))
        })
    }

    async fn create(&self, request: &DeploymentRequest) -> Result<String> {
        self.call("CreateDeployment", &request.function)?;
        let value = self.with(|w| {
            let group = (request.application.clone(), request.group.clone());
            if !w.groups.contains(&group) {
                return Err(not_found(&format!("deployment group {}", request.group)));
            }
            if w.deployments.values().any(|d| d.group == group && !d.status.is_terminal()) {
                return Err(DeployError::refused(
                    RefusalKind::ForeignDeployment,
                    "a deployment is in progress",
                    "wait",
                ));
            }
            let id = format!("d-{:09}", w.deployments.len() + 1);
            let behaviour = w.behaviour.get(&request.function).copied().unwrap_or(Behaviour::Succeed);
            let live = w.function(&request.function)?.alias_version.clone();
            let (status, error) = if live == request.current_version {
                (DeploymentStatus::Created, None)
            } else {
                (DeploymentStatus::Failed, Some(format!("the alias is on {live}, not {}", request.current_version)))
            };
            w.deployments.insert(
                id.clone(),
                Deployment {
                    group,
                    function: request.function.clone(),
                    current: request.current_version.clone(),
                    target: request.target_version.clone(),
                    status,
                    steps_taken: 0,
                    behaviour,
                    error,
                    alarm_stop: false,
                    description: request.description.clone(),
                },
            );
            Ok(id)
        });
        self.done("CreateDeployment", &request.function, value)
    }

    async fn get(&self, id: &str) -> Result<DeploymentView> {
        self.call("GetDeployment", id)?;
        let value = self.with(|w| {
            w.step(id);
            let d = w.deployments.get(id).ok_or_else(|| not_found(&format!("deployment {id}")))?;
            Ok(DeploymentView {
                status: d.status,
                error: d.error.clone(),
                alarm_stop: d.alarm_stop,
                description: Some(d.description.clone()),
            })
        });
        self.done("GetDeployment", id, value)
    }

    async fn lifecycle(&self, id: &str) -> Result<Vec<LifecycleEvent>> {
        self.call("GetDeploymentTarget", id)?;
        self.with(|w| {
            let d = w.deployments.get(id).ok_or_else(|| not_found(&format!("deployment {id}")))?;
            Ok(World::events(d))
        })
    }

    async fn stop(&self, id: &str) -> Result<Stop> {
        self.call("StopDeployment", id)?;
        let value = self.with(|w| {
            let d = w.deployments.get_mut(id).ok_or_else(|| not_found(&format!("deployment {id}")))?;
            if d.status.is_terminal() {
                return Ok(Stop::AlreadyFinished);
            }
            d.status = DeploymentStatus::Stopped;
            let (function, current) = (d.function.clone(), d.current.clone());
            // CodeDeploy's own rollback returns the alias to the current version.
            let f = w.function(&function)?;
            f.alias_version = current;
            f.alias_extra = None;
            f.alias_revision += 1;
            Ok(Stop::Stopped)
        });
        self.done("StopDeployment", id, value)
    }

    async fn in_flight(&self, application: &str, group: &str) -> Result<Vec<String>> {
        self.call("ListDeployments", group)?;
        self.with(|w| {
            Ok(w.deployments
                .iter()
                .filter(|(_, d)| d.group == (application.to_owned(), group.to_owned()) && !d.status.is_terminal())
                .map(|(id, _)| id.clone())
                .collect())
        })
    }
}

impl Alarms for MemoryCloud {
    async fn describe(&self, names: &[String]) -> Result<Vec<AlarmView>> {
        self.call("DescribeAlarms", "")?;
        self.with(|w| {
            names
                .iter()
                .map(|n| {
                    let state = *w.alarms.get(n).ok_or_else(|| not_found(&format!("alarm {n}")))?;
                    Ok(AlarmView {
                        name: n.clone(),
                        state,
                        reason: format!("{n} is {}", state.as_str()),
                        metric: Some(w.alarm_metrics.get(n).cloned().unwrap_or_else(|| "Errors".into())),
                        threshold: Some(1.0),
                        value: (state == AlarmState::Alarm).then_some(3.0),
                        function_dimension: None,
                    })
                })
                .collect()
        })
    }

    async fn alarm_history(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<Vec<AlarmChange>> {
        self.call("DescribeAlarmHistory", name)?;
        Ok(self.with(|w| {
            w.alarm_changes
                .iter()
                .filter(|c| c.alarm == name && (from_ms..=to_ms).contains(&c.at_ms))
                .cloned()
                .collect()
        }))
    }
}

impl Ledger for MemoryCloud {
    async fn put(&self, record: &ReleaseRecord) -> Result<()> {
        self.call("PutItem", &record.record_id)?;
        self.with(|w| w.records.insert(record.record_id.clone(), record.clone()));
        self.done("PutItem", &record.record_id, Ok(()))
    }

    async fn records(&self, limit: Option<usize>) -> Result<Vec<ReleaseRecord>> {
        self.call("Query", "")?;
        self.with(|w| Ok(w.records.values().rev().take(limit.unwrap_or(usize::MAX)).cloned().collect()))
    }

    async fn lock_info(&self) -> Result<Option<LockInfo>> {
        self.call("GetItem", "lock")?;
        self.with(|w| Ok(w.lock.clone()))
    }

    async fn try_lock(&self, holder: &str, ttl: Duration) -> Result<LockAttempt> {
        self.call("PutItem", "lock")?;
        let now_s = now_ms() / 1000;
        self.with(|w| match &w.lock {
            Some(l) if l.expires_s >= now_s && l.holder != holder => Ok(LockAttempt::Held(l.clone())),
            _ => {
                w.lock = Some(LockInfo {
                    holder: holder.into(),
                    since: rfc3339(now_ms()),
                    expires_s: now_s + ttl.as_secs(),
                });
                Ok(LockAttempt::Taken)
            }
        })
    }

    async fn renew(&self, holder: &str, ttl: Duration) -> Result<Renewal> {
        self.call("UpdateItem", "lock")?;
        let value = self.with(|w| match &mut w.lock {
            Some(l) if l.holder == holder => {
                l.expires_s = now_ms() / 1000 + ttl.as_secs();
                Ok(Renewal::Renewed)
            }
            _ => Ok(Renewal::Lost),
        });
        self.done("UpdateItem", "lock", value)
    }

    async fn put_routing(&self, routing: &Routing) -> Result<()> {
        self.call("PutItem", "routing")?;
        self.with(|w| {
            w.routing = Some(routing.clone());
            w.routing_log.push(routing.clone());
        });
        Ok(())
    }

    async fn clear_routing(&self) -> Result<()> {
        self.call("DeleteItem", "routing")?;
        self.with(|w| w.routing = None);
        Ok(())
    }

    async fn unlock(&self, holder: &str) -> Result<()> {
        self.call("DeleteItem", "lock")?;
        self.with(|w| {
            if w.lock.as_ref().is_some_and(|l| l.holder == holder) {
                w.lock = None;
            }
        });
        Ok(())
    }
}

impl Permissions for MemoryCloud {
    async fn simulate(
        &self,
        principal: &str,
        actions: &[String],
        resources: &[String],
        _context: &[(&str, &str)],
    ) -> Result<Vec<Decision>> {
        self.call("SimulatePrincipalPolicy", principal)?;
        Ok(self.with(|w| {
            let mut out = Vec::new();
            for action in actions {
                for resource in resources {
                    let allowed = !w.denied.contains(&(principal.to_owned(), action.clone()));
                    let decision = if allowed { "allowed" } else { "implicitDeny" };
                    out.push(Decision {
                        action: action.clone(),
                        resource: resource.clone(),
                        allowed,
                        decision: decision.into(),
                    });
                }
            }
            out
        }))
    }
}

impl HookLogs for MemoryCloud {
    async fn hook_verdict(&self, hook: &str, deployment_id: &str, _since_ms: u64) -> Result<Option<HookVerdict>> {
        self.call("FilterLogEvents", &crate::cloud::hook_log::log_group(hook))?;
        Ok(self.with(|w| w.hook_verdicts.get(deployment_id).filter(|v| v.hook == hook).cloned()))
    }
}

impl Inventory for MemoryCloud {
    async fn workflow(&self, arn: &str) -> Result<Option<WorkflowView>> {
        self.call("DescribeStateMachine", arn)?;
        Ok(self.with(|w| w.workflows.get(arn).cloned()))
    }

    async fn log_groups(&self, prefix: &str) -> Result<Vec<LogGroupView>> {
        self.call("DescribeLogGroups", prefix)?;
        Ok(self.with(|w| w.log_groups.iter().filter(|g| g.name.starts_with(prefix)).cloned().collect()))
    }

    async fn dashboard(&self, name: &str) -> Result<Option<String>> {
        self.call("GetDashboard", name)?;
        Ok(self.with(|w| w.dashboards.get(name).cloned()))
    }

    async fn table(&self, name: &str) -> Result<Option<TableView>> {
        self.call("DescribeTable", name)?;
        Ok(self.with(|w| w.tables.get(name).cloned()))
    }

    async fn role(&self, name: &str) -> Result<Option<RoleView>> {
        self.call("GetRole", name)?;
        Ok(self.with(|w| w.roles.get(name).cloned()))
    }

    async fn function_policy(&self, function: &str) -> Result<Option<String>> {
        self.call("GetPolicy", function)?;
        self.with(|w| {
            w.function(function)?;
            Ok(w.function_policies.get(function).cloned())
        })
    }
}

impl ReleaseLog for MemoryCloud {
    async fn append(&self, group: &str, stream: &str, event: &ReleaseLogEvent) -> Result<()> {
        self.call("PutLogEvents", group)?;
        self.with(|w| w.release_log.push((group.to_owned(), stream.to_owned(), event.clone())));
        Ok(())
    }
}

impl Metrics for MemoryCloud {
    /// The invocations counted (and the steady traffic, which has no time and so no
    /// minute), with fixed percentiles.
    async fn version_window(&self, function: &str, version: &str, from_ms: u64, to_ms: u64) -> Result<VersionWindow> {
        self.call("GetMetricData", function)?;
        let period = u64::from(PERIOD_S) * 1000;
        Ok(self.with(|w| {
            let seen: Vec<(u64, bool)> = w
                .invocations
                .iter()
                .filter(|(f, v, at, _)| f == function && v == version && (from_ms..=to_ms).contains(at))
                .map(|(_, _, at, error)| (*at, *error))
                .collect();
            let (steady, steady_errors) =
                w.steady_traffic.get(&(function.to_owned(), version.to_owned())).copied().unwrap_or_default();
            let invocations = seen.len() as f64 + f64::from(steady);
            let total = VersionStats {
                invocations,
                errors: seen.iter().filter(|(_, e)| *e).count() as f64 + f64::from(steady_errors),
                p50_ms: (invocations > 0.0).then_some(20.0),
                p99_ms: (invocations > 0.0).then_some(40.0),
            };
            let mut minutes: BTreeMap<u64, SeriesPoint> = BTreeMap::new();
            for (at, error) in seen {
                let start = at / period * period;
                let p = minutes.entry(start).or_insert(SeriesPoint {
                    at_ms: start,
                    p99_ms: Some(40.0),
                    ..SeriesPoint::default()
                });
                p.invocations += 1.0;
                p.errors += if error { 1.0 } else { 0.0 };
            }
            VersionWindow { total, minutes: minutes.into_values().collect() }
        }))
    }
}

impl Workflow for MemoryCloud {
    async fn start_execution(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<String> {
        self.call("StartExecution", name)?;
        let arn = format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1));
        self.with(|w| {
            w.executions.entry(arn.clone()).or_insert_with(|| (input.to_owned(), 0));
        });
        Ok(arn)
    }

    /// An execution finishes at its first poll; pinned to the new release, it has
    /// invoked the new version of every function but compensate (which runs only
    /// when a run fails).
    async fn execution_state(&self, execution_arn: &str) -> Result<ExecutionState> {
        self.call("DescribeExecution", execution_arn)?;
        self.with(|w| {
            let fail = w.executions_fail;
            let routing = w.routing.clone();
            let Some((input, polls)) = w.executions.get_mut(execution_arn) else {
                return Err(not_found(&format!("execution {execution_arn}")));
            };
            *polls += 1;
            let first = *polls == 1;
            let pinned_new = input.contains("\"pin\":\"new\"");
            let pinned_old = input.contains("\"pin\":\"old\"");
            // The old release does not fail: only the new versions error on replay.
            let fail = fail && !pinned_old;
            if first && (pinned_new || pinned_old) {
                if let Some(r) = routing {
                    let at = now_ms();
                    let side = if pinned_new { &r.new } else { &r.old };
                    for (artifact, version) in side.iter().filter(|(a, _)| a.as_str() != "compensate") {
                        let suffix = format!("-{artifact}");
                        let function = w.functions.keys().find(|f| f.ends_with(&suffix)).cloned();
                        if let Some(function) = function {
                            w.invocations.push((function, version.clone(), at, fail));
                        }
                    }
                }
            }
            if first && pinned_new && !fail {
                let name = execution_arn.rsplit(':').next().unwrap_or_default().to_owned();
                for (bucket, key, body) in w.shadow_output.clone() {
                    w.objects.insert((bucket, key), body.replace("{execution}", &name).into_bytes());
                }
            }
            Ok(if fail { ExecutionState::Failed } else { ExecutionState::Succeeded })
        })
    }

    /// A finished dry run's history: each function's state (named as the function, as
    /// `definition` says) in turn, taking `state_ms`, answering the same on both
    /// releases unless `new_answers_differ` names it.
    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>> {
        self.call("GetExecutionHistory", execution_arn)?;
        self.with(|w| {
            let Some((input, _)) = w.executions.get(execution_arn) else {
                return Err(not_found(&format!("execution {execution_arn}")));
            };
            let new = input.contains("\"pin\":\"new\"");
            let name = execution_arn.rsplit(':').next().unwrap_or_default();
            // A few milliseconds of spread per input, the same on both sides.
            let index: u64 = name.split('-').filter_map(|p| p.parse().ok()).next_back().unwrap_or(0);
            let mut at = now_ms();
            let mut events = Vec::new();
            for function in w.functions.keys().filter(|f| !f.ends_with("-compensate")) {
                let artifact = function.rsplit('-').next().unwrap_or_default().to_owned();
                let ms = w.state_ms.get(&(artifact.clone(), new)).copied().unwrap_or(100) + index * 7 % 13;
                let answer = if new && w.new_answers_differ.contains(&artifact) { "changed" } else { "same" };
                events.push(HistoryEvent { at_ms: at, kind: HistoryKind::Entered { state: function.clone() } });
                let output =
                    format!(r#"{{"ExecutedVersion":"1","Payload":{{"execution_id":"{name}","answer":"{answer}"}}}}"#);
                events.push(HistoryEvent { at_ms: at + ms, kind: HistoryKind::TaskSucceeded { output } });
                at += ms;
                events.push(HistoryEvent { at_ms: at, kind: HistoryKind::Exited { state: function.clone() } });
            }
            Ok(events)
        })
    }

    /// The `workflows` entry's definition, or one Task per function named as it.
    async fn definition(&self, state_machine_arn: &str) -> Result<String> {
        self.call("DescribeStateMachine", state_machine_arn)?;
        Ok(self.with(|w| match w.workflows.get(state_machine_arn) {
            Some(view) => view.definition.clone(),
            None => {
                let states: serde_json::Map<String, serde_json::Value> = w
                    .functions
                    .keys()
                    .map(|f| {
                        let task = serde_json::json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": f}});
                        (f.clone(), task)
                    })
                    .collect();
                serde_json::json!({"States": states}).to_string()
            }
        }))
    }

    async fn raw_partitions(&self, bucket: &str) -> Result<Vec<String>> {
        self.call("ListObjectsV2", bucket)?;
        Ok(self.with(|w| {
            let mut dates: Vec<String> = w
                .objects
                .keys()
                .filter(|(b, _)| b == bucket)
                .filter_map(|(_, k)| k.strip_prefix("dt=")?.split('/').next().map(str::to_owned))
                .collect();
            if bucket.ends_with("-raw") {
                dates.extend(w.raw_dates.iter().cloned());
            }
            dates.sort();
            dates.dedup();
            dates
        }))
    }

    async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        self.call("ListObjectsV2", bucket)?;
        Ok(self.with(|w| {
            w.objects.keys().filter(|(b, k)| b == bucket && k.starts_with(prefix)).map(|(_, k)| k.clone()).collect()
        }))
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.call("GetObject", key)?;
        Ok(self.with(|w| w.objects.get(&(bucket.to_owned(), key.to_owned())).cloned()))
    }

    async fn put_raw(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
        self.call("PutObject", bucket)?;
        self.with(|w| w.raw_objects.insert(key.to_owned(), body));
        Ok(())
    }
}

impl Pause for MemoryCloud {
    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

impl ArtifactStore for MemoryCloud {
    async fn exists(&self, key: &str) -> Result<bool> {
        self.call("HeadObject", key)?;
        Ok(self.with(|w| w.store.contains_key(key)))
    }

    async fn put(&self, key: &str, bytes: crate::release::ZipBytes) -> Result<()> {
        self.call("PutObject", key)?;
        self.with(|w| w.store.insert(key.to_owned(), bytes));
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<crate::release::ZipBytes> {
        self.call("GetObject", key)?;
        self.with(|w| w.store.get(key).cloned().ok_or_else(|| not_found(key)))
    }
}
