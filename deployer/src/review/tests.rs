//! The review over the in-memory cloud and a repository written for each test: a
//! well-architected environment ticks every item, each with its evidence; taking one
//! piece of evidence away unticks exactly the item it backs, which then says what is
//! missing and what would meet it. The real repository's files pass their checks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::repository::RepositoryFacts;
use super::*;
use crate::cloud::memory::{service_error, MemoryCloud};
use crate::cloud::{AlarmState, FunctionConfig, GroupView, LogGroupView, RoleView, TableView, WorkflowView};
use crate::ledger::{RecordKind, ReleaseRecord, Status};
use crate::release::FUNCTIONS;
use crate::settings::Settings;

const ACCOUNTS: [(&str, &str); 3] = [("dev", "111111111111"), ("test", "222222222222"), ("prod", "333333333333")];

/// An environment's deployer.yaml: dev deploys all at once; test and prod take
/// promotions with a canary.
fn settings_yaml(env: &str, account: &str) -> String {
    let (config, chain) = match env {
        "dev" => ("CodeDeployDefault.LambdaAllAtOnce", String::new()),
        "test" => ("CodeDeployDefault.LambdaCanary10Percent5Minutes", "promotes_from: dev\n".into()),
        _ => ("CodeDeployDefault.LambdaCanary10Percent5Minutes", "promotes_from: test\n".into()),
    };
    let functions: String = FUNCTIONS
        .iter()
        .map(|f| {
            format!(
                "  {f}: {{function_name: etl-{env}-{f}, alarms: [etl-{env}-{f}-errors, etl-{env}-{f}-throttles, etl-{env}-{f}-p99-duration]}}\n"
            )
        })
        .collect();
    format!(
        "environment: {env}\naccount_id: \"{account}\"\nregion: us-east-1\ndeploy_role: deployer\n{chain}\
         application: etl-{env}\ndeployment_config: {config}\n\
         hooks: {{pre_traffic: etl-{env}-pre-traffic, post_traffic: etl-{env}-post-traffic}}\n\
         release_table: etl-{env}-releases\nartifact_bucket: artifacts\nfunctions:\n{functions}"
    )
}

const RELEASE_YML: &str = r#"
name: release
jobs:
  package:
    steps:
      - run: pipelines/scripts/package.sh
  deploy-dev:
    needs: package
    environment: dev
    steps:
      - run: pipelines/scripts/deploy.sh dev
  promote-test:
    needs: deploy-dev
    environment: test
    steps:
      - run: pipelines/scripts/promote.sh test
  promote-prod:
    needs: promote-test
    environment: prod
    steps:
      - run: pipelines/scripts/promote.sh prod
"#;

const PULL_REQUEST_YML: &str = r#"
name: pull request
jobs:
  test:
    steps:
      - run: .ci/run
  dependencies:
    steps:
      - run: pipelines/scripts/dependencies.sh
"#;

/// A repository that meets every check.
fn files() -> Vec<(&'static str, String)> {
    vec![
        (repository::RELEASE_WORKFLOW, RELEASE_YML.into()),
        (repository::PULL_REQUEST_WORKFLOW, PULL_REQUEST_YML.into()),
        (repository::DENY, "[advisories]\n[licenses]\nallow = [\"MIT\"]\n[bans]\n[sources]\n".into()),
        (repository::TEST_SCRIPT, "cargo-deny --locked check licenses bans sources\n".into()),
        (repository::DEPENDENCY_SCRIPT, "cargo-deny --locked check advisories licenses bans sources\n".into()),
        (repository::OBSERVABILITY, "fmt().json().with_current_span(true); \"CloudWatchMetrics\" \"ETL\"".into()),
        (repository::RUNTIME, "fn decode() { InvalidInput } trace_id = xray_trace_id".into()),
        (repository::TRANSFORM, "fn transform<R: BufRead>() { quarantine }".into()),
        (repository::TRANSFORM_BENCH, "use criterion::Criterion;".into()),
        (
            repository::ETL_MODULE,
            "aws_cloudwatch_metric_alarm alarm_actions expire-staged-output noncurrent_version_expiration".into(),
        ),
        (repository::DASHBOARD_MODULE, "resource \"aws_cloudwatch_dashboard\" \"this\" {}".into()),
    ]
}

