//! Reading a pair of replays: the same input run once pinned to the old release and
//! once to the new. The state machine's definition says which top-level state runs
//! which function (a Task naming it, or a Map whose tasks do); each execution's history
//! gives the time spent in those states and the answers of their tasks. Pure: the
//! replay reads the cloud, this reads what it read.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cloud::{HistoryEvent, HistoryKind};
use crate::judge::paired::Pair;

/// What one execution's history says of a function's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// Time from entering the state to leaving it, summed if entered again.
    pub ms: f64,
    /// Its tasks' answers (the `Payload` of a `lambda:invoke`), the execution's own name
    /// replaced, sorted: a Map's items finish in any order.
    pub outputs: Vec<String>,
}

/// The top-level states that run each function: state name -> artifact. A state
/// runs a function when a `FunctionName` (or `Resource`) inside it names the
/// function's Lambda name. An unreadable definition maps nothing.
pub fn states_of(definition: &str, functions: &[(String, String)]) -> BTreeMap<String, String> {
    let Ok(asl) = serde_json::from_str::<Value>(definition) else { return BTreeMap::new() };
    let Some(states) = asl["States"].as_object() else { return BTreeMap::new() };
    let mut found = BTreeMap::new();
    for (state, body) in states {
        let mut named = Vec::new();
        function_references(body, &mut named);
        let artifact = functions.iter().find(|(_, name)| named.iter().any(|text| names_function(text, name)));
        if let Some((artifact, _)) = artifact {
            found.insert(state.clone(), artifact.clone());
        }
    }
    found
}

/// The strings under `FunctionName`, `FunctionName.$` and `Resource` keys, at any depth
/// (a Map's `Iterator` or `ItemProcessor` included).
fn function_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("FunctionName" | "FunctionName.$" | "Resource", Value::String(text)) => out.push(text.clone()),
                    _ => function_references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| function_references(v, out)),
        _ => {}
    }
}

