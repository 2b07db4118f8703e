//! The hooks' decisions end to end over in-memory fakes of every AWS trait: what each
//! hook checks, what makes it fail, and that it always reports to CodeDeploy.

// Helpers and fakes outside #[test] functions may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use hooks::appspec::{self, LambdaTarget};
use hooks::aws::{
    Alarms, AliasRouting, Aliases, AwsError, Deployments, ExecutionState, Executions, Invocation, LambdaMetric,
    Metrics, Reported, TargetError, VersionMetricQuery, Versions,
};
use hooks::checks::Services;
use hooks::config::{Config, ConfigError, FunctionChecks, Smoke};
use hooks::runtime::{run_hook, HookEvent, Outcome};
use hooks::{Hook, HookStatus};
use serde_json::json;

const FUNCTION: &str = "etl-dev-extract";
const SMOKE_ARN: &str = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev";

fn target() -> LambdaTarget {
    LambdaTarget {
        resource: "extract".into(),
        function_name: FUNCTION.into(),
        alias: "live".into(),
        current_version: "3".into(),
        target_version: "4".into(),
        traffic_since: Some(std::time::SystemTime::now() - Duration::from_secs(600)),
    }
}

struct FakeDeployments {
    target: Mutex<Option<Result<LambdaTarget, TargetError>>>,
    lookups: Mutex<usize>,
    reports: Mutex<Vec<(String, String, HookStatus)>>,
    /// The answers to the first reports, in order; then every report is accepted.
    report_answers: Mutex<VecDeque<Result<Reported, AwsError>>>,
}

impl Deployments for FakeDeployments {
    async fn target(&self, deployment_id: &str) -> Result<LambdaTarget, TargetError> {
        *self.lookups.lock().unwrap() += 1;
        let answer = self.target.lock().unwrap().clone().expect("a target");
        assert_eq!(deployment_id, "d-ABCDEFGHI");
        answer
    }

    async fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        status: HookStatus,
    ) -> Result<Reported, AwsError> {
        self.reports.lock().unwrap().push((deployment_id.into(), hook_execution_id.into(), status));
        self.report_answers.lock().unwrap().pop_front().unwrap_or(Ok(Reported::Accepted))
    }
}

/// Answers invokes in order: each after a delay, with an invocation or an error.
struct FakeVersions {
    answers: Mutex<VecDeque<(Duration, Result<Invocation, AwsError>)>>,
    calls: Mutex<Vec<(String, String, serde_json::Value)>>,
}

fn ok_invocation() -> Invocation {
    Invocation {
        status_code: 200,
        function_error: None,
        payload: b"{}".to_vec(),
        executed_version: Some("4".into()),
        answered_in: None,
    }
}

impl Versions for FakeVersions {
    async fn invoke(
        &self,
        function_name: &str,
        qualifier: &str,
        payload: Vec<u8>,
        limit: Duration,
    ) -> Result<Option<Invocation>, AwsError> {
        let event = serde_json::from_slice(&payload).expect("the payload is the event as JSON");
        self.calls.lock().unwrap().push((function_name.into(), qualifier.into(), event));
        let (delay, answer) = self.answers.lock().unwrap().pop_front().unwrap_or((Duration::ZERO, Ok(ok_invocation())));
        // One attempt: abandoned when it runs past the limit, as the SDK adapter does.
        match tokio::time::timeout(limit, tokio::time::sleep(delay)).await {
            Ok(()) => answer.map(Some),
            Err(_) => Ok(None),
        }
    }
}

struct FakeAliases(AliasRouting, Mutex<Vec<(String, String)>>);

impl Aliases for FakeAliases {
    async fn alias(&self, function_name: &str, alias: &str) -> Result<AliasRouting, AwsError> {
        self.1.lock().unwrap().push((function_name.into(), alias.into()));
        Ok(self.0.clone())
    }
}

/// The alarms' states, and the errors to answer first (one per call).
struct FakeAlarms(BTreeMap<String, String>, Mutex<usize>, Mutex<VecDeque<AwsError>>);