/// A fresh folder under the target directory's temp space.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "deployer-review-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a repository with `files` and the three environments.
fn repository_with(files: &[(&str, String)]) -> PathBuf {
    let root = scratch("repo");
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    for (env, account) in ACCOUNTS {
        let dir = root.join("environments").join(env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("deployer.yaml"), settings_yaml(env, account)).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            "module \"workload\" { source = \"../../terraform/modules/workload-account\" }\n",
        )
        .unwrap();
    }
    root
}

/// The workflow as the etl-workflow module defines it, for `s`'s functions.
fn definition(s: &Settings) -> String {
    let template = include_str!("../../../terraform/modules/etl-workflow/state-machine.asl.json");
    let mut text = template
        .replace("${max_concurrency}", "10")
        .replace("${release_table}", &format!("{}-releases", s.application));
    for f in &s.functions {
        let function_arn = format!("arn:aws:lambda:{}:{}:function:{}", s.region, s.account_id, f.function_name);
        text = text.replace(&format!("${{{}}}", f.artifact), &function_arn);
    }
    text
}

fn function_policy(s: &Settings, step: &str) -> String {
    let table = format!("arn:aws:dynamodb:{}:{}:table/{}-runs", s.region, s.account_id, s.application);
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": format!("arn:aws:logs:{}:{}:log-group:/aws/lambda/{}-{step}:*", s.region, s.account_id, s.application)},
        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": table}
    ]})
    .to_string()
}

