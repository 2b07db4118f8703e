//! What the deployer tells people and machines: live progress on stderr (redrawn on a
//! terminal, timestamped lines otherwise), a final table or a JSON report on stdout,
//! and, under GitHub Actions, a Markdown step summary and `::error` annotations.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::ledger::{now_ms, rfc3339};

pub const REPORT_SCHEMA: &str = "deployer.report/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub struct Ui {
    format: Format,
    verbosity: i8,
    tty: bool,
    drawn: usize,
    last_rows: Vec<String>,
}

impl Ui {
    pub fn new(format: Format, verbosity: i8) -> Self {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self { format, verbosity, tty, drawn: 0, last_rows: Vec::new() }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    fn line(&mut self, text: &str) {
        self.clear_block();
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = writeln!(err, "{text}");
        } else {
            let _ = writeln!(err, "{} {text}", rfc3339(now_ms()));
        }
    }

    /// A step worth telling (hidden by -q).
    pub fn info(&mut self, text: &str) {
        if self.verbosity >= 0 {
            self.line(text);
        }
    }

    /// Detail for -v.
    pub fn detail(&mut self, text: &str) {
        if self.verbosity > 0 {
            self.line(text);
        }
    }

    /// A warning: always shown.
    pub fn warn(&mut self, text: &str) {
        self.line(&format!("warning: {text}"));
    }