impl Alarms for FakeAlarms {
    async fn states(&self, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        *self.1.lock().unwrap() += 1;
        if let Some(err) = self.2.lock().unwrap().pop_front() {
            return Err(err);
        }
        Ok(self.0.iter().filter(|(n, _)| names.contains(n)).map(|(n, s)| (n.clone(), s.clone())).collect())
    }
}

/// The target version's Errors and Invocations, whatever the range.
struct FakeMetrics {
    errors: f64,
    invocations: f64,
    queries: Mutex<Vec<VersionMetricQuery>>,
}

impl Metrics for FakeMetrics {
    async fn version_sum(&self, query: &VersionMetricQuery) -> Result<f64, AwsError> {
        self.queries.lock().unwrap().push(query.clone());
        Ok(match query.metric {
            LambdaMetric::Errors => self.errors,
            LambdaMetric::Invocations => self.invocations,
        })
    }
}

impl FakeMetrics {
    fn query(&self, metric: LambdaMetric) -> VersionMetricQuery {
        let queries = self.queries.lock().unwrap();
        let mut of_metric = queries.iter().filter(|q| q.metric == metric);
        let query = of_metric.next().cloned().expect("the metric was read");
        assert!(of_metric.next().is_none(), "{metric:?} read once");
        query
    }
}

/// Answers DescribeExecution with the queued states, then the last one forever.
struct FakeExecutions {
    states: Mutex<VecDeque<ExecutionState>>,
    started: Mutex<Vec<(String, String, String)>>,
    /// Errors DescribeExecution answers first, one per call.
    describe_errors: Mutex<VecDeque<AwsError>>,
}

fn state(status: &str) -> ExecutionState {
    ExecutionState { status: status.into(), error: None, cause: None }
}

impl Executions for FakeExecutions {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<String, AwsError> {
        self.started.lock().unwrap().push((state_machine_arn.into(), name.into(), input.into()));
        Ok(hooks::aws::execution_arn(state_machine_arn, name))
    }

    async fn describe(&self, _execution_arn: &str) -> Result<ExecutionState, AwsError> {
        if let Some(err) = self.describe_errors.lock().unwrap().pop_front() {
            return Err(err);
        }
        let mut states = self.states.lock().unwrap();
        let next = if states.len() > 1 { states.pop_front() } else { states.front().cloned() };
        Ok(next.unwrap_or_else(|| state("SUCCEEDED")))
    }
}

/// A healthy deployment of etl-dev-extract 3 -> 4; tests break one thing each.
struct World {
    config: Result<Config, ConfigError>,
    deployments: FakeDeployments,
    versions: FakeVersions,
    aliases: FakeAliases,
    alarms: FakeAlarms,
    metrics: FakeMetrics,
    executions: FakeExecutions,
}

impl World {
    fn new() -> Self {
        let checks = FunctionChecks {
            events: vec![json!({"run_date": "2026-11-22", "dry_run": true}), json!({"run_date": "2026-11-23"})],
            max_duration: Duration::from_millis(500),
            alarm_names: vec!["etl-dev-extract-errors".into(), "etl-dev-workflow-failed".into()],
            max_errors: 0.0,
            error_window: Duration::from_secs(300),
            min_invocations: 20,
            evidence_required: true,
        };
        let smoke = Smoke {
            state_machine_arn: SMOKE_ARN.into(),
            input: r#"{"dry_run": true}"#.into(),
            timeout: Duration::from_millis(300),
            poll_interval: Duration::from_millis(5),
        };
        World {
            config: Ok(Config {
                checks: BTreeMap::from([(FUNCTION.to_owned(), checks)]),
                smoke: Some(smoke),
                warnings: Vec::new(),
            }),
            deployments: FakeDeployments {
                target: Mutex::new(Some(Ok(target()))),
                lookups: Mutex::new(0),
                reports: Mutex::new(Vec::new()),
                report_answers: Mutex::new(VecDeque::new()),
            },
            versions: FakeVersions { answers: Mutex::new(VecDeque::new()), calls: Mutex::new(Vec::new()) },
            aliases: FakeAliases(
                AliasRouting { version: "4".into(), additional_weights: BTreeMap::new() },
                Mutex::new(Vec::new()),
            ),
            alarms: FakeAlarms(
                BTreeMap::from([
                    ("etl-dev-extract-errors".to_owned(), "OK".to_owned()),
                    ("etl-dev-workflow-failed".to_owned(), "INSUFFICIENT_DATA".to_owned()),
                    ("unrelated".to_owned(), "ALARM".to_owned()),
                ]),
                Mutex::new(0),
                Mutex::new(VecDeque::new()),
            ),
            metrics: FakeMetrics { errors: 0.0, invocations: 100.0, queries: Mutex::new(Vec::new()) },
            executions: FakeExecutions {
                states: Mutex::new(VecDeque::from([state("RUNNING"), state("RUNNING"), state("SUCCEEDED")])),
                started: Mutex::new(Vec::new()),
                describe_errors: Mutex::new(VecDeque::new()),
            },
        }
    }