fn dashboard_body(s: &Settings) -> String {
    let machine = names::Workload::of(s).state_machine_arn();
    let mut widgets = vec![
        serde_json::json!({"type": "metric", "properties": {"title": "Records curated and quarantined", "metrics": [
            ["ETL", "RecordsOut", "Function", "load"], [".", "RecordsQuarantined", ".", "."]]}}),
        serde_json::json!({"type": "metric", "properties": {"title": "Runs", "metrics": [
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", machine], [".", "ExecutionsFailed", ".", "."]]}}),
        serde_json::json!({"type": "metric", "properties": {"title": "Run duration", "metrics": [
            ["AWS/States", "ExecutionTime", "StateMachineArn", machine]]}}),
        serde_json::json!({"type": "log", "properties": {"title": "Current release",
            "query": format!("SOURCE '{}' | fields release_id, status | sort @timestamp desc | limit 1", names::Workload::of(s).release_log())}}),
    ];
    for f in &s.functions {
        for metric in ["Errors", "Duration"] {
            widgets.push(serde_json::json!({"type": "metric", "properties": {"title": format!("{} {metric} by version", f.artifact),
                "metrics": [[{"expression": format!(
                    "SEARCH('{{AWS/Lambda,FunctionName,Resource,ExecutedVersion}} MetricName=\"{metric}\" FunctionName=\"{}\"', 'Sum', 300)",
                    f.function_name)}]]}}));
        }
    }
    serde_json::json!({"widgets": widgets}).to_string()
}

/// An account that meets every practice for `s`.
fn world(s: &Settings) -> MemoryCloud {
    let cloud = MemoryCloud::default();
    for f in &s.functions {
        cloud.add_function(&f.function_name, "sha");
    }
    cloud.add_function(&s.hooks.pre_traffic, "hook");
    cloud.add_function(&s.hooks.post_traffic, "hook");
    let names = names::Workload::of(s);
    let account = &s.account_id;
    cloud.with(|w| {
        w.configs.insert(s.deployment_config.clone());
        for f in &s.functions {
            w.groups.insert((s.application.clone(), f.deployment_group.clone()));
            w.group_views.insert(
                f.deployment_group.clone(),
                GroupView {
                    alarms: f.alarms.clone(),
                    alarms_enabled: true,
                    ignore_poll_alarm_failure: false,
                    rollback_enabled: true,
                    rollback_events: vec!["DEPLOYMENT_FAILURE".into(), "DEPLOYMENT_STOP_ON_ALARM".into()],
                },
            );
            for a in &f.alarms {
                w.alarms.insert(a.clone(), AlarmState::Ok);
                let metric = if a.ends_with("throttles") {
                    "Throttles"
                } else if a.ends_with("duration") {
                    "Duration"
                } else {
                    "Errors"
                };
                w.alarm_metrics.insert(a.clone(), metric.into());
            }
            let role = names::Workload::function_role(&f.function_name);
            let config = FunctionConfig {
                memory_mb: Some(if f.artifact == "transform" { 1024 } else { 256 }),
                timeout_s: Some(300),
                runtime: Some("provided.al2023".into()),
                role: Some(format!("arn:aws:iam::{account}:role/{role}")),
                architectures: vec!["arm64".into()],
                environment: [
                    ("LOG_LEVEL", "info"),
                    ("LEDGER_TABLE", &names.run_ledger()),
                    ("BATCH_MAX_BYTES", "67108864"),
                    ("QUARANTINE_BUCKET", "quarantine"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
                tracing: Some("Active".into()),
                ..FunctionConfig::default()
            };
            let function = w.functions.get_mut(&f.function_name).unwrap();
            function.latest.config = config;
            w.roles.insert(
                role.clone(),
                RoleView {
                    name: role.clone(),
                    arn: format!("arn:aws:iam::{account}:role/{role}"),
                    trust_policy: r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
                    inline_policies: vec![(format!("etl-{}", f.artifact), function_policy(s, &f.artifact))],
                    attached_policies: Vec::new(),
                },
            );
            w.log_groups.push(LogGroupView {
                name: names::Workload::function_log_group(&f.function_name),
                retention_days: Some(365),
                kms_key: Some("key".into()),
            });
        }
        w.log_groups.push(LogGroupView {
            name: names.state_machine_log_group(),
            retention_days: Some(365),
            kms_key: Some("key".into()),
        });
        let machine_role = names.state_machine_role();
        w.workflows.insert(
            names.state_machine_arn(),
            WorkflowView {
                arn: names.state_machine_arn(),
                definition: definition(s),
                role_arn: format!("arn:aws:iam::{account}:role/{machine_role}"),
                tracing: true,
                logging_level: Some("ERROR".into()),
            },
        );
        // As etl-workflow grants it: every qualified ARN of each function.
        let aliases: Vec<String> = s
            .functions
            .iter()
            .map(|f| format!("arn:aws:lambda:{}:{}:function:{}:*", s.region, s.account_id, f.function_name))
            .collect();
        w.roles.insert(
            machine_role.clone(),
            RoleView {
                name: machine_role.clone(),
                arn: format!("arn:aws:iam::{account}:role/{machine_role}"),
                trust_policy: r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
                inline_policies: vec![(
                    "etl-state-machine".into(),
                    serde_json::json!({"Statement": [
                        {"Sid": "InvokeLiveAliases", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": aliases},
                        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}]})
                    .to_string(),
                )],
                attached_policies: Vec::new(),
            },
        );
        let env = &s.environment;
        w.roles.insert(
            "deployer".into(),
            RoleView {
                name: "deployer".into(),
                arn: format!("arn:aws:iam::{account}:role/deployer"),
                trust_policy: serde_json::json!({"Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444444444444:role/etl-release-promote-prod"]}, "Action": "sts:AssumeRole"},
                    {"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")},
                     "Action": "sts:AssumeRoleWithWebIdentity",
                     "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                                    "token.actions.githubusercontent.com:sub": format!("repo:acme/etl:environment:{env}")}}}]})
                .to_string(),
                inline_policies: Vec::new(),
                attached_policies: Vec::new(),
            },
        );
        w.dashboards.insert(names.dashboard(), dashboard_body(s));
        w.tables.insert(
            names.run_ledger(),
            TableView { name: names.run_ledger(), hash_key: Some("run_id".into()), kms_encrypted: true, on_demand: true },
        );
        let mut record = ReleaseRecord::start("r-0123456789ab", "c0ffee", env, RecordKind::Promote, "me", 1_700_000_000_000);
        record.source_environment = s.promotes_from.clone();
        record.status = Status::Succeeded;
        w.records.insert(record.record_id.clone(), record);
    });
    cloud
}

/// One environment's review: its settings, account and repository.
struct Case {
    root: PathBuf,
    settings: Settings,
    cloud: MemoryCloud,
}

impl Case {
    fn new(env: &str) -> Self {
        Self::with_files(env, &files())
    }

    fn with_files(env: &str, files: &[(&str, String)]) -> Self {
        let root = repository_with(files);
        let settings = Settings::load(&root.join("environments"), env, false).unwrap();
        let cloud = world(&settings);
        Self { root, settings, cloud }
    }

    fn review(&self) -> Review {
        let repo = RepositoryFacts::read(&self.root, &self.root.join("environments"));
        tokio_test_block(review(&self.settings, &self.cloud, &repo, "c0ffee"))
    }

    /// The review with `change` applied to the account first.
    fn review_after(&self, change: impl FnOnce(&mut crate::cloud::memory::World)) -> Review {
        self.cloud.with(change);
        self.review()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn tokio_test_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// The ids of the items not ticked.
fn unticked(review: &Review) -> Vec<&'static str> {
    review.items().filter(|(_, i)| !i.ticked).map(|(_, i)| i.id).collect()
}

fn item<'r>(review: &'r Review, id: &str) -> &'r Item {
    review.item(id).unwrap_or_else(|| panic!("no item {id}"))
}

/// The item's evidence as `source subject: detail` lines.
fn evidence(item: &Item) -> String {
    item.evidence.iter().map(|e| format!("{} {}: {}\n", e.source.as_str(), e.subject, e.detail)).collect()
}

#[test]
fn a_well_architected_environment_ticks_every_item_on_its_evidence() {
    let case = Case::new("prod");
    let review = case.review();
    assert_eq!(unticked(&review), Vec::<&str>::new(), "{:#?}", review);
    let ids: Vec<&str> = review.questions.iter().map(|q| q.id).collect();
    assert_eq!(ids, ["OPS 1", "OPS 2", "REL 1", "REL 2", "SEC 1", "SEC 2", "SEC 3", "PERF 1", "COST 1"]);
    assert_eq!(review.score(), (25, 25));
    for (q, i) in review.items() {
        assert!(!i.evidence.is_empty() && i.to_meet.is_none(), "{} {}: {i:?}", q.id, i.id);
    }
    // Each tick's evidence says what was read, where.
    let expect = [
        ("ops1-alarms", "environment etl-prod-extract: etl-prod-extract-errors on Errors (OK), etl-prod-extract-throttles on Throttles (OK), etl-prod-extract-p99-duration on Duration (OK)"),
        ("ops1-logging", "environment /aws/lambda/etl-prod-load: retention 365 days, KMS-encrypted; LOG_LEVEL info"),
        ("ops1-tracing", "environment etl-prod-etl: X-Ray tracing enabled"),
        ("ops1-metrics", "environment dashboard etl-prod: per-version errors of etl-prod-transform: \"transform Errors by version\""),
        ("ops1-metrics", "environment dashboard etl-prod: current release: \"Current release\""),
        ("ops2-iac", "repository environments/test: Terraform root (workload-account module), account 222222222222"),
        ("ops2-rollout", "environment CodeDeployDefault.LambdaCanary10Percent5Minutes: exists: canary 10% for 5m, then all"),
        ("ops2-rollout", "environment etl-prod/etl-prod-extract: 3 alarm(s) wired (etl-prod-extract-errors, etl-prod-extract-throttles, etl-prod-extract-p99-duration), rollback on failure and alarm"),
        ("ops2-rollout", "environment etl-prod-releases: last verdicts: r-0123456789ab promote succeeded"),
        ("ops2-cicd", "repository .github/workflows/release.yml: deploy-dev (environment dev) -> promote-test (environment test) -> promote-prod (environment prod)"),
        ("ops2-cicd", "repository environments/*/deployer.yaml: promotion chain dev (111111111111) -> test (222222222222) -> prod (333333333333)"),
        ("ops2-cicd", "environment etl-prod-releases: newest promotion: r-0123456789ab from test (succeeded)"),
        ("rel1-concurrency", "environment etl-prod-etl: Map Transform: MaxConcurrency 10"),
        ("rel2-failures", "environment etl-prod-etl: Load: catches States.ALL -> CompensateLoad"),
        ("rel2-idempotency", "environment etl-prod-runs: run ledger keyed by run_id, KMS-encrypted; LEDGER_TABLE of"),
        ("rel2-idempotency", "Choice AlreadyRun: a run whose $.manifest.duplicate is true ends at once"),
        ("rel2-saga", "environment etl-prod-etl: Transform -> CompensateTransform -> RunFailed"),
        ("sec1-no-public", "environment etl-prod-compensate: no resource-based policy"),
        ("sec1-scoped-callers", "etl-state-machine: lambda:InvokeFunction on the functions' versions and aliases only"),
        ("sec1-identity", "environment deployer: web identity only for repo:acme/etl:environment:prod"),
        ("sec2-least-privilege", "environment etl-prod-load: etl-prod-load's own role: 3 statement(s)"),
        ("sec3-dependencies", "repository pipelines/scripts/dependencies.sh: checks every dependency"),
        ("perf1-capacity", "environment etl-prod-transform: 1024 MB, timeout 300 s; etl-prod-transform-p99-duration above"),
        ("perf1-orchestration", "etl-prod-compensate:<the execution's release>, etl-prod-extract:<the execution's release>, etl-prod-load:<the execution's release>, etl-prod-transform:<the execution's release>"),
        ("cost1-logging", "environment etl-prod-etl: execution logging ERROR"),
        ("cost1-configuration", "environment etl-prod-extract: arm64, 256 MB"),
        ("cost1-patterns", "environment etl-prod-runs: billed per request"),
    ];
    for (id, needle) in expect {
        let text = evidence(item(&review, id));
        assert!(text.contains(needle), "{id}: {needle:?} not in\n{text}");
    }
    // Every source shows up, and JSON carries the shape.
    let json = serde_json::to_value(&review).unwrap();
    assert_eq!(json["questions"][1]["items"][1]["level"], "Good");
    assert_eq!(json["questions"][1]["items"][1]["evidence"][0]["source"], "environment");
    assert!(json["questions"][0]["items"][0].get("to_meet").is_none());
}

#[test]
fn an_alarm_unwired_from_a_deployment_group_unticks_the_rollout_item() {
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        let group = w.group_views.get_mut("etl-prod-extract").unwrap();
        group.alarms.retain(|a| a != "etl-prod-extract-errors");
    });
    assert_eq!(unticked(&review), ["ops2-rollout"]);
    let rollout = item(&review, "ops2-rollout");
    assert!(
        rollout.note.contains("etl-prod/etl-prod-extract: alarm(s) not wired: etl-prod-extract-errors"),
        "{}",
        rollout.note
    );
    assert!(rollout.to_meet.as_deref().is_some_and(|m| m.contains("wiring its function's alarms")));
    // The other groups' evidence still stands beside the problem.
    assert!(evidence(rollout).contains("etl-prod/etl-prod-load: 3 alarm(s) wired"));

    // Alarms switched off, or rollback without the alarm event, untick it too.
    let case = Case::new("prod");
    let review = case.review_after(|w| w.group_views.get_mut("etl-prod-load").unwrap().alarms_enabled = false);
    assert!(item(&review, "ops2-rollout").note.contains("etl-prod/etl-prod-load: alarm configuration disabled"));
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.group_views.get_mut("etl-prod-load").unwrap().rollback_events = vec!["DEPLOYMENT_FAILURE".into()];
    });
    assert!(item(&review, "ops2-rollout").note.contains("no automatic rollback on DEPLOYMENT_STOP_ON_ALARM"));
}

