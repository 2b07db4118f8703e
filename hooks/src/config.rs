//! The hooks' settings, from the environment the Terraform module sets: `HOOK_CHECKS`
//! (per function), and for post-traffic `SMOKE_STATE_MACHINE_ARN`, `SMOKE_INPUT`,
//! `SMOKE_TIMEOUT_SECONDS`. Every error names the variable (and the entry and field).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

use crate::Hook;

pub const HOOK_CHECKS: &str = "HOOK_CHECKS";
pub const SMOKE_STATE_MACHINE_ARN: &str = "SMOKE_STATE_MACHINE_ARN";
pub const SMOKE_INPUT: &str = "SMOKE_INPUT";
pub const SMOKE_TIMEOUT_SECONDS: &str = "SMOKE_TIMEOUT_SECONDS";
pub const DEFAULT_SMOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the smoke execution is polled.
pub const SMOKE_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A setting that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    pub message: String,
}

fn error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

/// What the hooks check for one function (one entry of `HOOK_CHECKS`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionChecks {
    /// Fixture events pre-traffic invokes the target version with, as JSON documents.
    pub events: Vec<Value>,
    /// The longest an invoke of a fixture event may take, round trip.
    pub max_duration: Duration,
    /// Alarms that must exist and not be in ALARM after traffic has shifted.
    pub alarm_names: Vec<String>,
    /// The most `Errors` (Sum) the target version may report over the window.
    pub max_errors: f64,
    /// How far back post-traffic counts the target version's errors.
    pub error_window: Duration,
    /// The invocations the target version must have served since traffic reached it
    /// (deployer.yaml's evidence rule); 0 asks for none.
    pub min_invocations: u64,
    /// Whether too few invocations fail the deployment (true) or pass with a warning.
    pub evidence_required: bool,
}

/// The post-traffic smoke execution of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smoke {
    pub state_machine_arn: String,
    /// The execution's input, a JSON document (`{}` when `SMOKE_INPUT` is unset).
    pub input: String,
    pub timeout: Duration,
    /// How often DescribeExecution is called while it runs ([`SMOKE_POLL_INTERVAL`]).
    pub poll_interval: Duration,
}

