//! The report as a person reads it at a terminal: a headline, the message, and a table
//! (per function; for `status` in the manner of Argo Rollouts' CLI: the strategy, each
//! function's stable and canary versions, step, deployment and alarms).

use super::model::{duration_cell, FunctionReport, Report};
use crate::release::short_commit;

impl Report {
    pub fn text(&self) -> String {
        let mut out = String::new();
        let target = self.environment.as_deref().unwrap_or("-");
        let release = self.release_id.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
        let commit = self.git_commit.as_deref().map(|c| format!(" (commit {})", short_commit(c))).unwrap_or_default();
        out.push_str(&format!(
            "{}{release}{commit} -> {target}: {} in {:.1}s (deployer overhead {} ms)\n",
            self.command,
            self.outcome.replace('_', " "),
            self.duration_ms as f64 / 1000.0,
            self.overhead_ms
        ));
        if let Some(message) = &self.message {
            out.push_str(&format!("{message}\n"));
        }
        if self.command == "status" {
            out.push_str(&self.status_text());
        } else if !self.functions.is_empty() {
            let rows: Vec<[String; 4]> = self.functions.iter().map(release_row).collect();
            out.push_str(&table(&["FUNCTION", "VERSION", "OUTCOME", "DEPLOYMENT"], &rows));
        }
        if !self.evidence.is_empty() {
            out.push_str(&table(&EVIDENCE_HEADER, &self.evidence.iter().map(evidence_row).collect::<Vec<_>>()));
        }
        if let Some(diff) = &self.shadow {
            out.push_str(&shadow_text(diff));
        }
        if !self.releases.is_empty() {
            let rows: Vec<[String; 7]> = self
                .releases
                .iter()
                .map(|r| {
                    let from = r.source_environment.as_deref().map(|s| format!(" from {s}")).unwrap_or_default();
                    let reason = match r.status {
                        "succeeded" if r.kind != "rollback" => String::new(),
                        _ => r.reason.as_deref().unwrap_or_default().lines().next().unwrap_or_default().to_owned(),
                    };
                    [
                        r.started_at.clone(),
                        r.release_id.clone(),
                        format!("{}{from}", r.kind),
                        r.status.to_owned(),
                        duration_cell(r.duration_ms),
                        short_commit(&r.git_commit).to_owned(),
                        reason,
                    ]
                })
                .collect();
            out.push_str(&table(&["STARTED", "RELEASE", "KIND", "STATUS", "DURATION", "COMMIT", "REASON"], &rows));
        }
        if !self.checks.is_empty() {
            let rows: Vec<[String; 4]> = self
                .checks
                .iter()
                .map(|c| [c.status_label().to_owned(), c.check.to_owned(), c.subject.clone(), c.detail.clone()])
                .collect();
            out.push_str(&table(&["STATUS", "CHECK", "SUBJECT", "DETAIL"], &rows));
            for c in self.checks.iter().filter(|c| c.fix.is_some()) {
                out.push_str(&format!("{} {}: fix: {}\n", c.check, c.subject, c.fix.as_deref().unwrap_or_default()));
            }
        }
        if let Some(review) = &self.review {
            out.push_str(&super::review::text(review));
        }
        if !self.pruned.is_empty() {
            out.push_str(&format!("deleted versions: {}\n", self.pruned.join(", ")));
        }
        out
    }

    fn status_text(&self) -> String {
        let mut out = String::new();
        let strategy = match (&self.strategy, &self.deployment_config) {
            (Some(s), Some(c)) => format!("{s} ({c})"),
            (None, Some(c)) => c.clone(),
            _ => "-".into(),
        };
        out.push_str(&format!("strategy: {strategy}\n"));
        match &self.lock {
            Some(l) => out.push_str(&format!("lock: held by {} since {} (expires {})\n", l.holder, l.since, l.expires)),
            None => out.push_str("lock: free\n"),
        }
        let rows: Vec<[String; 6]> = self
            .functions
            .iter()
            .map(|f| {
                let alias = f.alias.as_ref();
                let stable = alias.map_or("-".into(), |a| a.version.clone());
                let canary = match alias.and_then(|a| a.additional_version.clone().zip(a.additional_weight)) {
                    Some((v, w)) if w > 0.0 => format!("{v} ({:.0}%)", w * 100.0),
                    _ => "-".into(),
                };
                let mut state = f.outcome.clone();
                if let Some(d) = &f.drift {
                    state = format!("drifted (ledger: {})", d.recorded_version);
                }
                [
                    f.name.clone(),
                    stable,
                    canary,
                    state,
                    f.deployment_id.clone().unwrap_or_else(|| "-".into()),
                    alarms_cell(f),
                ]
            })
            .collect();
        out.push_str(&table(&["FUNCTION", "STABLE", "CANARY", "STATE", "DEPLOYMENT", "ALARMS"], &rows));
        out
    }
}