#[test]
fn all_at_once_is_no_rollout_mechanism() {
    let case = Case::new("dev");
    let review = case.review();
    assert_eq!(unticked(&review), ["ops2-rollout"]);
    assert!(
        item(&review, "ops2-rollout").note.contains("CodeDeployDefault.LambdaAllAtOnce shifts all at once"),
        "{}",
        item(&review, "ops2-rollout").note
    );
}

#[test]
fn tracing_off_anywhere_unticks_tracing() {
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.functions.get_mut("etl-prod-load").unwrap().latest.config.tracing = Some("PassThrough".into());
    });
    assert_eq!(unticked(&review), ["ops1-tracing"]);
    assert_eq!(item(&review, "ops1-tracing").note, "etl-prod-load: tracing PassThrough");

    let case = Case::new("prod");
    let review = case.review_after(|w| w.workflows.values_mut().for_each(|m| m.tracing = false));
    assert_eq!(unticked(&review), ["ops1-tracing"]);
    assert_eq!(item(&review, "ops1-tracing").note, "state machine etl-prod-etl: tracing off");
}

#[test]
fn the_dashboard_must_show_every_metric_the_practice_names() {
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.dashboards.clear();
    });
    assert_eq!(unticked(&review), ["ops1-metrics"]);
    assert_eq!(item(&review, "ops1-metrics").note, "there is no dashboard etl-prod");

    let case = Case::new("prod");
    let review = case.review_after(|w| {
        let body: serde_json::Value = serde_json::from_str(&w.dashboards["etl-prod"]).unwrap();
        let kept: Vec<&serde_json::Value> = body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["properties"]["title"] != "load Duration by version" && w["type"] != "log")
            .collect();
        w.dashboards.insert("etl-prod".into(), serde_json::json!({ "widgets": kept }).to_string());
    });
    assert_eq!(
        item(&review, "ops1-metrics").note,
        "the dashboard shows no per-version duration of etl-prod-load; the dashboard shows no current release"
    );
}