    fn checks(&mut self) -> &mut FunctionChecks {
        self.config.as_mut().unwrap().checks.get_mut(FUNCTION).unwrap()
    }

    async fn run(&self, hook: Hook) -> Result<Outcome, AwsError> {
        self.run_within(hook, Duration::from_secs(60)).await
    }

    async fn run_within(&self, hook: Hook, budget: Duration) -> Result<Outcome, AwsError> {
        let services = Services {
            deployments: &self.deployments,
            versions: &self.versions,
            aliases: &self.aliases,
            alarms: &self.alarms,
            metrics: &self.metrics,
            executions: &self.executions,
        };
        let event = HookEvent { deployment_id: "d-ABCDEFGHI".into(), hook_execution_id: "hook-exec-1".into() };
        run_hook(hook, &event, self.config.as_ref(), &services, budget).await
    }

    /// The one status reported to CodeDeploy.
    fn reported(&self) -> HookStatus {
        let reports = self.deployments.reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "exactly one report: {reports:?}");
        assert_eq!((reports[0].0.as_str(), reports[0].1.as_str()), ("d-ABCDEFGHI", "hook-exec-1"));
        reports[0].2
    }
}

fn failed_because(outcome: &Outcome, world: &World, needle: &str) {
    assert_eq!(outcome.status, "Failed", "{outcome:?}");
    assert_eq!(world.reported(), HookStatus::Failed);
    assert!(outcome.reason.contains(needle), "expected {needle:?} in: {}", outcome.reason);
}

// ---- pre-traffic ----

#[tokio::test]
async fn pre_traffic_invokes_the_target_version_with_each_event() {
    let world = World::new();
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!(world.reported(), HookStatus::Succeeded);
    assert_eq!((outcome.function.as_deref(), outcome.target_version.as_deref()), (Some(FUNCTION), Some("4")));
    let calls = world.versions.calls.lock().unwrap();
    assert_eq!(
        *calls,
        vec![
            (FUNCTION.to_owned(), "4".to_owned(), json!({"run_date": "2026-11-22", "dry_run": true})),
            (FUNCTION.to_owned(), "4".to_owned(), json!({"run_date": "2026-11-23"})),
        ]
    );
    assert_eq!(*world.aliases.1.lock().unwrap(), Vec::<(String, String)>::new(), "pre-traffic reads no alias");
}

#[tokio::test]
async fn pre_traffic_fails_on_a_function_error() {
    let world = World::new();
    world.versions.answers.lock().unwrap().extend([
        (Duration::ZERO, Ok(ok_invocation())),
        (
            Duration::ZERO,
            Ok(Invocation {
                status_code: 200,
                function_error: Some("Unhandled".into()),
                payload: br#"{"errorType":"InvalidInput","errorMessage":"run_date is missing"}"#.to_vec(),
                executed_version: Some("4".into()),
                answered_in: None,
            }),
        ),
    ]);
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    failed_because(
        &outcome,
        &world,
        "event 1: etl-dev-extract:4 failed (Unhandled function error): InvalidInput: run_date is missing",
    );
    assert!(!outcome.reason.contains("event 0"), "only the failure is the reason: {}", outcome.reason);
}

