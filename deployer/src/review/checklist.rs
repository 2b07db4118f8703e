//! The checklist: each question's items, judged on the facts read. Pure: the same
//! facts give the same review. An item is ticked only when it has evidence and no
//! problem; an unticked one says what is missing and what would meet it.

use std::collections::BTreeMap;

use super::dashboard;
use super::environment::{EnvironmentFacts, FunctionFacts};
use super::model::{Evidence, Item, Level, Question};
use super::names::Workload;
use super::policy;
use super::repository::{self, RepositoryFacts};
use super::workflow::Definition;
use crate::cloud::{AlarmView, FunctionConfig, WorkflowView};
use crate::settings::{Settings, Strategy};

/// What the checklist judges.
pub struct Facts<'a> {
    pub settings: &'a Settings,
    pub env: &'a EnvironmentFacts,
    pub repo: &'a RepositoryFacts,
}

/// Collects an item's evidence and problems, then judges it.
#[derive(Default)]
struct Judge {
    evidence: Vec<Evidence>,
    problems: Vec<String>,
}

impl Judge {
    fn env(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.evidence.push(Evidence::environment(subject, detail));
    }

    fn repo(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.evidence.push(Evidence::repository(subject, detail));
    }

    fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// The repository file `path` must contain every needle; `says` is what that shows.
    fn file(&mut self, repo: &RepositoryFacts, path: &str, needles: &[&str], says: &str) {
        match repo.file(path) {
            Ok(text) if needles.iter().all(|n| text.contains(n)) => self.repo(path, says),
            Ok(_) => self.problem(format!("{path} does not show it ({})", needles.join(", "))),
            Err(e) => self.problem(format!("{path} could not be read: {e}")),
        }
    }

    fn item(self, id: &'static str, level: Level, practice: &'static str, met: &str, to_meet: &str) -> Item {
        let ticked = self.problems.is_empty() && !self.evidence.is_empty();
        let note = if ticked {
            met.to_owned()
        } else if self.problems.is_empty() {
            "nothing was found to show it".to_owned()
        } else {
            self.problems.join("; ")
        };
        Item {
            id,
            level,
            practice,
            ticked,
            note,
            evidence: self.evidence,
            to_meet: (!ticked).then(|| to_meet.to_owned()),
        }
    }
}

impl Facts<'_> {
    fn configs(&self) -> impl Iterator<Item = (&FunctionFacts, Result<&FunctionConfig, &String>)> {
        self.env.functions.iter().map(|f| (f, f.config.as_ref()))
    }

    fn alarms(&self) -> Result<BTreeMap<&str, &AlarmView>, &String> {
        self.env.alarms.as_ref().map(|all| all.iter().map(|a| (a.name.as_str(), a)).collect())
    }

    /// The workflow and its parsed definition, or why there is none.
    fn workflow(&self) -> Result<(&WorkflowView, Definition), String> {
        match &self.env.workflow {
            Ok(Some(w)) => Definition::parse(&w.definition).map(|d| (w, d)),
            Ok(None) => {
                Err(format!("the state machine {} does not exist", Workload::of(self.settings).state_machine_arn()))
            }
            Err(e) => Err(format!("the state machine could not be read: {e}")),
        }
    }

    fn function_name(&self, artifact: &str) -> Option<&str> {
        self.settings.functions.iter().find(|f| f.artifact == artifact).map(|f| f.function_name.as_str())
    }
}

fn short(state_machine_arn: &str) -> &str {
    state_machine_arn.rsplit(':').next().unwrap_or(state_machine_arn)
}