#[test]
fn a_workflow_that_fans_out_unbounded_or_skips_compensation_is_not_ticked() {
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        for m in w.workflows.values_mut() {
            m.definition = m.definition.replace("\"MaxConcurrency\": 10,", "");
        }
    });
    assert_eq!(unticked(&review), ["rel1-concurrency"]);
    assert_eq!(item(&review, "rel1-concurrency").note, "Map Transform runs every batch at once (no MaxConcurrency)");

    // Load's failures go straight to the Fail state: no compensation, no saga.
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        for m in w.workflows.values_mut() {
            let mut d: serde_json::Value = serde_json::from_str(&m.definition).unwrap();
            d["States"]["Load"]["Catch"][0]["Next"] = "RunFailed".into();
            m.definition = d.to_string();
        }
    });
    assert_eq!(unticked(&review), ["rel2-saga"]);
    assert_eq!(item(&review, "rel2-saga").note, "a failure of Load goes RunFailed without compensating");

    // Without the duplicate guard a second start of the same date would run again.
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        for m in w.workflows.values_mut() {
            m.definition = m.definition.replace("$.manifest.duplicate", "$.manifest.other");
        }
    });
    assert_eq!(unticked(&review), ["rel2-idempotency"]);
}

#[test]
fn open_policies_broad_roles_and_loose_trust_are_not_ticked() {
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.function_policies.insert(
            "etl-prod-extract".into(),
            r#"{"Statement":[{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"x"}]}"#.into(),
        );
    });
    assert_eq!(unticked(&review), ["sec1-no-public"]);
    assert!(item(&review, "sec1-no-public")
        .note
        .contains("etl-prod-extract: its resource policy lets anyone in (FunctionURLAllowPublicAccess)"));

    // An empty policy (what the local cloud answers for none) lets nobody in.
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.function_policies.insert("etl-prod-extract".into(), r#"{"Version":"2012-10-17","Statement":[]}"#.into());
    });
    assert!(item(&review, "sec1-no-public").ticked);
    assert!(
        evidence(item(&review, "sec1-no-public")).contains("environment etl-prod-extract: no resource-based policy")
    );

    let case = Case::new("prod");
    let review = case.review_after(|w| {
        let role = w.roles.get_mut("etl-prod-load").unwrap();
        role.inline_policies
            .push(("broad".into(), r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into()));
    });
    assert_eq!(unticked(&review), ["sec2-least-privilege"]);
    assert!(item(&review, "sec2-least-privilege")
        .note
        .contains("etl-prod-load/broad: statement 1: wildcard action s3:*; statement 1: s3:* on every resource"));

    // Two functions on one role.
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.functions.get_mut("etl-prod-load").unwrap().latest.config.role =
            Some("arn:aws:iam::333333333333:role/etl-prod-extract".into());
    });
    assert!(unticked(&review).contains(&"sec2-least-privilege"));
    assert!(item(&review, "sec2-least-privilege").note.contains("share the role etl-prod-extract"));

    let case = Case::new("prod");
    let review = case.review_after(|w| {
        let role = w.roles.get_mut("deployer").unwrap();
        role.trust_policy = role.trust_policy.replace("environment:prod", "*");
    });
    assert_eq!(unticked(&review), ["sec1-identity"]);

    let case = Case::new("prod");
    let review = case.review_after(|w| {
        let config = &mut w.functions.get_mut("etl-prod-load").unwrap().latest.config;
        config.environment.insert("DB_PASSWORD".into(), "x".into());
    });
    assert_eq!(unticked(&review), ["sec2-temporary-credentials", "sec3-secrets"]);
}

