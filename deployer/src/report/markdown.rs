//! The report as a GitHub step summary.

use super::model::Report;

impl Report {
    pub fn markdown(&self) -> String {
        let icon = match self.outcome.as_str() {
            "succeeded" | "no_changes" | "ok" | "changes" | "restored" => "✅",
            "rolled_back" => "↩️",
            _ => "❌",
        };
        let mut out = format!(
            "### {icon} deployer {} {} -> {}: {}\n\n",
            self.command,
            self.release_id.as_deref().unwrap_or(""),
            self.environment.as_deref().unwrap_or("-"),
            self.outcome.replace('_', " ")
        );
        if let Some(message) = &self.message {
            out.push_str(&format!("{}\n\n", message.replace('\n', "<br>")));
        }
        if let Some(r) = &self.refusal {
            out.push_str(&format!("Refused (`{}`)", r.kind));
            if let Some(at) = &r.retry_after {
                out.push_str(&format!(", retry after {at}"));
            }
            out.push_str(".\n\n");
        }
        if !self.functions.is_empty() {
            out.push_str("| Function | Previous | Version | Outcome | Deployment |\n|---|---|---|---|---|\n");
            for f in &self.functions {
                let outcome = if f.configuration.is_empty() {
                    f.outcome.clone()
                } else {
                    format!("{} (configuration: {})", f.outcome, f.configuration.join(", "))
                };
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    f.function_name,
                    f.previous_version.as_deref().unwrap_or("-"),
                    f.version.as_deref().unwrap_or("-"),
                    outcome,
                    f.deployment_id.as_deref().unwrap_or("-")
                ));
            }
        }
        if !self.evidence.is_empty() {
            out.push_str(
                "\n| Function | Step | New version | Old version | Source | Verdict | Judge (new vs old) |\n|---|---|---|---|---|---|---|\n",
            );
            for e in &self.evidence {
                let row = super::text::evidence_row(e);
                out.push_str(&format!("| {} |\n", row.join(" | ")));
            }
        }
        if let Some(diff) = &self.shadow {
            out.push_str(&format!("\n**Shadow run**: {}\n", diff.summary().replace('|', "\\|")));
            if !diff.examples.is_empty() {
                out.push_str("\n| Record | Field | Production | New release |\n|---|---|---|---|\n");
                for e in &diff.examples {
                    for c in &e.fields {
                        out.push_str(&format!(
                            "| {} | {} | {} | {} |\n",
                            e.order_id.as_deref().unwrap_or(&e.idempotency_key),
                            c.field,
                            c.production,
                            c.shadow
                        ));
                    }
                }
            }
        }
        if !self.checks.is_empty() {
            out.push_str("| Status | Check | Subject | Detail | Fix |\n|---|---|---|---|---|\n");
            for c in &self.checks {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    c.status_label(),
                    c.check,
                    c.subject,
                    c.detail.replace('|', "\\|"),
                    c.fix.as_deref().unwrap_or("").replace('|', "\\|")
                ));
            }
        }
        if let Some(review) = &self.review {
            out.push_str(&super::review::markdown(review));
        }
        out.push_str(&format!(
            "\nDuration {:.1}s, deployer overhead {} ms, commit `{}`.\n",
            self.duration_ms as f64 / 1000.0,
            self.overhead_ms,
            self.git_commit.as_deref().unwrap_or("-")
        ));
        out
    }
}
