//! The checklist's REL 1 (inbound rates: concurrency, throttles) and REL 2 (resiliency:
//! failures, idempotency, the saga).

use super::super::model::{Item, Level};
use super::super::workflow::{Definition, Qualifier};
use super::{short, Facts, Judge};

// --- REL 1 ----------------------------------------------------------------------------

pub(super) fn rel1_concurrency(f: &Facts<'_>) -> Item {
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

pub(super) fn rel1_throttles(f: &Facts<'_>) -> Item {
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

/// The Task states that run a published version of the compensate function (its live
/// alias, or the release the execution drew; never `$LATEST`).
fn compensating<'d>(f: &Facts<'_>, d: &'d Definition) -> Vec<&'d str> {
    let Some(compensate) = f.function_name("compensate") else { return Vec::new() };
    d.tasks()
        .filter(|t| t.invocation().is_some_and(|i| i.function == compensate && i.qualifier != Qualifier::Unqualified))
        .map(|t| t.name.as_str())
        .collect()
}

pub(super) fn rel2_failures(f: &Facts<'_>) -> Item {
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

pub(super) fn rel2_idempotency(f: &Facts<'_>) -> Item {
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

pub(super) fn rel2_saga(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.workflow() {
        Ok((w, d)) => {
            let undo = compensating(f, &d);
            if undo.is_empty() {
                j.problem(format!("no state of {} runs the compensate function", short(&w.arn)));
            }
            // The run's steps: the states that invoke a function or fan out. A Task that
            // only reads (the routing record's getItem) writes nothing to undo; its catch
            // is a fallback (to the live aliases), not a failure of the run.
            let steps = d.states.iter().filter(|s| {
                s.inside.is_none() && !undo.contains(&s.name.as_str()) && (s.kind == "Map" || s.invocation().is_some())
            });
            for state in steps {
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
        "route every caught failure through a state that runs a published version of the compensate function (its live alias or the execution's release), then a Fail state",
    )
}