#[test]
fn dependency_review_needs_the_policy_the_test_script_and_the_pull_request_job() {
    for (path, text, expected) in [
        (repository::DENY, "[licenses]\nallow = []\n[bans]\n[sources]\n", "deny.toml does not show it"),
        (repository::TEST_SCRIPT, "cargo nextest run\n", "scripts/test.sh does not show it"),
        (
            repository::PULL_REQUEST_WORKFLOW,
            "jobs:\n  test:\n    steps:\n      - run: .ci/run\n",
            ".github/workflows/pull-request.yml does not review the dependencies",
        ),
    ] {
        let mut files = files();
        files.iter_mut().find(|(p, _)| *p == path).unwrap().1 = text.into();
        let case = Case::with_files("prod", &files);
        let review = case.review();
        assert_eq!(unticked(&review), ["sec3-dependencies"], "{path}");
        assert!(
            item(&review, "sec3-dependencies").note.contains(expected),
            "{}",
            item(&review, "sec3-dependencies").note
        );
    }
}

#[test]
fn cost_items_follow_the_architecture_and_the_retention() {
    let case = Case::new("prod");
    let review = case.review_after(|w| {
        w.functions.get_mut("etl-prod-transform").unwrap().latest.config.architectures = vec!["x86_64".into()];
    });
    assert_eq!(unticked(&review), ["cost1-configuration"]);
    assert_eq!(item(&review, "cost1-configuration").note, "etl-prod-transform runs on x86_64");

    let case = Case::new("prod");
    let review = case.review_after(|w| w.log_groups[0].retention_days = None);
    assert_eq!(unticked(&review), ["cost1-logging"]);
    assert_eq!(item(&review, "cost1-logging").note, "/aws/lambda/etl-prod-compensate never expires");
}