/// Everything a hook reads from its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Keyed by the full function name, as in `HOOK_CHECKS`.
    pub checks: BTreeMap<String, FunctionChecks>,
    /// Post-traffic only; `None` when `SMOKE_STATE_MACHINE_ARN` is empty or absent.
    pub smoke: Option<Smoke>,
    /// Things worth a warning that do not stop the hook (unknown keys).
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(hook: Hook) -> Result<Self, ConfigError> {
        Self::from_lookup(hook, |name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(hook: Hook, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let raw = set(HOOK_CHECKS).ok_or_else(|| {
            error(
                HOOK_CHECKS,
                "is not set: the hooks' Terraform module sets it to a JSON object keyed by function name",
            )
        })?;
        let mut warnings = Vec::new();
        let checks = parse_checks(&raw, &mut warnings)?;
        let smoke = match hook {
            Hook::PreTraffic => None,
            Hook::PostTraffic => parse_smoke(&set)?,
        };
        Ok(Self { checks, smoke, warnings })
    }

    /// The checks of `function`; a function without an entry is a misconfiguration.
    pub fn checks_for(&self, function: &str) -> Result<&FunctionChecks, ConfigError> {
        self.checks.get(function).ok_or_else(|| {
            let known = if self.checks.is_empty() {
                "it has no entries".to_owned()
            } else {
                format!("it has entries for {}", self.checks.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
            };
            error(
                HOOK_CHECKS,
                format!(
                    "has no entry for the function {function:?} ({known}); add the function to the hook module's checks"
                ),
            )
        })
    }
}

const KNOWN_KEYS: [&str; 7] = [
    "events",
    "max_duration_ms",
    "alarm_names",
    "max_errors",
    "error_window_seconds",
    "min_invocations",
    "evidence_required",
];

fn parse_checks(raw: &str, warnings: &mut Vec<String>) -> Result<BTreeMap<String, FunctionChecks>, ConfigError> {
    let document: Value =
        serde_json::from_str(raw).map_err(|e| error(HOOK_CHECKS, format!("is not valid JSON: {e}")))?;
    let Value::Object(entries) = document else {
        return Err(error(HOOK_CHECKS, "must be a JSON object keyed by function name"));
    };
    let mut checks = BTreeMap::new();
    for (function, entry) in entries {
        let at = |field: &str| format!("[{function:?}].{field}");
        let Value::Object(fields) = entry else {
            return Err(error(HOOK_CHECKS, format!("[{function:?}] must be an object")));
        };
        for key in fields.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
            warnings.push(format!(
                "{HOOK_CHECKS}[{function:?}] has an unknown key {key:?} (known: {}); it is ignored",
                KNOWN_KEYS.join(", ")
            ));
        }
        let field = |name: &str| fields.get(name).filter(|v| !v.is_null());

        let events = match field("events") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(text) => serde_json::from_str(text).map_err(|e| {
                        error(
                            HOOK_CHECKS,
                            format!(
                                "{}[{i}] is a string that does not hold a JSON document ({e}); \
                                 give the event as JSON, or as a string of JSON (a plain string event is \"\\\"text\\\"\")",
                                at("events")
                            ),
                        )
                    }),
                    other => Ok(other.clone()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(error(HOOK_CHECKS, format!("{} must be a list of events", at("events")))),
        };

        let alarm_names = match field("alarm_names") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut names: Vec<String> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().map(str::trim) {
                        Some(name) if !name.is_empty() => {
                            if !names.iter().any(|n| n == name) {
                                names.push(name.to_owned());
                            }
                        }
                        _ => {
                            return Err(error(
                                HOOK_CHECKS,
                                format!("{}[{i}] must be an alarm name, not {item}", at("alarm_names")),
                            ))
                        }
                    }
                }
                names
            }
            Some(_) => return Err(error(HOOK_CHECKS, format!("{} must be a list of alarm names", at("alarm_names")))),
        };

        let max_duration_ms = whole(field("max_duration_ms"), &at("max_duration_ms"), "milliseconds", 1)?;
        let error_window_seconds = whole(field("error_window_seconds"), &at("error_window_seconds"), "seconds", 1)?;
        let max_errors = match field("max_errors") {
            None => {
                return Err(error(HOOK_CHECKS, format!("{} is missing: the most errors allowed", at("max_errors"))))
            }
            Some(v) => v.as_f64().filter(|n| n.is_finite() && *n >= 0.0).ok_or_else(|| {
                error(HOOK_CHECKS, format!("{} must be a number of errors of 0 or more, not {v}", at("max_errors")))
            })?,
        };

        let min_invocations = match field("min_invocations") {
            None => 0,
            value => whole(value, &at("min_invocations"), "invocations", 0)?,
        };
        let evidence_required = match field("evidence_required") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(error(HOOK_CHECKS, format!("{} must be true or false, not {v}", at("evidence_required"))))
            }
        };

        checks.insert(
            function.clone(),
            FunctionChecks {
                events,
                max_duration: Duration::from_millis(max_duration_ms),
                alarm_names,
                max_errors,
                error_window: Duration::from_secs(error_window_seconds),
                min_invocations,
                evidence_required,
            },
        );
    }
    Ok(checks)
}

/// A whole number at least `min` (`3000` or `3000.0`).
fn whole(value: Option<&Value>, at: &str, unit: &str, min: u64) -> Result<u64, ConfigError> {
    let value = value.ok_or_else(|| error(HOOK_CHECKS, format!("{at} is missing: a whole number of {unit}")))?;
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| f as u64))
        .filter(|n| *n >= min)
        .ok_or_else(|| {
            error(HOOK_CHECKS, format!("{at} must be a whole number of {unit} of {min} or more, not {value}"))
        })
}

