//! Reading the workflow's Amazon States Language definition for what the review
//! judges: Map states' concurrency, each Task's retries and catches, where a caught
//! failure goes (the saga's compensation), and the guard against a duplicate run.
//! States inside a Map (`Iterator` or `ItemProcessor`) are read with their scope.

use serde_json::Value;

/// One state, with where it lives.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    /// The Map state this one runs inside, if any.
    pub inside: Option<String>,
    pub kind: String,
    pub body: Value,
}

/// Which version of a function a Task invokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qualifier {
    /// None: Lambda runs `$LATEST`, whatever was last uploaded.
    Unqualified,
    /// A version or alias written in the definition (`live`, `7`).
    Fixed(String),
    /// Formed per execution from its data (`States.Format('<function>:{}', ...)`): the
    /// release the execution drew from the routing record.
    PerExecution,
}

/// The function a Task state invokes, by name, and at which qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub function: String,
    pub qualifier: Qualifier,
}

impl Invocation {
    /// `arn:aws:lambda:R:A:function:NAME[:QUALIFIER]`, a bare `NAME[:QUALIFIER]`, or an
    /// intrinsic's template (`...:function:NAME:{}`).
    fn parse(target: &str) -> Self {
        let tail = target.rsplit_once(":function:").map_or(target, |(_, tail)| tail);
        let (function, qualifier) = match tail.split_once(':') {
            Some((name, "{}")) => (name, Qualifier::PerExecution),
            Some((name, q)) => (name, Qualifier::Fixed(q.to_owned())),
            None => (tail, Qualifier::Unqualified),
        };
        Invocation { function: function.to_owned(), qualifier }
    }
}

impl std::fmt::Display for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Qualifier::Unqualified => write!(f, "{} ($LATEST)", self.function),
            Qualifier::Fixed(q) => write!(f, "{}:{q}", self.function),
            Qualifier::PerExecution => write!(f, "{}:<the execution's release>", self.function),
        }
    }
}

impl State {
    pub fn resource(&self) -> Option<&str> {
        self.body.get("Resource").and_then(Value::as_str)
    }

    /// The Lambda function this Task invokes: a function ARN as its Resource (the older
    /// form), or the `lambda:invoke` integration's `FunctionName` (a literal, or
    /// `States.Format` over a literal template). None for other integrations, or a
    /// `FunctionName` taken from the input as a whole, which cannot be read here.
    pub fn invocation(&self) -> Option<Invocation> {
        let resource = self.resource()?;
        if resource.starts_with("arn:aws:lambda:") || resource.starts_with("arn:aws-") && resource.contains(":lambda:")
        {
            return Some(Invocation::parse(resource));
        }
        if !resource.starts_with("arn:aws:states:::lambda:invoke") {
            return None;
        }
        let parameters = self.body.get("Parameters")?;
        if let Some(name) = parameters.get("FunctionName").and_then(Value::as_str) {
            return Some(Invocation::parse(name));
        }
        let expression = parameters.get("FunctionName.$").and_then(Value::as_str)?;
        let template = expression.strip_prefix("States.Format('")?.split('\'').next()?;
        Some(Invocation::parse(template))
    }

    fn next(&self) -> Option<&str> {
        self.body.get("Next").and_then(Value::as_str)
    }

    /// `Retry` rules: (errors, max attempts, backoff rate).
    pub fn retries(&self) -> Vec<(Vec<String>, u64, f64)> {
        self.body
            .get("Retry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    strings(r.get("ErrorEquals")),
                    r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3),
                    r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
                )
            })
            .collect()
    }

    /// `Catch` rules: (errors, next state).
    pub fn catches(&self) -> Vec<(Vec<String>, String)> {
        self.body
            .get("Catch")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                (strings(c.get("ErrorEquals")), c.get("Next").and_then(Value::as_str).unwrap_or_default().to_owned())
            })
            .collect()
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

/// A parsed definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub states: Vec<State>,
}

impl Definition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("the definition is not JSON: {e}"))?;
        let mut states = Vec::new();
        collect(&doc, None, &mut states);
        if states.is_empty() {
            return Err("the definition has no States".into());
        }
        Ok(Self { states })
    }

    pub fn state(&self, name: &str, inside: Option<&str>) -> Option<&State> {
        self.states.iter().find(|s| s.name == name && s.inside.as_deref() == inside)
    }

    /// Map states and their MaxConcurrency (None or 0: unbounded).
    pub fn maps(&self) -> Vec<(&str, Option<u64>)> {
        self.states
            .iter()
            .filter(|s| s.kind == "Map")
            .map(|s| (s.name.as_str(), s.body.get("MaxConcurrency").and_then(Value::as_u64)))
            .collect()
    }

    /// Task states.
    pub fn tasks(&self) -> impl Iterator<Item = &State> {
        self.states.iter().filter(|s| s.kind == "Task")
    }

    /// The states a failure caught at `from` runs through, in order, until the path
    /// ends (a Fail, Succeed or End state) or loops.
    pub fn path_from(&self, from: &str, inside: Option<&str>) -> Vec<&State> {
        let mut path: Vec<&State> = Vec::new();
        let mut current = Some(from.to_owned());
        while let Some(name) = current {
            let Some(state) = self.state(&name, inside) else { break };
            if path.iter().any(|s| s.name == state.name) {
                break;
            }
            path.push(state);
            current = state.next().map(str::to_owned);
        }
        path
    }

    /// A Choice state that sends a run whose input says it is a duplicate straight to
    /// the end: (choice, the variable it reads).
    pub fn duplicate_guard(&self) -> Option<(&str, String)> {
        self.states.iter().filter(|s| s.kind == "Choice").find_map(|s| {
            let rules = s.body.get("Choices").and_then(Value::as_array)?;
            rules.iter().find_map(|rule| {
                let variable = rule.get("Variable").and_then(Value::as_str)?;
                let is_true = rule.get("BooleanEquals").and_then(Value::as_bool) == Some(true);
                let next = rule.get("Next").and_then(Value::as_str)?;
                let ends = self
                    .path_from(next, s.inside.as_deref())
                    .last()
                    .is_some_and(|e| e.kind == "Succeed" || e.body.get("End").and_then(Value::as_bool) == Some(true));
                (variable.contains("duplicate") && is_true && ends).then(|| (s.name.as_str(), variable.to_owned()))
            })
        })
    }
}