/// Every question, in the checklist's order.
pub fn questions(f: &Facts<'_>) -> Vec<Question> {
    vec![
        Question {
            id: "OPS 1",
            title: "How do you evaluate your serverless application's health?",
            items: vec![ops1_alarms(f), ops1_logging(f), ops1_tracing(f), ops1_metrics(f)],
        },
        Question {
            id: "OPS 2",
            title: "How do you approach application lifecycle management?",
            items: vec![ops2_iac(f), ops2_rollout(f), ops2_cicd(f)],
        },
        Question {
            id: "REL 1",
            title: "How do you regulate inbound request rates?",
            items: vec![rel1_concurrency(f), rel1_throttles(f)],
        },
        Question {
            id: "REL 2",
            title: "How do you build resiliency into your serverless application?",
            items: vec![rel2_failures(f), rel2_idempotency(f), rel2_saga(f)],
        },
        Question {
            id: "SEC 1",
            title: "How do you control access to your serverless application?",
            items: vec![sec1_no_public(f), sec1_scoped_callers(f), sec1_identity(f)],
        },
        Question {
            id: "SEC 2",
            title: "How do you manage the security boundaries of your serverless application?",
            items: vec![sec2_temporary_credentials(f), sec2_least_privilege(f)],
        },
        Question {
            id: "SEC 3",
            title: "How do you implement application security in your workload?",
            items: vec![sec3_validate(f), sec3_secrets(f), sec3_dependencies(f)],
        },
        Question {
            id: "PERF 1",
            title: "How have you optimized the performance of your serverless application?",
            items: vec![perf1_capacity(f), perf1_orchestration(f)],
        },
        Question {
            id: "COST 1",
            title: "How do you optimize your serverless application's costs?",
            items: vec![cost1_logging(f), cost1_configuration(f), cost1_patterns(f)],
        },
    ]
}

// --- OPS 1 ----------------------------------------------------------------------------