/// The shadow diff: its counts, then each changed record's fields side by side.
pub(crate) fn shadow_text(diff: &crate::shadow::ShadowDiff) -> String {
    let day = diff.run_date.as_deref().map(|d| format!(" of {d}")).unwrap_or_default();
    let mut out = format!("shadow run{day}: {}\n", diff.summary());
    let rows: Vec<[String; 4]> = diff
        .examples
        .iter()
        .flat_map(|e| {
            e.fields.iter().map(move |c| {
                [
                    e.order_id.clone().unwrap_or_else(|| e.idempotency_key.clone()),
                    c.field.clone(),
                    c.production.to_string(),
                    c.shadow.to_string(),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table(&["RECORD", "FIELD", "PRODUCTION", "NEW RELEASE"], &rows));
    }
    out
}

pub(crate) const EVIDENCE_HEADER: [&str; 7] =
    ["FUNCTION", "STEP", "NEW VERSION", "OLD VERSION", "SOURCE", "VERDICT", "JUDGE (NEW VS OLD)"];

/// One step's evidence: invocations / errors / p50 / p99 of each version, where the
/// traffic came from, the verdict, and the judge's.
pub(crate) fn evidence_row(e: &crate::ledger::StepEvidence) -> [String; 7] {
    let stats = |version: &str, s: &crate::cloud::VersionStats| {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.0}"));
        format!("v{version}: {} inv, {} err, p50 {} ms, p99 {} ms", s.invocations, s.errors, ms(s.p50_ms), ms(s.p99_ms))
    };
    let source = match (&e.replay_source, e.replay_executions) {
        (Some(source), n) if n > 0 => format!("live + {source} ({n} runs)"),
        _ => "live".into(),
    };
    let verdict = match e.verdict {
        crate::ledger::EvidenceVerdict::Passed => format!("passed (min {})", e.min_invocations),
        crate::ledger::EvidenceVerdict::Warned => format!("warning: under min {}", e.min_invocations),
        crate::ledger::EvidenceVerdict::NoEvidence => format!("NO EVIDENCE (min {})", e.min_invocations),
        crate::ledger::EvidenceVerdict::Exempt => "exempt".into(),
    };
    [
        e.artifact.clone(),
        format!("{:.0}%", e.step_percent),
        stats(&e.new_version, &e.new),
        stats(&e.old_version, &e.old),
        source,
        verdict,
        e.judgment.as_ref().map_or_else(|| "-".into(), |j| format!("{}: {}", j.verdict.as_str(), j.summary())),
    ]
}

fn release_row(f: &FunctionReport) -> [String; 4] {
    let versions = match (&f.previous_version, &f.version) {
        (Some(p), Some(v)) if p != v => format!("{p} -> {v}"),
        (Some(p), _) => p.clone(),
        (None, Some(v)) => v.clone(),
        _ => "-".into(),
    };
    let outcome = if f.configuration.is_empty() {
        f.outcome.clone()
    } else {
        format!("{} (configuration: {})", f.outcome, f.configuration.join(", "))
    };
    [f.name.clone(), versions, outcome, f.deployment_id.clone().unwrap_or_else(|| "-".into())]
}

fn alarms_cell(f: &FunctionReport) -> String {
    if f.alarms.is_empty() {
        return "-".into();
    }
    let bad: Vec<&str> = f.alarms.iter().filter(|a| a.state != "OK").map(|a| a.name.as_str()).collect();
    if bad.is_empty() {
        format!("OK ({})", f.alarms.len())
    } else {
        format!("not OK: {}", bad.join(", "))
    }
}

pub(crate) fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        format!("{}\n", line.trim_end())
    };
    let mut out = render(header.to_vec());
    for row in rows {
        out.push_str(&render(row.iter().map(String::as_str).collect()));
    }
    out
}