#[tokio::test]
async fn pre_traffic_fails_on_a_slow_invoke() {
    let mut world = World::new();
    world.checks().max_duration = Duration::from_millis(50);
    let slow = || (Duration::from_millis(400), Ok(ok_invocation()));
    world.versions.answers.lock().unwrap().extend([slow(), slow()]);
    let started = std::time::Instant::now();
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    failed_because(
        &outcome,
        &world,
        "event 0: etl-dev-extract:4 did not answer within max_duration_ms 50, and before that",
    );
    assert!(started.elapsed() < Duration::from_millis(350), "each slow invoke is abandoned at the limit");
    let calls = world.versions.calls.lock().unwrap();
    assert_eq!(calls.len(), 3, "the slow event twice, then the next event: {calls:?}");
    assert_eq!(calls[0].2, calls[1].2, "the same event again");
}

#[tokio::test]
async fn pre_traffic_passes_an_event_slow_once_and_quick_on_its_second_try() {
    let mut world = World::new();
    world.checks().max_duration = Duration::from_millis(50);
    world.versions.answers.lock().unwrap().push_back((Duration::from_millis(400), Ok(ok_invocation())));
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert!(
        outcome
            .reason
            .contains("on a second try (event 0: etl-dev-extract:4 did not answer within max_duration_ms 50)"),
        "{}",
        outcome.reason
    );
    assert_eq!(world.versions.calls.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn pre_traffic_does_not_try_a_function_error_again() {
    let world = World::new();
    let failed = Invocation { function_error: Some("Unhandled".into()), ..ok_invocation() };
    world.versions.answers.lock().unwrap().push_back((Duration::ZERO, Ok(failed)));
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    failed_because(&outcome, &world, "event 0: etl-dev-extract:4 failed (Unhandled function error)");
    assert_eq!(world.versions.calls.lock().unwrap().len(), 2, "each event once");
}

#[tokio::test]
async fn pre_traffic_fails_when_the_invoke_errors() {
    let world = World::new();
    world.versions.answers.lock().unwrap().push_back((
        Duration::ZERO,
        Err(AwsError::new("invoking etl-dev-extract:4", "ResourceNotFoundException: no version 4")),
    ));
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    failed_because(&outcome, &world, "ResourceNotFoundException");
}

#[tokio::test]
async fn pre_traffic_with_no_events_has_nothing_to_invoke_and_succeeds() {
    let mut world = World::new();
    world.checks().events.clear();
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded");
    assert_eq!(world.reported(), HookStatus::Succeeded);
    assert!(outcome.reason.contains("nothing to invoke"), "{}", outcome.reason);
    assert!(world.versions.calls.lock().unwrap().is_empty());
}

// ---- configuration and deployment errors: always reported as Failed ----

#[tokio::test]
async fn a_function_missing_from_hook_checks_fails_with_a_clear_reason() {
    let mut world = World::new();
    world.config.as_mut().unwrap().checks = BTreeMap::from([("etl-dev-load".to_owned(), world.checks().clone())]);
    for hook in [Hook::PreTraffic, Hook::PostTraffic] {
        world.deployments.reports.lock().unwrap().clear();
        let outcome = world.run(hook).await.unwrap();
        failed_because(&outcome, &world, "HOOK_CHECKS: has no entry for the function \"etl-dev-extract\"");
    }
    assert!(world.versions.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_invalid_configuration_is_reported_failed_without_reading_the_deployment() {
    let mut world = World::new();
    world.config = Config::from_lookup(Hook::PostTraffic, |name| (name == "HOOK_CHECKS").then(|| "{oops".to_owned()));
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "the hook's configuration is invalid: HOOK_CHECKS: is not valid JSON");
    assert_eq!(*world.deployments.lookups.lock().unwrap(), 0);
}

#[tokio::test]
async fn a_malformed_appspec_is_reported_failed() {
    let world = World::new();
    let broken = appspec::parse("version: 0.0\nResources:\n  - extract:\n      Type: AWS::Lambda::Function\n")
        .map(|spec| spec.target)
        .map_err(|source| TargetError::AppSpec { deployment_id: "d-ABCDEFGHI".into(), source });
    *world.deployments.target.lock().unwrap() = Some(broken);
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    failed_because(&outcome, &world, "deployment d-ABCDEFGHI: the AppSpec has no Properties of resource extract");
    assert_eq!(outcome.function, None);
}

#[tokio::test]
async fn a_yaml_appspec_drives_the_checks() {
    let world = World::new();
    let yaml = "version: 0.0\nResources:\n  - extract:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: etl-dev-extract\n        Alias: live\n        CurrentVersion: 3\n        TargetVersion: 4\nHooks:\n  - BeforeAllowTraffic: etl-dev-pre-traffic\n";
    *world.deployments.target.lock().unwrap() = Some(Ok(appspec::parse(yaml).unwrap().target));
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert!(world.versions.calls.lock().unwrap().iter().all(|(f, q, _)| f == FUNCTION && q == "4"));
}

#[tokio::test]
async fn a_failed_report_is_an_error_so_the_invoke_is_retried() {
    // A refusal is final at once (a throttled report is tried again: see below).
    let world = World::new();
    world.deployments.report_answers.lock().unwrap().push_back(Err(AwsError::new(
        "reporting",
        "AccessDeniedException: not authorized to perform codedeploy:PutLifecycleEventHookExecutionStatus",
    )));
    let err = world.run(Hook::PreTraffic).await.unwrap_err();
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
    assert!(err.to_string().contains("gave up after 1 call: a refusal is final"), "{err}");
    assert_eq!(world.reported(), HookStatus::Succeeded, "the verdict was still attempted");
}

// ---- the report rides through throttling and lost replies ----

fn throttled() -> Result<Reported, AwsError> {
    Err(AwsError::transient("reporting", "ThrottlingException: Rate exceeded (HTTP 400)"))
}

#[tokio::test]
async fn a_throttled_report_is_tried_again_until_codedeploy_takes_it() {
    let world = World::new();
    world.deployments.report_answers.lock().unwrap().extend([throttled(), throttled()]);
    let outcome = world.run(Hook::PreTraffic).await.unwrap();
    assert_eq!((outcome.status.as_str(), outcome.already_completed), ("Succeeded", false), "{outcome:?}");
    let reports = world.deployments.reports.lock().unwrap();
    assert_eq!(reports.len(), 3, "two throttled calls, then the accepted one: {reports:?}");
    assert!(reports.iter().all(|r| r == &("d-ABCDEFGHI".into(), "hook-exec-1".into(), HookStatus::Succeeded)));
}

#[tokio::test]
async fn a_report_whose_reply_was_lost_is_delivered_when_codedeploy_already_has_it() {
    // The first call was applied but its reply never arrived; the second finds the
    // hook execution answered, which counts as delivered.
    let world = World::new();
    world.deployments.report_answers.lock().unwrap().extend([
        Err(AwsError::transient(
            "reporting",
            "the answer could not be read: connection closed before message completed",
        )),
        Ok(Reported::AlreadyCompleted),
    ]);
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!((outcome.status.as_str(), outcome.already_completed), ("Succeeded", true), "{outcome:?}");
    assert_eq!(world.deployments.reports.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_report_throttled_until_the_deadline_nears_is_an_error() {
    let world = World::new();
    world.deployments.report_answers.lock().unwrap().extend((0..1000).map(|_| throttled()));
    let retry =
        hooks::report::ReportRetry { first_pause: Duration::from_millis(10), max_pause: Duration::from_millis(40) };
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_millis(300);
    let err = hooks::report::report_until(
        &world.deployments,
        "d-ABCDEFGHI",
        "hook-exec-1",
        HookStatus::Failed,
        deadline,
        retry,
    )
    .await
    .unwrap_err();
    let calls = world.deployments.reports.lock().unwrap().len();
    assert!(calls >= 3, "tried again while time remained: {calls} calls");
    assert!(err.transient && err.to_string().contains("ThrottlingException"), "{err}");
    assert!(err.to_string().contains(&format!("gave up after {calls} calls: the hook's deadline was near")), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "it stops at the deadline, not later");
    assert!(tokio::time::Instant::now() <= deadline + Duration::from_millis(200), "no pause runs past the deadline");
}

#[tokio::test]
async fn running_out_of_lambda_time_is_reported_failed() {
    let mut world = World::new();
    world.checks().max_duration = Duration::from_secs(10);
    world.versions.answers.lock().unwrap().push_back((Duration::from_secs(5), Ok(ok_invocation())));
    let outcome = world.run_within(Hook::PreTraffic, Duration::from_millis(50)).await.unwrap();
    failed_because(&outcome, &world, "did not finish before the hook's own Lambda timeout");
}

#[test]
fn the_budget_keeps_time_to_report() {
    let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
    assert_eq!(hooks::runtime::budget(now + Duration::from_secs(65), now), Duration::from_secs(60));
    assert_eq!(hooks::runtime::budget(now + Duration::from_secs(2), now), Duration::ZERO);
    assert_eq!(hooks::runtime::budget(now - Duration::from_secs(2), now), Duration::ZERO);
    assert_eq!(hooks::runtime::budget(std::time::SystemTime::UNIX_EPOCH, now), Duration::from_secs(895), "no deadline");
}

// ---- post-traffic ----

#[tokio::test]
async fn post_traffic_passes_when_alias_alarms_errors_and_smoke_are_good() {
    let world = World::new();
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!(world.reported(), HookStatus::Succeeded);
    assert_eq!(*world.aliases.1.lock().unwrap(), vec![(FUNCTION.to_owned(), "live".to_owned())]);

    let query = world.metrics.query(LambdaMetric::Errors);
    assert_eq!(
        (query.function_name.as_str(), query.alias.as_str(), query.version.as_str(), query.period_seconds),
        (FUNCTION, "live", "4", 300)
    );
    assert_eq!(query.end.duration_since(query.start).unwrap(), Duration::from_secs(300));
    let evidence = world.metrics.query(LambdaMetric::Invocations);
    assert_eq!(Some(evidence.start), target().traffic_since.map(|_| evidence.start), "counted from traffic");
    assert!(outcome.reason.contains("served 100 invocations since traffic reached it"), "{}", outcome.reason);

    let started = world.executions.started.lock().unwrap();
    assert_eq!(
        *started,
        vec![(SMOKE_ARN.to_owned(), "hook-smoke-d-ABCDEFGHI".to_owned(), r#"{"dry_run": true}"#.to_owned())]
    );
    assert!(outcome.reason.contains("SUCCEEDED"), "{}", outcome.reason);
}

#[tokio::test]
async fn post_traffic_fails_while_the_alias_is_still_split() {
    let mut world = World::new();
    world.aliases.0.additional_weights.insert("3".into(), 0.1);
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "alias etl-dev-extract:live still routes 10.0% to version 3");
    assert!(world.executions.started.lock().unwrap().is_empty(), "no smoke run after a failed check");
    assert!(outcome.reason.contains("skipped: smoke execution: earlier checks failed"), "{}", outcome.reason);
}

#[tokio::test]
async fn post_traffic_accepts_a_zero_weight_and_fails_on_the_old_version() {
    let mut world = World::new();
    world.aliases.0.additional_weights.insert("3".into(), 0.0);
    assert_eq!(world.run(Hook::PostTraffic).await.unwrap().status, "Succeeded");

    let mut world = World::new();
    world.aliases.0.version = "3".into();
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "points at version 3, not the target version 4");
}

#[tokio::test]
async fn post_traffic_fails_on_an_alarm_in_alarm() {
    let mut world = World::new();
    world.alarms.0.insert("etl-dev-extract-errors".into(), "ALARM".into());
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "alarm etl-dev-extract-errors is in ALARM");
}

#[tokio::test]
async fn post_traffic_fails_on_a_missing_alarm() {
    let mut world = World::new();
    world.checks().alarm_names.push("etl-dev-typo".into());
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "alarm etl-dev-typo does not exist");
}

#[tokio::test]
async fn post_traffic_asks_no_alarms_when_none_are_named() {
    let mut world = World::new();
    world.checks().alarm_names.clear();
    assert_eq!(world.run(Hook::PostTraffic).await.unwrap().status, "Succeeded");
    assert_eq!(*world.alarms.1.lock().unwrap(), 0, "DescribeAlarms without names would list every alarm");
}

#[tokio::test]
async fn post_traffic_fails_on_too_many_errors() {
    let mut world = World::new();
    world.checks().max_errors = 2.0;
    world.checks().error_window = Duration::from_secs(90);
    world.metrics.errors = 3.0;
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "etl-dev-extract version 4 reported 3 errors in the last 90 s (max_errors 2)");
    assert_eq!(world.metrics.query(LambdaMetric::Errors).period_seconds, 120, "90 s rounds up to two minutes");

    let mut world = World::new();
    world.checks().max_errors = 3.0;
    world.metrics.errors = 3.0;
    assert_eq!(world.run(Hook::PostTraffic).await.unwrap().status, "Succeeded", "at most max_errors is fine");
}

#[tokio::test]
async fn post_traffic_fails_when_the_smoke_execution_fails() {
    let world = World::new();
    *world.executions.states.lock().unwrap() = VecDeque::from([
        state("RUNNING"),
        ExecutionState {
            status: "FAILED".into(),
            error: Some("States.TaskFailed".into()),
            cause: Some("load: access denied".into()),
        },
    ]);
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(
        &outcome,
        &world,
        "smoke execution arn:aws:states:us-east-1:111111111111:execution:etl-dev:hook-smoke-d-ABCDEFGHI ended FAILED (States.TaskFailed: load: access denied)",
    );
}

#[tokio::test]
async fn post_traffic_fails_when_the_smoke_execution_outlives_its_timeout() {
    let world = World::new();
    *world.executions.states.lock().unwrap() = VecDeque::from([state("RUNNING")]);
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "is still RUNNING after SMOKE_TIMEOUT_SECONDS");
}

#[tokio::test]
async fn post_traffic_without_a_smoke_state_machine_skips_it() {
    let mut world = World::new();
    world.config.as_mut().unwrap().smoke = None;
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded");
    assert!(world.executions.started.lock().unwrap().is_empty());
    assert!(outcome.reason.contains("SMOKE_STATE_MACHINE_ARN is not set"), "{}", outcome.reason);
}

#[tokio::test]
async fn post_traffic_reports_every_failed_check() {
    let mut world = World::new();
    world.aliases.0.version = "3".into();
    world.alarms.0.insert("etl-dev-workflow-failed".into(), "ALARM".into());
    world.metrics.errors = 1.0;
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Failed");
    for needle in ["not the target version", "is in ALARM", "reported 1 errors"] {
        assert!(outcome.reason.contains(needle), "{needle}: {}", outcome.reason);
    }
}

// ---- evidence ----

#[tokio::test]
async fn post_traffic_fails_on_too_few_invocations_where_evidence_is_required() {
    let mut world = World::new();
    world.metrics.invocations = 5.0;
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(
        &outcome,
        &world,
        "no evidence: etl-dev-extract version 4 served 5 invocations since traffic reached it (min_invocations 20)",
    );
    let query = world.metrics.query(LambdaMetric::Invocations);
    let since = target().traffic_since.unwrap();
    assert!(
        query.start.duration_since(since).unwrap_or_default() < Duration::from_secs(5),
        "counted from the end of BeforeAllowTraffic"
    );
    assert_eq!(query.period_seconds, 600, "the whole span in one period");
}

#[tokio::test]
async fn post_traffic_passes_thin_evidence_with_a_warning_where_it_is_not_required() {
    let mut world = World::new();
    world.checks().evidence_required = false;
    world.metrics.invocations = 5.0;
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert!(outcome.reason.contains("thin evidence, not required here"), "{}", outcome.reason);
}

#[tokio::test]
async fn post_traffic_counts_no_invocations_without_a_minimum() {
    let mut world = World::new();
    world.checks().min_invocations = 0;
    world.metrics.invocations = 0.0;
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert!(world.metrics.queries.lock().unwrap().iter().all(|q| q.metric == LambdaMetric::Errors));
}

#[tokio::test]
async fn without_the_lifecycle_times_evidence_is_counted_over_the_error_window() {
    let mut world = World::new();
    let mut untimed = target();
    untimed.traffic_since = None;
    world.deployments.target = Mutex::new(Some(Ok(untimed)));
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    let query = world.metrics.query(LambdaMetric::Invocations);
    assert_eq!(query.end.duration_since(query.start).unwrap(), Duration::from_secs(300));
    assert!(outcome.reason.contains("in the last 300 s"), "{}", outcome.reason);
}

#[test]
fn a_version_is_counted_through_the_alias_and_through_its_own_arn() {
    let query = VersionMetricQuery {
        metric: LambdaMetric::Invocations,
        function_name: FUNCTION.into(),
        alias: "live".into(),
        version: "4".into(),
        start: std::time::SystemTime::UNIX_EPOCH,
        end: std::time::SystemTime::UNIX_EPOCH,
        period_seconds: 60,
    };
    let sets = query.dimension_sets();
    let owned = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect::<Vec<_>>();
    assert_eq!(
        sets[0],
        owned(&[("FunctionName", FUNCTION), ("Resource", "etl-dev-extract:live"), ("ExecutedVersion", "4")])
    );
    assert_eq!(sets[1], owned(&[("FunctionName", FUNCTION), ("Resource", "etl-dev-extract:4")]));
}

fn rate_exceeded() -> AwsError {
    AwsError::transient("DescribeAlarms", "ThrottlingException: Rate exceeded (HTTP 400)")
}

#[tokio::test(start_paused = true)]
async fn post_traffic_rides_through_faults_that_outlast_the_sdks_attempts() {
    let mut world = World::new();
    world.config.as_mut().unwrap().smoke.as_mut().unwrap().timeout = Duration::from_secs(60);
    world.alarms.2.lock().unwrap().extend([rate_exceeded(), rate_exceeded()]);
    let dropped = AwsError::transient("DescribeExecution", "the connection was dropped before an answer");
    world.executions.describe_errors.lock().unwrap().extend([dropped.clone(), dropped.clone(), dropped]);
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!(world.reported(), HookStatus::Succeeded);
    assert_eq!(*world.alarms.1.lock().unwrap(), 3, "the alarms were read a third time");
    assert!(world.executions.describe_errors.lock().unwrap().is_empty(), "every failed poll was polled again");
}

#[tokio::test(start_paused = true)]
async fn post_traffic_fails_on_a_fault_that_outlasts_every_call_again() {
    let world = World::new();
    world.alarms.2.lock().unwrap().extend((0..=hooks::checks::CALL_AGAIN).map(|_| rate_exceeded()));
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "DescribeAlarms: ThrottlingException: Rate exceeded");
    assert_eq!(*world.alarms.1.lock().unwrap() as u32, hooks::checks::CALL_AGAIN + 1, "the first call and each again");
}

