//! The checklist's OPS 1 (health: alarms, logs, tracing, metrics) and OPS 2 (lifecycle:
//! infrastructure as code, rollout, CI/CD).

use std::collections::BTreeMap;

use super::super::dashboard;
use super::super::model::{Item, Level};
use super::super::names::Workload;
use super::super::repository;
use super::{short, Facts, Judge};

use crate::settings::Strategy;

// --- OPS 1 ----------------------------------------------------------------------------

pub(super) fn ops1_alarms(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.alarms() {
        Ok(alarms) => {
            for function in &f.settings.functions {
                if function.alarms.is_empty() {
                    j.problem(format!("{} has no alarm", function.function_name));
                    continue;
                }
                let read: Vec<String> = function
                    .alarms
                    .iter()
                    .filter_map(|a| alarms.get(a.as_str()))
                    .map(|a| format!("{} on {} ({})", a.name, a.metric.as_deref().unwrap_or("?"), a.state.as_str()))
                    .collect();
                j.env(&function.function_name, read.join(", "));
            }
        }
        Err(e) => j.problem(format!("the alarms could not be read: {e}")),
    }
    j.file(
        f.repo,
        repository::ETL_MODULE,
        &["aws_cloudwatch_metric_alarm", "alarm_actions"],
        "each live alias's alarms notify the alert topic (alarm_actions)",
    );
    j.item(
        "ops1-alarms",
        Level::Required,
        "Understand, analyze, and alert on metrics provided out of the box",
        "every function alarms on Lambda's own metrics, and the alarms notify the alert topic",
        "give every function alarms on its Errors, Throttles and Duration (the etl-workflow module creates them) and list them in deployer.yaml",
    )
}

pub(super) fn ops1_logging(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match &f.env.log_groups {
        Ok(groups) => {
            for (ff, config) in f.configs() {
                let name = &ff.function.function_name;
                let group_name = Workload::function_log_group(name);
                let level = config.ok().and_then(|c| c.environment.get("LOG_LEVEL"));
                match (groups.iter().find(|g| g.name == group_name), level) {
                    (Some(g), Some(level)) => j.env(
                        &group_name,
                        format!(
                            "retention {}, {}; LOG_LEVEL {level}",
                            g.retention_days.map_or("never expires".to_owned(), |d| format!("{d} days")),
                            if g.kms_key.is_some() { "KMS-encrypted" } else { "service-encrypted" }
                        ),
                    ),
                    (None, _) => j.problem(format!("{name} has no log group {group_name}")),
                    (_, None) => j.problem(format!("{name} sets no LOG_LEVEL")),
                }
            }
        }
        Err(e) => j.problem(format!("the log groups could not be read: {e}")),
    }
    j.file(
        f.repo,
        repository::OBSERVABILITY,
        &[".json()", "with_current_span"],
        "the functions log JSON lines carrying the run and execution ids",
    );
    j.item(
        "ops1-logging",
        Level::Good,
        "Use structured and centralized logging",
        "JSON logs with correlation ids, in one log group per function with a retention",
        "a log group with a retention for every function (etl-workflow), LOG_LEVEL set, JSON logs with the run's ids",
    )
}

