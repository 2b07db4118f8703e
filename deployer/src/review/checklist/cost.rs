//! The checklist's COST 1: logging, configuration and usage patterns.

use super::super::model::{Item, Level};
use super::super::repository;
use super::{short, Facts, Judge};

// --- COST 1 ---------------------------------------------------------------------------

pub(super) fn cost1_logging(f: &Facts<'_>) -> Item {
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

pub(super) fn cost1_configuration(f: &Facts<'_>) -> Item {
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

pub(super) fn cost1_patterns(f: &Facts<'_>) -> Item {
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