#[test]
fn a_read_the_role_may_not_make_unticks_only_what_it_backs() {
    let case = Case::new("prod");
    case.cloud.fail("GetDashboard", None, 1, service_error("GetDashboard", "AccessDenied"));
    let review = case.review();
    assert_eq!(unticked(&review), ["ops1-metrics"]);
    let note = &item(&review, "ops1-metrics").note;
    assert!(note.starts_with("the dashboard could not be read:") && note.contains("AccessDenied"), "{note}");
}

#[test]
fn a_missing_workflow_unticks_what_reads_it_and_nothing_else() {
    let case = Case::new("prod");
    let review = case.review_after(|w| w.workflows.clear());
    assert_eq!(
        unticked(&review),
        [
            "ops1-tracing",
            "rel1-concurrency",
            "rel2-failures",
            "rel2-idempotency",
            "rel2-saga",
            "sec1-scoped-callers",
            "perf1-orchestration"
        ]
    );
    assert!(item(&review, "rel2-saga")
        .note
        .contains("the state machine arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl does not exist"));
}

/// The repository's own files pass every check that reads them: a change that drops
/// cargo-deny from `make test`, the dashboard from Terraform or the trace id from the
/// logs fails here.
#[test]
fn this_repository_meets_its_own_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let settings = Settings::load(&root.join("environments"), "prod", false).unwrap();
    let cloud = world(&settings);
    let repo = RepositoryFacts::read(&root, &root.join("environments"));
    for file in repository::FILES {
        assert!(repo.file(file).is_ok(), "{file} is missing");
    }
    let review = tokio_test_block(review(&settings, &cloud, &repo, "HEAD"));
    let repository_problems: Vec<String> =
        review.items().filter(|(_, i)| !i.ticked).map(|(_, i)| format!("{}: {}", i.id, i.note)).collect();
    assert!(repository_problems.is_empty(), "{repository_problems:#?}");
    assert!(evidence(item(&review, "ops2-cicd"))
        .contains("promotion chain dev (111111111111) -> test (222222222222) -> prod (333333333333)"));
}