    /// One line per function; redrawn in place on a terminal, printed when it changes
    /// otherwise.
    pub fn progress(&mut self, rows: &[String]) {
        if self.verbosity < 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            if self.drawn > 0 {
                let _ = write!(err, "\x1b[{}A", self.drawn);
            }
            for row in rows {
                let _ = writeln!(err, "\x1b[2K  {row}");
            }
            self.drawn = rows.len();
        } else {
            self.last_rows.resize(rows.len(), String::new());
            for (row, last) in rows.iter().zip(self.last_rows.iter_mut()) {
                if row != last {
                    let _ = writeln!(err, "{}   {row}", rfc3339(now_ms()));
                    last.clone_from(row);
                }
            }
            return;
        }
        self.last_rows = rows.to_vec();
    }

    fn clear_block(&mut self) {
        // Progress stays on screen; the next lines print below it.
        self.drawn = 0;
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionReport {
    pub name: String,
    pub function_name: String,
    pub previous_version: Option<String>,
    pub version: Option<String>,
    pub code_sha256: Option<String>,
    pub deployment_id: Option<String>,
    pub outcome: String,
    pub duration_ms: Option<u64>,
    /// For status: the alias right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<AliasReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AliasReport {
    pub version: String,
    pub additional_version: Option<String>,
    pub additional_weight: Option<f64>,
    pub in_flight_deployments: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlarmReport {
    pub name: String,
    pub state: String,
    pub function_name: Option<String>,
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    pub record_id: String,
    pub release_id: String,
    pub kind: String,
    pub status: String,
    pub git_commit: String,
    pub source_environment: Option<String>,
    pub started_at: String,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
}

/// The final report of any command. `--output json` prints it as is; its schema is
/// documented in deployer/README.md ("JSON report").
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub schema: &'static str,
    pub command: String,
    pub environment: Option<String>,
    pub source_environment: Option<String>,
    pub release_id: Option<String>,
    pub git_commit: Option<String>,
    /// succeeded, no_changes, rolled_back, failed, refused, error
    pub outcome: String,
    pub exit_code: i32,
    pub message: Option<String>,
    pub alarm: Option<AlarmReport>,
    pub started_at: String,
    pub duration_ms: u64,
    /// Time spent waiting on the cloud (calls and polling sleeps).
    pub cloud_wait_ms: u64,
    /// The deployer's own time: duration minus cloud waits.
    pub overhead_ms: u64,
    pub functions: Vec<FunctionReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<HistoryEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
}

impl Report {
    pub fn new(command: &str, started_ms: u64) -> Self {
        Self {
            schema: REPORT_SCHEMA,
            command: command.to_owned(),
            environment: None,
            source_environment: None,
            release_id: None,
            git_commit: None,
            outcome: "succeeded".into(),
            exit_code: 0,
            message: None,
            alarm: None,
            started_at: rfc3339(started_ms),
            duration_ms: 0,
            cloud_wait_ms: 0,
            overhead_ms: 0,
            functions: Vec::new(),
            releases: Vec::new(),
            pruned: Vec::new(),
            lock: None,
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let target = self.environment.as_deref().unwrap_or("-");
        let release = self.release_id.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
        let commit = self.git_commit.as_deref().map(|c| format!(" (commit {})", short(c))).unwrap_or_default();
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
        if !self.functions.is_empty() {
            let rows: Vec<[String; 5]> = self
                .functions
                .iter()
                .map(|f| {
                    let versions = match (&f.alias, &f.previous_version, &f.version) {
                        (Some(a), _, _) => match (&a.additional_version, a.additional_weight) {
                            (Some(v), Some(w)) => {
                                format!("{} ({:.0}%) + {v} ({:.0}%)", a.version, (1.0 - w) * 100.0, w * 100.0)
                            }
                            _ => a.version.clone(),
                        },
                        (None, Some(p), Some(v)) if p != v => format!("{p} -> {v}"),
                        (None, Some(p), _) => p.clone(),
                        (None, None, Some(v)) => v.clone(),
                        _ => "-".into(),
                    };
                    let extra = match &f.alias {
                        Some(a) if !a.in_flight_deployments.is_empty() => a.in_flight_deployments.join(","),
                        _ => f.deployment_id.clone().unwrap_or_else(|| "-".into()),
                    };
                    let alarms = if f.alarms.is_empty() {
                        String::new()
                    } else {
                        let bad: Vec<&str> =
                            f.alarms.iter().filter(|a| a.state != "OK").map(|a| a.name.as_str()).collect();
                        if bad.is_empty() {
                            format!(" alarms OK ({})", f.alarms.len())
                        } else {
                            format!(" not OK: {}", bad.join(", "))
                        }
                    };
                    [f.name.clone(), versions, f.outcome.clone(), extra, alarms]
                })
                .collect();
            out.push_str(&table(&["FUNCTION", "VERSION", "OUTCOME", "DEPLOYMENT", ""], &rows));
        }
        if !self.releases.is_empty() {
            let rows: Vec<[String; 5]> = self
                .releases
                .iter()
                .map(|r| {
                    let from = r.source_environment.as_deref().map(|s| format!(" from {s}")).unwrap_or_default();
                    [
                        r.started_at.clone(),
                        r.release_id.clone(),
                        format!("{}{from}", r.kind),
                        r.status.clone(),
                        short(&r.git_commit).to_owned(),
                    ]
                })
                .collect();
            out.push_str(&table(&["STARTED", "RELEASE", "KIND", "STATUS", "COMMIT"], &rows));
        }
        if !self.pruned.is_empty() {
            out.push_str(&format!("deleted versions: {}\n", self.pruned.join(", ")));
        }
        if let Some(lock) = &self.lock {
            out.push_str(&format!("lock: {lock}\n"));
        }
        out
    }

    pub fn markdown(&self) -> String {
        let icon = match self.outcome.as_str() {
            "succeeded" | "no_changes" => "✅",
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
        if !self.functions.is_empty() {
            out.push_str("| Function | Previous | Version | Outcome | Deployment |\n|---|---|---|---|---|\n");
            for f in &self.functions {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    f.function_name,
                    f.previous_version.as_deref().unwrap_or("-"),
                    f.version.as_deref().unwrap_or("-"),
                    f.outcome,
                    f.deployment_id.as_deref().unwrap_or("-")
                ));
            }
        }
        out.push_str(&format!(
            "\nDuration {:.1}s, deployer overhead {} ms, commit `{}`.\n",
            self.duration_ms as f64 / 1000.0,
            self.overhead_ms,
            self.git_commit.as_deref().unwrap_or("-")
        ));
        out
    }

    /// Writes the report as asked, plus the GitHub summary and annotations.
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

pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("deploy", 0);
        r.environment = Some("dev".into());
        r.release_id = Some("r-abc".into());
        r.outcome = "rolled_back".into();
        r.exit_code = 2;
        r.message = Some("alarm etl-dev-transform-errors is ALARM".into());
        r.functions.push(FunctionReport {
            name: "transform".into(),
            function_name: "etl-dev-transform".into(),
            previous_version: Some("3".into()),
            version: Some("4".into()),
            code_sha256: None,
            deployment_id: Some("d-1".into()),
            outcome: "rolled_back".into(),
            duration_ms: Some(10),
            alias: None,
            alarms: Vec::new(),
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
}