fn ops1_alarms(f: &Facts<'_>) -> Item {
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

fn ops1_logging(f: &Facts<'_>) -> Item {
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

fn ops1_tracing(f: &Facts<'_>) -> Item {
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

fn ops1_metrics(f: &Facts<'_>) -> Item {
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

fn ops2_iac(f: &Facts<'_>) -> Item {
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

fn ops2_rollout(f: &Facts<'_>) -> Item {
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

fn ops2_cicd(f: &Facts<'_>) -> Item {
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

// --- REL 1 ----------------------------------------------------------------------------

fn rel1_concurrency(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.workflow() {
        Ok((w, d)) => {
            let maps = d.maps();
            if maps.is_empty() {
                j.problem(format!("{} fans out with no Map state", short(&w.arn)));
            }
            for (name, max) in maps {
                match max {
                    Some(n @ 1..=40) => j.env(short(&w.arn), format!("Map {name}: MaxConcurrency {n}")),
                    Some(0) | None => j.problem(format!("Map {name} runs every batch at once (no MaxConcurrency)")),
                    Some(n) => j.problem(format!("Map {name}: MaxConcurrency {n}, above 40")),
                }
            }
        }
        Err(e) => j.problem(e),
    }
    j.item(
        "rel1-concurrency",
        Level::Required,
        "Use mechanisms to protect non-scalable resources",
        "the fan-out is bounded: at most MaxConcurrency batches run at once",
        "bound every Map state's MaxConcurrency (map_max_concurrency, 1-40)",
    )
}

fn rel1_throttles(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.alarms() {
        Ok(alarms) => {
            for function in &f.settings.functions {
                match function
                    .alarms
                    .iter()
                    .filter_map(|a| alarms.get(a.as_str()))
                    .find(|a| a.metric.as_deref() == Some("Throttles"))
                {
                    Some(a) => j.env(&function.function_name, format!("{} ({})", a.name, a.state.as_str())),
                    None => j.problem(format!("{} has no Throttles alarm", function.function_name)),
                }
            }
        }
        Err(e) => j.problem(format!("the alarms could not be read: {e}")),
    }
    j.item(
        "rel1-throttles",
        Level::Good,
        "Know when a rate limit is reached: every function alarms on its Throttles",
        "a throttled invocation raises the function's Throttles alarm, which also stops a release",
        "an alarm on each function's Throttles (etl-workflow module), listed in deployer.yaml",
    )
}

// --- REL 2 ----------------------------------------------------------------------------

/// Errors AWS's Step Functions guidance retries for Lambda tasks, and ours.
const TRANSIENT: [&str; 6] = [
    "Retryable",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Lambda.AWSLambdaException",
    "States.ALL",
    "States.TaskFailed",
];

/// The Task states that run the compensate function.
fn compensating<'d>(f: &Facts<'_>, d: &'d Definition) -> Vec<&'d str> {
    let Some(compensate) = f.function_name("compensate") else { return Vec::new() };
    let live = format!("function:{compensate}:{}", crate::settings::ALIAS);
    d.tasks().filter(|t| t.resource().is_some_and(|r| r.ends_with(&live))).map(|t| t.name.as_str()).collect()
}

fn rel2_failures(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.workflow() {
        Ok((w, d)) => {
            let undo = compensating(f, &d);
            for task in d.tasks() {
                let retries = task.retries();
                match retries.iter().find(|(errors, n, rate)| {
                    errors.iter().any(|e| TRANSIENT.contains(&e.as_str())) && *n >= 1 && *rate >= 1.0
                }) {
                    Some((errors, n, rate)) => j.env(
                        short(&w.arn),
                        format!("{}: retries {} up to {n} times, backoff x{rate}", task.name, errors.join(", ")),
                    ),
                    None => j.problem(format!("{} retries no transient error", task.name)),
                }
            }
            for state in d.states.iter().filter(|s| s.inside.is_none() && matches!(s.kind.as_str(), "Task" | "Map")) {
                if undo.contains(&state.name.as_str()) {
                    continue;
                }
                match state.catches().iter().find(|(errors, _)| errors.iter().any(|e| e == "States.ALL")) {
                    Some((_, next)) => j.env(short(&w.arn), format!("{}: catches States.ALL -> {next}", state.name)),
                    None => j.problem(format!("{} catches no failure (States.ALL)", state.name)),
                }
            }
        }
        Err(e) => j.problem(e),
    }
    j.item(
        "rel2-failures",
        Level::Required,
        "Manage transaction, partial, and intermittent failures",
        "every step retries transient errors with backoff and catches every other failure",
        "Retry transient errors with backoff on every Task, and Catch States.ALL on every step",
    )
}

fn rel2_idempotency(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let (name, table) = &f.env.run_ledger;
    let naming: Vec<&str> = f
        .configs()
        .filter(|(_, c)| c.is_ok_and(|c| c.environment.get("LEDGER_TABLE") == Some(name)))
        .map(|(ff, _)| ff.function.artifact.as_str())
        .collect();
    if naming.is_empty() {
        j.problem("no function names a run ledger (LEDGER_TABLE)");
    }
    match table {
        Ok(Some(t)) => j.env(
            &t.name,
            format!(
                "run ledger keyed by {}{}; LEDGER_TABLE of {}",
                t.hash_key.as_deref().unwrap_or("?"),
                if t.kms_encrypted { ", KMS-encrypted" } else { "" },
                naming.join(", ")
            ),
        ),
        Ok(None) => j.problem(format!("the run ledger {name} does not exist")),
        Err(e) => j.problem(format!("the run ledger {name} could not be read: {e}")),
    }
    match f.workflow() {
        Ok((w, d)) => match d.duplicate_guard() {
            Some((choice, variable)) => {
                j.env(short(&w.arn), format!("Choice {choice}: a run whose {variable} is true ends at once"));
            }
            None => j.problem(format!("{} has no Choice that ends a duplicate run", short(&w.arn))),
        },
        Err(e) => j.problem(e),
    }
    j.item(
        "rel2-idempotency",
        Level::Good,
        "Manage duplicate and unwanted events",
        "a run ledger makes each run date run once: a duplicate start ends without touching the data",
        "a run ledger (etl-workflow's runs table) named in the functions' LEDGER_TABLE, and a Choice that ends a duplicate run",
    )
}

fn rel2_saga(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.workflow() {
        Ok((w, d)) => {
            let undo = compensating(f, &d);
            if undo.is_empty() {
                j.problem(format!("no state of {} runs the compensate function", short(&w.arn)));
            }
            for state in d.states.iter().filter(|s| s.inside.is_none() && !undo.contains(&s.name.as_str())) {
                for (_, next) in state.catches() {
                    let path = d.path_from(&next, None);
                    let compensates = path.iter().any(|s| undo.contains(&s.name.as_str()));
                    let fails = path.last().is_some_and(|s| s.kind == "Fail");
                    let route: Vec<&str> = path.iter().map(|s| s.name.as_str()).collect();
                    if compensates && fails {
                        j.env(short(&w.arn), format!("{} -> {}", state.name, route.join(" -> ")));
                    } else {
                        j.problem(format!(
                            "a failure of {} goes {} without {}",
                            state.name,
                            route.join(" -> "),
                            if compensates { "failing the run" } else { "compensating" }
                        ));
                    }
                }
            }
        }
        Err(e) => j.problem(e),
    }
    j.item(
        "rel2-saga",
        Level::Best,
        "Orchestrate long-running transactions (a saga with compensation)",
        "every caught failure runs the compensate function, which undoes the run's output, then fails the run",
        "route every caught failure through a state that runs the compensate function's live alias, then a Fail state",
    )
}

// --- SEC 1 ----------------------------------------------------------------------------

fn sec1_no_public(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for ff in &f.env.functions {
        let name = &ff.function.function_name;
        match &ff.policy {
            Ok(None) => j.env(name, "no resource-based policy: only IAM principals of the account may invoke it"),
            Ok(Some(doc)) => match policy::statements(doc) {
                // Lambda answers "not found" for a function without one; the local
                // cloud answers an empty policy.
                Ok(statements) if statements.is_empty() => {
                    j.env(name, "no resource-based policy: only IAM principals of the account may invoke it");
                }
                Ok(statements) => {
                    let open: Vec<String> = statements
                        .iter()
                        .filter(|s| {
                            s.allow && s.principals.iter().any(|p| policy::is_anyone(p)) && s.conditions.is_empty()
                        })
                        .map(|s| s.sid.clone().unwrap_or_else(|| s.actions.join(",")))
                        .collect();
                    if open.is_empty() {
                        j.env(name, format!("resource policy: {} statement(s), none open to anyone", statements.len()));
                    } else {
                        j.problem(format!("{name}: its resource policy lets anyone in ({})", open.join(", ")));
                    }
                }
                Err(e) => j.problem(format!("{name}: {e}")),
            },
            Err(e) => j.problem(format!("{name}'s resource policy could not be read: {e}")),
        }
    }
    j.item(
        "sec1-no-public",
        Level::Required,
        "Use appropriate endpoint types and mechanisms to secure access: no public entry point",
        "no function has a public endpoint or a policy that lets anyone invoke it; runs start only through IAM",
        "remove resource policy statements that let anyone invoke a function (a function URL with auth NONE, Principal *)",
    )
}

fn sec1_scoped_callers(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let live: Vec<String> = f
        .settings
        .functions
        .iter()
        .map(|fun| format!("function:{}:{}", fun.function_name, crate::settings::ALIAS))
        .collect();
    match &f.env.workflow_role {
        Ok(Some(role)) => {
            for (name, doc) in &role.inline_policies {
                match policy::statements(doc) {
                    Ok(statements) => {
                        for s in
                            statements.iter().filter(|s| s.allow && s.actions.iter().any(|a| a.starts_with("lambda:")))
                        {
                            let outside: Vec<&String> =
                                s.resources.iter().filter(|r| !live.iter().any(|l| r.ends_with(l.as_str()))).collect();
                            if outside.is_empty() {
                                j.env(&role.name, format!("{name}: {} on the live aliases only", s.actions.join(", ")));
                            } else {
                                j.problem(format!(
                                    "{}: {} also on {}",
                                    role.name,
                                    s.actions.join(", "),
                                    outside.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                                ));
                            }
                        }
                    }
                    Err(e) => j.problem(format!("{}/{name}: {e}", role.name)),
                }
            }
            if !role.attached_policies.is_empty() {
                j.problem(format!(
                    "{} has managed policies attached: {}",
                    role.name,
                    role.attached_policies.join(", ")
                ));
            }
        }
        Ok(None) => j.problem("the state machine's role was not found"),
        Err(e) => j.problem(format!("the state machine's role could not be read: {e}")),
    }
    j.item(
        "sec1-scoped-callers",
        Level::Good,
        "Use authentication and authorization mechanisms: every caller scoped by IAM",
        "the workflow's role may invoke only the functions' live aliases",
        "let the state machine's role invoke only the functions' live aliases (etl-workflow's iam.tf)",
    )
}

fn sec1_identity(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let env = &f.settings.environment;
    let suffix = format!(":environment:{env}");
    match &f.env.deploy_role {
        Ok(Some(role)) => match policy::statements(&role.trust_policy) {
            Ok(statements) => {
                for s in statements.iter().filter(|s| s.allow) {
                    if s.principals.iter().any(|p| p.starts_with("Federated:")) {
                        let pinned = s.conditions.iter().find(|c| {
                            c.starts_with("StringEquals ")
                                && c.contains(":sub = ")
                                && c.rsplit(" = ").next().is_some_and(|v| v.ends_with(&suffix) && !v.contains('*'))
                        });
                        match pinned {
                            Some(c) => j.env(
                                &role.name,
                                format!("web identity only for {}", c.rsplit(" = ").next().unwrap_or_default()),
                            ),
                            None => j.problem(format!(
                                "{}: a web identity is trusted without pinning its subject to the {env} environment",
                                role.name
                            )),
                        }
                    } else if s.principals.iter().any(|p| policy::is_anyone(p) || p.ends_with(":root")) {
                        j.problem(format!(
                            "{} trusts a whole account or anyone: {}",
                            role.name,
                            s.principals.join(", ")
                        ));
                    } else if !s.principals.is_empty() {
                        let roles: Vec<&str> = s.principals.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).collect();
                        j.env(&role.name, format!("assumable by the roles {}", roles.join(", ")));
                    }
                }
            }
            Err(e) => j.problem(format!("{}'s trust policy: {e}", role.name)),
        },
        Ok(None) => j.problem(format!("the deploy role {} was not found", f.settings.deploy_role_arn)),
        Err(e) => j.problem(format!("the deploy role could not be read: {e}")),
    }
    j.item(
        "sec1-identity",
        Level::Best,
        "Scope access based on identity's metadata",
        "only named roles and CI jobs bound to this environment (their OIDC subject) may assume the deploy role",
        "trust the deploy role to named roles and to GitHub OIDC tokens whose subject is this environment only (deploy-role module)",
    )
}

// --- SEC 2 ----------------------------------------------------------------------------

/// An environment variable whose name says it holds a credential or a secret.
fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE", "ACCESS_KEY", "API_KEY", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w))
}

fn sec2_temporary_credentials(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        match config {
            Ok(c) => {
                let keys: Vec<&String> =
                    c.environment.keys().filter(|k| k.starts_with("AWS_") || secret_name(k)).collect();
                match (&c.role, keys.is_empty()) {
                    (Some(role), true) => j.env(name, format!("runs as {}; no credential in its environment", role)),
                    (None, _) => j.problem(format!("{name} has no execution role")),
                    (_, false) => j.problem(format!(
                        "{name} keeps credentials in its environment: {}",
                        keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            Err(e) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    j.item(
        "sec2-temporary-credentials",
        Level::Required,
        "Use temporary credentials between resources and components",
        "every function acts through its execution role's temporary credentials",
        "run every function with its IAM execution role; never keys in its environment",
    )
}

fn sec2_least_privilege(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for ff in &f.env.functions {
        let name = &ff.function.function_name;
        match &ff.role {
            Ok(Some(role)) => {
                if let Some(other) = seen.insert(role.name.clone(), name.clone()) {
                    j.problem(format!("{other} and {name} share the role {}", role.name));
                }
                if !role.attached_policies.is_empty() {
                    j.problem(format!(
                        "{}: managed policies attached: {}",
                        role.name,
                        role.attached_policies.join(", ")
                    ));
                }
                let mut statements = 0;
                for (policy_name, doc) in &role.inline_policies {
                    match policy::excess(doc) {
                        Ok(excess) if excess.is_empty() => {
                            statements += policy::statements(doc).map_or(0, |s| s.len());
                        }
                        Ok(excess) => j.problem(format!("{}/{policy_name}: {}", role.name, excess.join("; "))),
                        Err(e) => j.problem(format!("{}/{policy_name}: {e}", role.name)),
                    }
                }
                if role.inline_policies.is_empty() && role.attached_policies.is_empty() {
                    j.problem(format!("{} grants nothing: the function cannot work", role.name));
                }
                j.env(
                    &role.name,
                    format!("{name}'s own role: {statements} statement(s), named resources (only X-Ray on *), no managed policy"),
                );
            }
            Ok(None) => j.problem(format!("{name}'s role was not found")),
            Err(e) => j.problem(format!("{name}'s role could not be read: {e}")),
        }
    }
    j.item(
        "sec2-least-privilege",
        Level::Good,
        "Design smaller, single purpose functions, each with its own least-privilege role",
        "each function has its own role, granting only its own actions on named resources",
        "one role per function with only that step's actions on named resources (etl-workflow's iam.tf), no managed policy",
    )
}

// --- SEC 3 ----------------------------------------------------------------------------

fn sec3_validate(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    j.file(
        f.repo,
        repository::RUNTIME,
        &["fn decode", "InvalidInput"],
        "every event is decoded into the function's typed request; one that does not fit fails as InvalidInput",
    );
    j.file(
        f.repo,
        repository::TRANSFORM,
        &["quarantine"],
        "every record is validated; an invalid one is quarantined with its reason, never curated",
    );
    let transform = f.function_name("transform");
    match f.configs().find(|(ff, _)| Some(ff.function.function_name.as_str()) == transform) {
        Some((ff, Ok(c))) => match c.environment.get("QUARANTINE_BUCKET") {
            Some(bucket) => j.env(&ff.function.function_name, format!("quarantines into {bucket}")),
            None => j.problem(format!("{} has no QUARANTINE_BUCKET", ff.function.function_name)),
        },
        Some((ff, Err(e))) => j.problem(format!("{} could not be read: {e}", ff.function.function_name)),
        None => j.problem("no transform function in the settings"),
    }
    j.item(
        "sec3-validate",
        Level::Required,
        "Validate inbound events",
        "events are decoded into typed requests and every record is validated, invalid ones quarantined",
        "decode each event into a typed request and quarantine invalid records",
    )
}

fn sec3_secrets(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        match config {
            Ok(c) => {
                let secret: Vec<&String> = c.environment.keys().filter(|k| secret_name(k)).collect();
                if secret.is_empty() {
                    j.env(name, format!("{} environment variable(s), none named like a secret", c.environment.len()));
                } else {
                    j.problem(format!(
                        "{name}: environment variables named like secrets: {}",
                        secret.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            Err(e) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    j.item(
        "sec3-secrets",
        Level::Good,
        "Store secrets that are used in your code securely",
        "no function keeps a secret in its configuration (they hold names and flags only)",
        "keep secrets in Secrets Manager or SSM Parameter Store and read them at run time, not in environment variables",
    )
}

fn sec3_dependencies(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    j.file(
        f.repo,
        repository::DENY,
        &["[licenses]", "allow", "[bans]", "[sources]", "[advisories]"],
        "cargo-deny's policy: allowed licenses, banned crates, allowed sources, advisories",
    );
    j.file(
        f.repo,
        repository::TEST_SCRIPT,
        &["cargo-deny", "check", "licenses bans sources"],
        "`make test` checks licenses, bans and sources (offline)",
    );
    j.file(
        f.repo,
        repository::DEPENDENCY_SCRIPT,
        &["cargo-deny", "advisories"],
        "checks every dependency, the RustSec advisories included",
    );
    match f.repo.file(repository::PULL_REQUEST_WORKFLOW).map_err(str::to_owned).and_then(repository::jobs) {
        Ok(jobs) => match jobs.iter().find(|job| job.runs.iter().any(|r| r.contains("dependencies.sh"))) {
            Some(job) => j.repo(
                repository::PULL_REQUEST_WORKFLOW,
                format!("job {} runs {} on every pull request", job.name, repository::DEPENDENCY_SCRIPT),
            ),
            None => j.problem(format!("{} does not review the dependencies", repository::PULL_REQUEST_WORKFLOW)),
        },
        Err(e) => j.problem(format!("{}: {e}", repository::PULL_REQUEST_WORKFLOW)),
    }
    j.item(
        "sec3-dependencies",
        Level::Best,
        "Automatically review the workload's code dependencies",
        "cargo-deny checks licenses, bans and sources in `make test`, and the advisories on every pull request",
        "cargo-deny (deny.toml) in `make test` for licenses, bans and sources, and with its advisories in the pull-request workflow",
    )
}

// --- PERF 1 ---------------------------------------------------------------------------

fn perf1_capacity(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let alarms = f.alarms();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        let duration = alarms.as_ref().ok().and_then(|a| {
            ff.function
                .alarms
                .iter()
                .filter_map(|n| a.get(n.as_str()))
                .find(|a| a.metric.as_deref() == Some("Duration"))
        });
        match (config, duration) {
            (Ok(c), Some(alarm)) if c.memory_mb.is_some() => j.env(
                name,
                format!(
                    "{} MB, timeout {} s; {} above {}",
                    c.memory_mb.unwrap_or_default(),
                    c.timeout_s.map_or("?".into(), |t| t.to_string()),
                    alarm.name,
                    alarm.threshold.map_or("?".into(), |t| format!("{t} ms"))
                ),
            ),
            (Ok(_), None) => {
                j.problem(format!("{name}'s duration is not measured against a threshold (no Duration alarm)"))
            }
            (Ok(_), Some(_)) => j.problem(format!("{name} has no memory size")),
            (Err(e), _) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    j.file(
        f.repo,
        repository::TRANSFORM_BENCH,
        &["criterion"],
        "the transform's throughput and memory are measured (`cargo bench -p etl-core`)",
    );
    j.item(
        "perf1-capacity",
        Level::Required,
        "Measure, evaluate, and select optimum capacity units",
        "each function's memory is set from measurement, and its p99 duration is alarmed",
        "size each function's memory from measurements (the transform benchmark) and alarm on its p99 Duration",
    )
}

fn perf1_orchestration(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.workflow() {
        Ok((w, d)) => {
            // `arn:aws:lambda:R:A:function:NAME:live` as `NAME:live`.
            let tasks: Vec<String> = d
                .tasks()
                .filter_map(|t| t.resource())
                .map(|r| r.split(":function:").last().unwrap_or(r).to_owned())
                .collect();
            j.env(short(&w.arn), format!("Step Functions calls each step: {}", dedup(tasks).join(", ")));
        }
        Err(e) => j.problem(e),
    }
    for ff in &f.env.functions {
        if let Ok(Some(role)) = &ff.role {
            let invokes = role.inline_policies.iter().any(|(_, doc)| {
                policy::statements(doc).is_ok_and(|s| {
                    s.iter().any(|s| s.allow && s.actions.iter().any(|a| a.starts_with("lambda:Invoke")))
                })
            });
            if invokes {
                j.problem(format!("{} may invoke other functions", ff.function.function_name));
            }
        }
    }
    j.item(
        "perf1-orchestration",
        Level::Good,
        "Integrate with managed services directly: orchestration by Step Functions, not by functions",
        "the state machine calls every step and fans out with Map; no function waits on another",
        "let Step Functions call each function (Task, Map); no function invokes another",
    )
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

// --- COST 1 ---------------------------------------------------------------------------

fn cost1_logging(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match &f.env.log_groups {
        Ok(groups) if !groups.is_empty() => {
            for g in groups {
                match g.retention_days {
                    Some(days) => j.env(&g.name, format!("retention {days} days")),
                    None => j.problem(format!("{} never expires", g.name)),
                }
            }
        }
        Ok(_) => j.problem("no log group was found"),
        Err(e) => j.problem(format!("the log groups could not be read: {e}")),
    }
    for (ff, config) in f.configs() {
        if let Ok(level) = config.map(|c| c.environment.get("LOG_LEVEL").map_or("info", String::as_str)) {
            if matches!(level, "debug" | "trace") {
                j.problem(format!("{} logs at {level}", ff.function.function_name));
            }
        }
    }
    if let Ok(Some(w)) = &f.env.workflow {
        match w.logging_level.as_deref() {
            Some("ALL") => j.problem(format!("{} logs every execution's data (ALL)", short(&w.arn))),
            Some(level) => j.env(short(&w.arn), format!("execution logging {level}")),
            None => {}
        }
    }
    j.item(
        "cost1-logging",
        Level::Required,
        "Optimize logging output and its retention",
        "every log group expires its events, the functions log at info or quieter, the workflow logs errors only",
        "a retention on every log group, LOG_LEVEL info or quieter, and the state machine's logging at ERROR",
    )
}

fn cost1_configuration(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        match config {
            Ok(c) if c.architectures.iter().any(|a| a == "arm64") => {
                j.env(name, format!("arm64, {} MB", c.memory_mb.map_or("?".into(), |m| m.to_string())))
            }
            Ok(c) if c.architectures.is_empty() => j.problem(format!("{name} has no architecture")),
            Ok(c) => j.problem(format!("{name} runs on {}", c.architectures.join(","))),
            Err(e) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    j.item(
        "cost1-configuration",
        Level::Good,
        "Optimize function configuration to reduce cost",
        "every function runs on arm64 (Graviton: a lower price per GB-second) with a memory size of its own",
        "run the functions on arm64 (`architecture` in deployer.yaml and the workload-account module) with memory sized per function",
    )
}

fn cost1_patterns(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let extract = f.function_name("extract");
    match f.configs().find(|(ff, _)| Some(ff.function.function_name.as_str()) == extract) {
        Some((ff, Ok(c))) => match c.environment.get("BATCH_MAX_BYTES") {
            Some(bytes) => j.env(
                &ff.function.function_name,
                format!("batches raw objects up to {bytes} bytes per transform invocation"),
            ),
            None => j.problem(format!("{} sets no BATCH_MAX_BYTES", ff.function.function_name)),
        },
        Some((ff, Err(e))) => j.problem(format!("{} could not be read: {e}", ff.function.function_name)),
        None => j.problem("no extract function in the settings"),
    }
    j.file(
        f.repo,
        repository::TRANSFORM,
        &["BufRead"],
        "the transform streams each object record by record instead of loading it whole",
    );
    j.file(
        f.repo,
        repository::ETL_MODULE,
        &["expire-staged-output", "noncurrent_version_expiration"],
        "staged output and replaced versions expire (S3 lifecycle)",
    );
    match &f.env.run_ledger.1 {
        Ok(Some(t)) if t.on_demand => j.env(&t.name, "billed per request (no idle capacity)"),
        Ok(Some(t)) => j.problem(format!("{} has provisioned capacity", t.name)),
        Ok(None) => j.problem(format!("the run ledger {} does not exist", f.env.run_ledger.0)),
        Err(e) => j.problem(format!("the run ledger could not be read: {e}")),
    }
    j.item(
        "cost1-patterns",
        Level::Best,
        "Use cost-aware usage patterns in code",
        "objects go in batches per invocation, records stream, intermediate data expires, tables bill per request",
        "batch objects per invocation (BATCH_MAX_BYTES), stream records, expire staged output, and bill tables per request",
    )
}