fn parse_smoke(set: &impl Fn(&str) -> Option<String>) -> Result<Option<Smoke>, ConfigError> {
    let Some(arn) = set(SMOKE_STATE_MACHINE_ARN) else {
        return Ok(None);
    };
    let arn = arn.trim().to_owned();
    if !arn.starts_with("arn:") || !arn.contains(":stateMachine:") {
        return Err(error(
            SMOKE_STATE_MACHINE_ARN,
            format!("{arn:?} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)"),
        ));
    }
    let input = set(SMOKE_INPUT).unwrap_or_else(|| "{}".to_owned());
    serde_json::from_str::<Value>(&input)
        .map_err(|e| error(SMOKE_INPUT, format!("is not a JSON document ({e}): it is the smoke execution's input")))?;
    let timeout = match set(SMOKE_TIMEOUT_SECONDS) {
        None => DEFAULT_SMOKE_TIMEOUT,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Duration::from_secs(seconds),
            _ => return Err(error(SMOKE_TIMEOUT_SECONDS, format!("{v:?} is not a whole number of seconds above 0"))),
        },
    };
    Ok(Some(Smoke { state_machine_arn: arn, input, timeout, poll_interval: SMOKE_POLL_INTERVAL }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: &str = r#"{
      "etl-dev-extract": {"events": [{"run_date": "2026-11-22"}, "{\"dry_run\": true}"], "max_duration_ms": 3000,
                          "alarm_names": ["etl-dev-extract-errors", "etl-dev-extract-errors"], "max_errors": 0,
                          "error_window_seconds": 300, "min_invocations": 50, "evidence_required": true},
      "etl-dev-load": {"events": [], "max_duration_ms": 1500.0, "alarm_names": [], "max_errors": 2.5,
                       "error_window_seconds": 90, "note": "x"}
    }"#;

    fn config(hook: Hook, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(hook, move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn parses_checks_with_events_as_json_or_strings_of_json() {
        let config = config(Hook::PreTraffic, &[(HOOK_CHECKS, CHECKS), (SMOKE_STATE_MACHINE_ARN, "x")]).unwrap();
        let extract = config.checks_for("etl-dev-extract").unwrap();
        assert_eq!(
            extract.events,
            vec![serde_json::json!({"run_date": "2026-11-22"}), serde_json::json!({"dry_run": true})]
        );
        assert_eq!(extract.max_duration, Duration::from_millis(3000));
        assert_eq!(extract.alarm_names, vec!["etl-dev-extract-errors".to_owned()], "deduplicated");
        assert_eq!((extract.max_errors, extract.error_window), (0.0, Duration::from_secs(300)));
        let load = config.checks_for("etl-dev-load").unwrap();
        assert_eq!((extract.min_invocations, extract.evidence_required), (50, true));
        assert_eq!((load.max_duration, load.max_errors), (Duration::from_millis(1500), 2.5));
        assert_eq!((load.min_invocations, load.evidence_required), (0, false), "no evidence rule asks for none");
        assert_eq!(config.smoke, None, "pre-traffic ignores the smoke settings");
        assert_eq!(config.warnings.len(), 1);
        assert!(config.warnings[0].contains("\"note\""), "{:?}", config.warnings);
    }

    #[test]
    fn a_function_without_an_entry_is_a_misconfiguration() {
        let config = config(Hook::PreTraffic, &[(HOOK_CHECKS, CHECKS)]).unwrap();
        let err = config.checks_for("etl-dev-transform").unwrap_err();
        assert_eq!(err.variable, HOOK_CHECKS);
        assert!(
            err.to_string().contains("\"etl-dev-transform\"") && err.to_string().contains("etl-dev-extract"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_variable_entry_and_field() {
        let cases = [
            ("", "is not set"),
            ("[1]", "JSON object"),
            ("{\"f\": 1}", "[\"f\"] must be an object"),
            ("{\"f\": {\"max_duration_ms\": 1, \"max_errors\": 0}}", "[\"f\"].error_window_seconds is missing"),
            (
                "{\"f\": {\"max_duration_ms\": -5, \"max_errors\": 0, \"error_window_seconds\": 60}}",
                "[\"f\"].max_duration_ms must be a whole number",
            ),
            ("{\"f\": {\"max_duration_ms\": 5, \"error_window_seconds\": 60}}", "[\"f\"].max_errors is missing"),
            (
                "{\"f\": {\"max_duration_ms\": 5, \"max_errors\": 0, \"error_window_seconds\": 60, \"min_invocations\": 2.5}}",
                "[\"f\"].min_invocations must be a whole number of invocations",
            ),
            (
                "{\"f\": {\"max_duration_ms\": 5, \"max_errors\": 0, \"error_window_seconds\": 60, \"evidence_required\": \"yes\"}}",
                "[\"f\"].evidence_required must be true or false",
            ),
            (
                "{\"f\": {\"max_duration_ms\": 5, \"max_errors\": 0, \"error_window_seconds\": 60, \"events\": [\"{oops\"]}}",
                "[\"f\"].events[0] is a string",
            ),
            (
                "{\"f\": {\"max_duration_ms\": 5, \"max_errors\": 0, \"error_window_seconds\": 60, \"alarm_names\": [3]}}",
                "[\"f\"].alarm_names[0]",
            ),
            ("{not json", "not valid JSON"),
        ];
        for (raw, expected) in cases {
            let err = config(Hook::PreTraffic, &[(HOOK_CHECKS, raw)]).unwrap_err();
            assert_eq!(err.variable, HOOK_CHECKS);
            assert!(err.to_string().starts_with("HOOK_CHECKS: "), "{err}");
            assert!(err.to_string().contains(expected), "{raw}: {err}");
        }
    }

    #[test]
    fn smoke_settings_for_post_traffic() {
        let arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev";
        let off = config(Hook::PostTraffic, &[(HOOK_CHECKS, "{}"), (SMOKE_STATE_MACHINE_ARN, " ")]).unwrap();
        assert_eq!(off.smoke, None);
        let on = config(Hook::PostTraffic, &[(HOOK_CHECKS, "{}"), (SMOKE_STATE_MACHINE_ARN, arn)]).unwrap();
        assert_eq!(
            on.smoke,
            Some(Smoke {
                state_machine_arn: arn.into(),
                input: "{}".into(),
                timeout: DEFAULT_SMOKE_TIMEOUT,
                poll_interval: SMOKE_POLL_INTERVAL
            })
        );
        let custom = config(
            Hook::PostTraffic,
            &[
                (HOOK_CHECKS, "{}"),
                (SMOKE_STATE_MACHINE_ARN, arn),
                (SMOKE_INPUT, "{\"dry_run\": true}"),
                (SMOKE_TIMEOUT_SECONDS, "30"),
            ],
        )
        .unwrap();
        assert_eq!(custom.smoke.as_ref().map(|s| s.timeout), Some(Duration::from_secs(30)));
        let bad = [
            (SMOKE_STATE_MACHINE_ARN, "etl-dev", SMOKE_STATE_MACHINE_ARN),
            (SMOKE_INPUT, "{", SMOKE_INPUT),
            (SMOKE_TIMEOUT_SECONDS, "0", SMOKE_TIMEOUT_SECONDS),
            (SMOKE_TIMEOUT_SECONDS, "2m", SMOKE_TIMEOUT_SECONDS),
        ];
        for (name, value, variable) in bad {
            let mut vars = vec![(HOOK_CHECKS, "{}"), (SMOKE_STATE_MACHINE_ARN, arn)];
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            assert_eq!(config(Hook::PostTraffic, &vars).unwrap_err().variable, variable, "{name}={value}");
        }
    }
}
