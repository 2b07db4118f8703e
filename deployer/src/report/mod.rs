//! What the deployer tells people and machines: live progress on stderr ([`ui`]), and
//! at the end one report built from the command's typed outcome ([`model`]), printed as
//! a table ([`text`]) or JSON, with, under GitHub Actions, a Markdown step summary
//! ([`markdown`]) and an `::error` annotation.

pub mod html;
mod markdown;
pub mod model;
mod review;
mod text;
mod timeline_chart;
pub mod ui;

use std::io::Write;

pub use model::{Report, Timings, REPORT_SCHEMA};
pub use review::markdown as review_markdown;
pub use ui::{Format, Ui};

impl Report {
    /// Writes the report as asked, plus the GitHub summary and annotation.
    pub fn emit(&self, format: Format) {
        let mut stdout = std::io::stdout().lock();
        let _ = match format {
            Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(self).unwrap_or_default()),
            Format::Text => write!(stdout, "{}", self.text()),
        };
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(f, "{}", self.markdown());
            }
        }
        if std::env::var_os("GITHUB_ACTIONS").is_some() && self.exit_code != 0 {
            let message = self
                .message
                .as_deref()
                .unwrap_or(&self.outcome)
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            let line = format!(
                "::error title=deployer {} {}::{message}",
                self.command,
                self.environment.as_deref().unwrap_or("")
            );
            // The runner reads workflow commands from both streams; with --output json
            // stdout stays one JSON document.
            let _ = match format {
                Format::Json => writeln!(std::io::stderr(), "{line}"),
                Format::Text => writeln!(stdout, "{line}"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::{FunctionReport, Timings};
    use super::*;
    use crate::error::{DeployError, RefusalKind};

    fn sample() -> Report {
        let mut r = Report::new("deploy", Some("dev"), Timings::default());
        r.release_id = Some("r-abc".into());
        r.outcome = "rolled_back".into();
        r.exit_code = 2;
        r.message = Some("alarm etl-dev-transform-errors is ALARM".into());
        r.functions.push(FunctionReport {
            name: "transform".into(),
            function_name: "etl-dev-transform".into(),
            previous_version: Some("3".into()),
            version: Some("4".into()),
            deployment_id: Some("d-1".into()),
            outcome: "rolled_back".into(),
            duration_ms: Some(10),
            ..FunctionReport::default()
        });
        r
    }

    #[test]
    fn text_markdown_and_json_carry_the_verdict() {
        let r = sample();
        let text = r.text();
        assert!(text.contains("rolled back") && text.contains("transform  3 -> 4") && text.contains("d-1"), "{text}");
        let md = r.markdown();
        assert!(md.contains("| etl-dev-transform | 3 | 4 | rolled_back | d-1 |"), "{md}");
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema"], REPORT_SCHEMA);
        assert_eq!(json["exit_code"], 2);
        assert_eq!(json["functions"][0]["version"], "4");
        assert!(json.get("releases").is_none(), "empty sections are left out");
    }

    #[test]
    fn a_refusal_is_typed_with_its_retry_time() {
        let mut refusal =
            crate::error::Refusal::new(RefusalKind::NotSoaked, "soaked 1m of 10m", "promote again after T");
        refusal.retry_after_ms = Some(1_700_000_000_000);
        let r = Report::new("promote", Some("prod"), Timings::default()).of_error(&DeployError::Refused(refusal));
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!((json["outcome"].as_str(), json["exit_code"].as_i64()), (Some("refused"), Some(5)));
        assert_eq!(json["refusal"]["kind"], "not_soaked");
        assert_eq!(json["refusal"]["retry_after"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["refusal"]["retry_after_ms"], 1_700_000_000_000u64);
        assert!(json.get("error").is_none());
        assert!(r.markdown().contains("retry after 2023-11-14T22:13:20.000Z"));
    }
}