pub(super) fn ops1_tracing(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        match config {
            Ok(c) if c.tracing.as_deref() == Some("Active") => j.env(name, "X-Ray tracing Active"),
            Ok(c) => j.problem(format!("{name}: tracing {}", c.tracing.as_deref().unwrap_or("off"))),
            Err(e) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    match &f.env.workflow {
        Ok(Some(w)) if w.tracing => j.env(short(&w.arn), "X-Ray tracing enabled"),
        Ok(Some(w)) => j.problem(format!("state machine {}: tracing off", short(&w.arn))),
        Ok(None) => j.problem("the state machine does not exist"),
        Err(e) => j.problem(format!("the state machine could not be read: {e}")),
    }
    j.file(
        f.repo,
        repository::RUNTIME,
        &["xray_trace_id"],
        "every log line of an invocation carries its X-Ray trace id",
    );
    j.item(
        "ops1-tracing",
        Level::Good,
        "Use distributed tracing and code is instrumented with additional context",
        "the state machine and every function trace with X-Ray, and the logs carry the trace id",
        "enable_tracing = true (the workload-account module's default) so the functions trace Active and the state machine traces",
    )
}

pub(super) fn ops1_metrics(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let names = Workload::of(f.settings);
    match &f.env.dashboard {
        Ok(Some(body)) => match dashboard::widgets(body) {
            Ok(widgets) => {
                let mut shows =
                    |what: &str, kind: Option<&str>, needles: &[&str]| match dashboard::find(&widgets, kind, needles) {
                        Some(w) => {
                            j.env(format!("dashboard {}", names.dashboard()), format!("{what}: \"{}\"", w.title))
                        }
                        None => j.problem(format!("the dashboard shows no {what}")),
                    };
                shows("records curated per run", None, &["\"ETL\"", "RecordsOut"]);
                shows("records quarantined per run", None, &["\"ETL\"", "RecordsQuarantined"]);
                let machine = names.state_machine_arn();
                shows("run outcome", None, &["AWS/States", "ExecutionsSucceeded", "ExecutionsFailed", &machine]);
                shows("run duration", None, &["AWS/States", "ExecutionTime", &machine]);
                for function in &f.settings.functions {
                    let name = function.function_name.as_str();
                    shows(&format!("per-version errors of {name}"), None, &[name, "ExecutedVersion", "Errors"]);
                    shows(&format!("per-version duration of {name}"), None, &[name, "ExecutedVersion", "Duration"]);
                }
                shows("current release", Some("log"), &[&names.release_log()]);
            }
            Err(e) => j.problem(format!("dashboard {}: {e}", names.dashboard())),
        },
        Ok(None) => j.problem(format!("there is no dashboard {}", names.dashboard())),
        Err(e) => j.problem(format!("the dashboard could not be read: {e}")),
    }
    j.file(
        f.repo,
        repository::OBSERVABILITY,
        &["CloudWatchMetrics", "\"ETL\""],
        "the functions emit their counts and durations as CloudWatch EMF (namespace ETL)",
    );
    j.file(
        f.repo,
        repository::DASHBOARD_MODULE,
        &["aws_cloudwatch_dashboard"],
        "the dashboard is Terraform (workload-account)",
    );
    j.item(
        "ops1-metrics",
        Level::Best,
        "Use application, business, and operations metrics",
        "one dashboard shows records curated and quarantined, runs' outcome and duration, per-version errors and duration, and the current release",
        "apply the workload-account module's dashboard (terraform/modules/workload-account/dashboard.tf)",
    )
}

// --- OPS 2 ----------------------------------------------------------------------------

pub(super) fn ops2_iac(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    for root in &f.repo.environments {
        match (&root.terraform, &root.settings) {
            (Ok(tf), Ok(s)) if tf.contains("terraform/modules/workload-account") => {
                j.repo(
                    format!("environments/{}", root.name),
                    format!("Terraform root (workload-account module), account {}", s.account_id),
                );
                if let Some(other) = accounts.insert(s.account_id.clone(), root.name.clone()) {
                    j.problem(format!("{other} and {} share account {}", root.name, s.account_id));
                }
            }
            (Ok(_), Ok(_)) => j.problem(format!("environments/{}/main.tf does not build the workload", root.name)),
            (Err(e), _) => j.problem(e.clone()),
            (_, Err(e)) => j.problem(e.clone()),
        }
    }
    if accounts.len() < 2 {
        j.problem("fewer than two environments with their own account");
    }
    match &f.env.deploy_role {
        Ok(Some(role)) => j.env(&role.arn, format!("the review ran as it, in account {}", f.settings.account_id)),
        Ok(None) => j.problem(format!("the deploy role {} was not found", f.settings.deploy_role_arn)),
        Err(e) => j.problem(format!("the deploy role could not be read: {e}")),
    }
    j.item(
        "ops2-iac",
        Level::Required,
        "Use infrastructure as code and stages isolated in separate environments",
        "every environment is a Terraform root in an account of its own",
        "one Terraform root per environment under environments/, each in its own account",
    )
}

pub(super) fn ops2_rollout(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let s = f.settings;
    let strategy = Strategy::of(&s.deployment_config, s.custom_config.as_ref());
    match (&f.env.deployment_config, strategy) {
        (Ok(()), Some(st @ (Strategy::Canary { .. } | Strategy::Linear { .. }))) => {
            j.env(&s.deployment_config, format!("exists: {st}"));
        }
        (Ok(()), Some(st)) => j.problem(format!("{} shifts {st}: no traffic is tried first", s.deployment_config)),
        (Ok(()), None) => j.problem(format!("{}: not a shape the review knows", s.deployment_config)),
        (Err(e), _) => j.problem(format!("the deployment config could not be read: {e}")),
    }
    const EVENTS: [&str; 2] = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"];
    for ff in &f.env.functions {
        let function = &ff.function;
        let subject = format!("{}/{}", s.application, function.deployment_group);
        match &ff.group {
            Ok(group) => {
                let unwired: Vec<&str> =
                    function.alarms.iter().filter(|a| !group.alarms.contains(a)).map(String::as_str).collect();
                let missing: Vec<&str> =
                    EVENTS.iter().copied().filter(|e| !group.rollback_events.iter().any(|g| g == e)).collect();
                if function.alarms.is_empty() {
                    j.problem(format!("{subject}: the function has no alarm to stop a bad release"));
                } else if !unwired.is_empty() {
                    j.problem(format!("{subject}: alarm(s) not wired: {}", unwired.join(", ")));
                } else if !group.alarms_enabled {
                    j.problem(format!("{subject}: alarm configuration disabled"));
                } else if !group.rollback_enabled || !missing.is_empty() {
                    j.problem(format!("{subject}: no automatic rollback on {}", missing.join(", ")));
                } else {
                    j.env(
                        subject,
                        format!(
                            "{} alarm(s) wired ({}), rollback on failure and alarm",
                            group.alarms.len(),
                            group.alarms.join(", ")
                        ),
                    );
                }
            }
            Err(e) => j.problem(format!("{subject} could not be read: {e}")),
        }
    }
    for (hook, config) in &f.env.hooks {
        match config {
            Ok(_) => j.env(hook, "traffic hook in place"),
            Err(e) => j.problem(format!("hook {hook}: {e}")),
        }
    }
    if let Ok(records) = &f.env.releases {
        let verdicts: Vec<String> = records
            .iter()
            .take(5)
            .map(|r| {
                let reason = match r.stop.as_ref().and(r.reason.as_deref()) {
                    Some(reason) => format!(" ({})", reason.lines().next().unwrap_or_default()),
                    None => String::new(),
                };
                format!("{} {} {}{reason}", r.release_id, r.kind.as_str(), r.status.as_str())
            })
            .collect();
        j.env(
            &s.release_table,
            if verdicts.is_empty() {
                "no release yet".to_owned()
            } else {
                format!("last verdicts: {}", verdicts.join("; "))
            },
        );
    }
    j.item(
        "ops2-rollout",
        Level::Good,
        "Use a rollout deployment mechanism",
        "traffic shifts gradually through CodeDeploy, with hooks, and every function's alarms stop and roll a release back",
        "a canary or linear deployment config, and every deployment group wiring its function's alarms with rollback on DEPLOYMENT_FAILURE and DEPLOYMENT_STOP_ON_ALARM (traffic-shifting module)",
    )
}

pub(super) fn ops2_cicd(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let last = f.repo.environments.last().map(|e| e.name.clone()).unwrap_or_default();
    let chain = f.repo.chain_to(&last);
    if chain.len() < 2 {
        j.problem("no promotion chain across environments (promotes_from)");
    }
    let mut accounts = std::collections::BTreeSet::new();
    for root in &chain {
        if let Ok(s) = &root.settings {
            if !accounts.insert(s.account_id.clone()) {
                j.problem(format!("{} shares account {} with another environment", root.name, s.account_id));
            }
        }
    }
    let names: Vec<String> = chain
        .iter()
        .map(|r| format!("{} ({})", r.name, r.settings.as_ref().map_or("?", |s| s.account_id.as_str())))
        .collect();
    if chain.len() >= 2 {
        j.repo("environments/*/deployer.yaml", format!("promotion chain {}", names.join(" -> ")));
    }
    match f.repo.file(repository::RELEASE_WORKFLOW).map_err(str::to_owned).and_then(repository::jobs) {
        Ok(jobs) => {
            let mut previous: Option<&repository::Job> = None;
            let mut stages = Vec::new();
            for root in &chain {
                let env = root.name.as_str();
                let job = jobs.iter().find(|job| {
                    job.runs.iter().any(|r| {
                        let words: Vec<&str> = r.split_whitespace().collect();
                        words.len() >= 2
                            && (words[0].ends_with("/deploy.sh") || words[0].ends_with("/promote.sh"))
                            && words[1] == env
                    })
                });
                match job {
                    Some(job) if job.environment.as_deref() == Some(env) => {
                        if let Some(before) = previous {
                            if !needs(&jobs, job, &before.name) {
                                j.problem(format!("job {} does not wait for {}", job.name, before.name));
                            }
                        }
                        stages.push(format!("{} (environment {env})", job.name));
                        previous = Some(job);
                    }
                    Some(job) => {
                        j.problem(format!("job {} releases {env} but is not bound to that environment", job.name))
                    }
                    None => j.problem(format!("no job of {} releases {env}", repository::RELEASE_WORKFLOW)),
                }
            }
            if !stages.is_empty() {
                j.repo(repository::RELEASE_WORKFLOW, stages.join(" -> "));
            }
        }
        Err(e) => j.problem(format!("{}: {e}", repository::RELEASE_WORKFLOW)),
    }
    match f.repo.file(repository::PULL_REQUEST_WORKFLOW).map_err(str::to_owned).and_then(repository::jobs) {
        Ok(jobs) => {
            match jobs.iter().find(|job| job.runs.iter().any(|r| r.contains(".ci/run") || r.contains("make test"))) {
                Some(job) => j.repo(
                    repository::PULL_REQUEST_WORKFLOW,
                    format!("job {} runs `make test` on every pull request", job.name),
                ),
                None => j.problem(format!("{} runs no tests", repository::PULL_REQUEST_WORKFLOW)),
            }
        }
        Err(e) => j.problem(format!("{}: {e}", repository::PULL_REQUEST_WORKFLOW)),
    }
    let hooks_ok = f.env.hooks.iter().all(|(_, c)| c.is_ok());
    if hooks_ok {
        j.env(
            format!("{}, {}", f.settings.hooks.pre_traffic, f.settings.hooks.post_traffic),
            "each release is tested in this account before and after traffic moves",
        );
    } else {
        j.problem("the traffic hooks could not be read");
    }
    if let Ok(records) = &f.env.releases {
        if let Some(r) = records.iter().find(|r| r.source_environment.is_some()) {
            j.env(
                &f.settings.release_table,
                format!(
                    "newest promotion: {} from {} ({})",
                    r.release_id,
                    r.source_environment.as_deref().unwrap_or_default(),
                    r.status.as_str()
                ),
            );
        }
    }
    j.item(
        "ops2-cicd",
        Level::Best,
        "Use CI/CD including automated testing across separate accounts",
        "pull requests run the tests; merges deploy dev and promote the same bytes to test and prod, each in its account, tested by the hooks",
        "a release workflow that deploys the first environment and promotes to the next ones, each job bound to its environment and account, after a pull-request workflow that runs the tests",
    )
}

/// Whether `job` waits for `earlier`, directly or through the jobs it needs.
fn needs(jobs: &[repository::Job], job: &repository::Job, earlier: &str) -> bool {
    let mut stack: Vec<&str> = job.needs.iter().map(String::as_str).collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = stack.pop() {
        if name == earlier {
            return true;
        }
        if seen.insert(name) {
            if let Some(j) = jobs.iter().find(|j| j.name == name) {
                stack.extend(j.needs.iter().map(String::as_str));
            }
        }
    }
    false
}