/// Whether `text` names the Lambda function `name` as a whole word (`etl-dev-load`
/// does not name `etl-dev-loader`): as an ARN, `name:qualifier`, or in a format string.
fn names_function(text: &str, name: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

/// Each function's state in one execution's history, by artifact.
pub fn observe(
    history: &[HistoryEvent],
    states: &BTreeMap<String, String>,
    execution_name: &str,
) -> BTreeMap<String, Observed> {
    let mut seen: BTreeMap<String, Observed> = BTreeMap::new();
    // Top-level states run one at a time: at most one of ours is open.
    let mut open: Option<(&str, u64)> = None;
    for event in history {
        match &event.kind {
            HistoryKind::Entered { state } if open.is_none() && states.contains_key(state) => {
                open = Some((state.as_str(), event.at_ms));
            }
            HistoryKind::Exited { state } => {
                if let Some((name, since)) = open.filter(|(name, _)| *name == state.as_str()) {
                    let entry = seen.entry(states[name].clone()).or_default();
                    entry.ms += event.at_ms.saturating_sub(since) as f64;
                    open = None;
                }
            }
            HistoryKind::TaskSucceeded { output } => {
                if let Some((name, _)) = open {
                    let entry = seen.entry(states[name].clone()).or_default();
                    entry.outputs.push(answer(output, execution_name));
                }
            }
            _ => {}
        }
    }
    for observed in seen.values_mut() {
        observed.outputs.sort();
    }
    seen
}

/// A task's answer as compared: the invoke's `Payload` (the call's metadata, such as
/// `ExecutedVersion`, differs by design), keys sorted, the execution's name replaced.
fn answer(output: &str, execution_name: &str) -> String {
    let value: Value = serde_json::from_str(output).unwrap_or_else(|_| Value::String(output.to_owned()));
    let payload = value.get("Payload").cloned().unwrap_or(value);
    sorted(payload).to_string().replace(execution_name, "{execution}")
}

/// The value with every object's keys in order: two answers that differ only in the
/// order of their fields are the same answer.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The pairs of one input run through both versions, by artifact: a function seen in
/// both executions gives one pair; its outputs are compared where it is deterministic.
pub fn pair(
    old: &BTreeMap<String, Observed>,
    new: &BTreeMap<String, Observed>,
    deterministic: impl Fn(&str) -> bool,
) -> BTreeMap<String, Pair> {
    old.iter()
        .filter_map(|(artifact, o)| {
            let n = new.get(artifact)?;
            let same_output = deterministic(artifact).then(|| o.outputs == n.outputs);
            Some((artifact.clone(), Pair { old_ms: o.ms, new_ms: n.ms, same_output }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASL: &str = r#"{
      "StartAt": "ReadRouting",
      "States": {
        "ReadRouting": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "Next": "Extract"},
        "Extract": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName.$": "States.Format('arn:aws:lambda:us-east-1:1:function:etl-dev-extract:{}', $.v)"},
          "Next": "Transform"},
        "Transform": {"Type": "Map", "Iterator": {"StartAt": "TransformBatch", "States": {
          "TransformBatch": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName.$": "States.Format('etl-dev-transform:{}', $.version)"}, "End": true}}},
          "Next": "Load"},
        "Load": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:etl-dev-load", "End": true},
        "Loader": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "etl-dev-loader"}, "End": true}
      }
    }"#;

    fn functions() -> Vec<(String, String)> {
        ["extract", "transform", "load"].iter().map(|a| ((*a).to_owned(), format!("etl-dev-{a}"))).collect()
    }

    fn event(at_ms: u64, kind: HistoryKind) -> HistoryEvent {
        HistoryEvent { at_ms, kind }
    }

    fn entered(at: u64, state: &str) -> HistoryEvent {
        event(at, HistoryKind::Entered { state: state.into() })
    }

    fn exited(at: u64, state: &str) -> HistoryEvent {
        event(at, HistoryKind::Exited { state: state.into() })
    }

    fn answered(at: u64, payload: &str) -> HistoryEvent {
        let output = format!(r#"{{"ExecutedVersion":"7","StatusCode":200,"Payload":{payload}}}"#);
        event(at, HistoryKind::TaskSucceeded { output })
    }

    #[test]
    fn the_definition_says_which_state_runs_which_function() {
        let states = states_of(ASL, &functions());
        let want: BTreeMap<String, String> = [("Extract", "extract"), ("Transform", "transform"), ("Load", "load")]
            .iter()
            .map(|(s, a)| ((*s).to_owned(), (*a).to_owned()))
            .collect();
        assert_eq!(states, want, "etl-dev-loader is not etl-dev-load; ReadRouting runs no function");
        assert!(states_of("not json", &functions()).is_empty());
    }

    #[test]
    fn a_history_gives_each_states_time_and_its_tasks_answers() {
        let states = states_of(ASL, &functions());
        let history = vec![
            entered(1_000, "ReadRouting"),
            exited(1_010, "ReadRouting"),
            entered(1_010, "Extract"),
            answered(1_100, r#"{"execution_id":"replay-r-1","batches":[1,2]}"#),
            exited(1_120, "Extract"),
            entered(1_120, "Transform"),
            // A Map's items, finishing out of order; the inner state is not top-level.
            entered(1_130, "TransformBatch"),
            entered(1_131, "TransformBatch"),
            answered(1_300, r#"{"batch":2}"#),
            exited(1_300, "TransformBatch"),
            answered(1_320, r#"{"batch":1}"#),
            exited(1_320, "TransformBatch"),
            exited(1_330, "Transform"),
            entered(1_330, "Load"),
            event(1_340, HistoryKind::Other),
            answered(1_380, r#"{"records":3}"#),
            exited(1_400, "Load"),
        ];
        let seen = observe(&history, &states, "replay-r-1");
        assert_eq!(seen["extract"].ms, 110.0);
        assert_eq!(seen["extract"].outputs, vec![r#"{"batches":[1,2],"execution_id":"{execution}"}"#.to_owned()]);
        assert_eq!(seen["transform"].ms, 210.0);
        assert_eq!(seen["transform"].outputs, vec![r#"{"batch":1}"#.to_owned(), r#"{"batch":2}"#.to_owned()]);
        assert_eq!(seen["load"].ms, 70.0);
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn a_pair_compares_outputs_only_where_the_function_is_deterministic() {
        let states = states_of(ASL, &functions());
        let run = |name: &str, load_ms: u64, records: u32| {
            let history = vec![
                entered(0, "Extract"),
                answered(5, &format!(r#"{{"execution_id":"{name}"}}"#)),
                exited(10, "Extract"),
                entered(10, "Load"),
                answered(10 + load_ms, &format!(r#"{{"records":{records}}}"#)),
                exited(10 + load_ms, "Load"),
            ];
            observe(&history, &states, name)
        };
        let old = run("replay-r-1-old", 100, 3);
        let new = run("replay-r-1", 250, 4);
        let pairs = pair(&old, &new, |artifact| artifact != "load");
        assert_eq!(pairs["extract"], Pair { old_ms: 10.0, new_ms: 10.0, same_output: Some(true) });
        assert_eq!(pairs["load"], Pair { old_ms: 100.0, new_ms: 250.0, same_output: None });
        let pairs = pair(&old, &new, |_| true);
        assert_eq!(pairs["load"].same_output, Some(false));
        assert!(!pairs.contains_key("transform"), "seen in neither");
    }
}