fn collect(scope: &Value, inside: Option<&str>, out: &mut Vec<State>) {
    let Some(states) = scope.get("States").and_then(Value::as_object) else { return };
    for (name, body) in states {
        let kind = body.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(State {
            name: name.clone(),
            inside: inside.map(str::to_owned),
            kind: kind.clone(),
            body: body.clone(),
        });
        if kind == "Map" {
            for key in ["Iterator", "ItemProcessor"] {
                if let Some(inner) = body.get(key) {
                    collect(inner, Some(name), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASL: &str = r#"{
      "StartAt": "Extract",
      "States": {
        "Extract": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:x-extract:live",
          "Retry": [{"ErrorEquals": ["Retryable"], "MaxAttempts": 3, "BackoffRate": 2.0}],
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}], "Next": "Dup"},
        "Dup": {"Type": "Choice", "Choices": [{"Variable": "$.manifest.duplicate", "BooleanEquals": true, "Next": "Done"}], "Default": "Fan"},
        "Fan": {"Type": "Map", "MaxConcurrency": 4, "Iterator": {"StartAt": "T", "States": {
          "T": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:x-transform:live", "End": true}}},
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}], "Next": "Done"},
        "Undo": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:x-compensate:live", "Next": "Failed"},
        "Failed": {"Type": "Fail"},
        "Done": {"Type": "Succeed"}
      }}"#;

    #[test]
    fn maps_tasks_catches_and_the_duplicate_guard_are_read() {
        let d = Definition::parse(ASL).unwrap();
        assert_eq!(d.maps(), vec![("Fan", Some(4))]);
        let inner = d.state("T", Some("Fan")).unwrap();
        assert_eq!(inner.resource(), Some("arn:aws:lambda:r:1:function:x-transform:live"));
        assert_eq!(inner.invocation().unwrap().to_string(), "x-transform:live");
        let extract = d.state("Extract", None).unwrap();
        assert_eq!(extract.retries(), vec![(vec!["Retryable".to_owned()], 3, 2.0)]);
        assert_eq!(extract.catches(), vec![(vec!["States.ALL".to_owned()], "Undo".to_owned())]);
        let path: Vec<&str> = d.path_from("Undo", None).iter().map(|s| s.name.as_str()).collect();
        assert_eq!(path, ["Undo", "Failed"]);
        assert_eq!(d.duplicate_guard(), Some(("Dup", "$.manifest.duplicate".to_owned())));
        assert!(Definition::parse("{}").is_err() && Definition::parse("not json").is_err());
    }

    fn task(body: serde_json::Value) -> State {
        State { name: "T".into(), inside: None, kind: "Task".into(), body }
    }

    #[test]
    fn the_function_a_task_invokes_is_read_from_each_form() {
        let arn = "arn:aws:lambda:us-east-1:1:function:etl-load";
        let integration = |parameters: serde_json::Value| {
            task(serde_json::json!({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": parameters}))
        };
        let cases = [
            (task(serde_json::json!({"Resource": format!("{arn}:live")})), "etl-load", Qualifier::Fixed("live".into())),
            (task(serde_json::json!({"Resource": arn})), "etl-load", Qualifier::Unqualified),
            (
                integration(serde_json::json!({"FunctionName": format!("{arn}:7")})),
                "etl-load",
                Qualifier::Fixed("7".into()),
            ),
            (integration(serde_json::json!({"FunctionName": "etl-load"})), "etl-load", Qualifier::Unqualified),
            (
                integration(
                    serde_json::json!({"FunctionName.$": format!("States.Format('{arn}:{{}}', $.versions.load)")}),
                ),
                "etl-load",
                Qualifier::PerExecution,
            ),
        ];
        for (state, function, qualifier) in cases {
            assert_eq!(
                state.invocation(),
                Some(Invocation { function: function.into(), qualifier }),
                "{:?}",
                state.body
            );
        }
        let item = task(serde_json::json!({"Resource": "arn:aws:states:::dynamodb:getItem", "Parameters": {}}));
        assert_eq!(item.invocation(), None);
        let whole = integration(serde_json::json!({"FunctionName.$": "$.function"}));
        assert_eq!(whole.invocation(), None);
        assert_eq!(
            integration(serde_json::json!({"FunctionName.$": format!("States.Format('{arn}:{{}}', $.v)")}))
                .invocation()
                .unwrap()
                .to_string(),
            "etl-load:<the execution's release>"
        );
    }
}