#[tokio::test(start_paused = true)]
async fn post_traffic_fails_at_once_on_a_refusal() {
    let world = World::new();
    let denied = AwsError::new("DescribeAlarms", "AccessDenied: not authorized to perform cloudwatch:DescribeAlarms");
    world.alarms.2.lock().unwrap().push_back(denied);
    let outcome = world.run(Hook::PostTraffic).await.unwrap();
    failed_because(&outcome, &world, "AccessDenied");
    assert_eq!(*world.alarms.1.lock().unwrap(), 1, "a refusal is not asked again");
}

#[tokio::test]
async fn pre_traffic_does_not_try_a_slow_event_again_past_its_deadline() {
    let mut world = World::new();
    world.checks().max_duration = Duration::from_millis(50);
    let slow = (Duration::from_millis(400), Ok(ok_invocation()));
    world.versions.answers.lock().unwrap().push_back(slow);
    let outcome = world.run_within(Hook::PreTraffic, Duration::from_millis(80)).await.unwrap();
    failed_because(&outcome, &world, "event 0: etl-dev-extract:4 did not answer within max_duration_ms 50");
    assert!(!outcome.reason.contains("and before that"), "{}", outcome.reason);
    let calls = world.versions.calls.lock().unwrap();
    assert_eq!(calls.len(), 2, "event 0 once (no time for another), then event 1: {calls:?}");
}
