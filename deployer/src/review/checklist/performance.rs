//! The checklist's PERF 1: capacity and orchestration.

use super::super::model::{Item, Level};
use super::super::policy;
use super::super::repository;
use super::{short, Facts, Judge};

// --- PERF 1 ---------------------------------------------------------------------------

pub(super) fn perf1_capacity(f: &Facts<'_>) -> Item {
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

pub(super) fn perf1_orchestration(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    match f.workflow() {
        Ok((w, d)) => {
            let tasks: Vec<String> = d.tasks().filter_map(|t| t.invocation()).map(|i| i.to_string()).collect();
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
