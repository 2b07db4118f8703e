//! The deployment's AppSpec (version 0.0, JSON or YAML): which function, alias and
//! versions the deployment shifts. The hook event does not name them; the AppSpec does.

use serde_json::Value;
use thiserror::Error;

/// The one Lambda resource of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    /// The resource's logical name in the AppSpec.
    pub resource: String,
    /// The function's name (an ARN in `Name` is reduced to the name).
    pub function_name: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    /// When the alias began to send the target version traffic: the end of the
    /// BeforeAllowTraffic lifecycle event, where CodeDeploy reports it. An AppSpec
    /// does not say.
    pub traffic_since: Option<std::time::SystemTime>,
}

impl LambdaTarget {
    /// `<name>:<alias>`, the `Resource` dimension of the alias's Lambda metrics.
    pub fn alias_resource(&self) -> String {
        format!("{}:{}", self.function_name, self.alias)
    }
}

/// A parsed AppSpec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub target: LambdaTarget,
    /// `(lifecycle event, hook function)` in the order given.
    pub hooks: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AppSpecError {
    #[error("the AppSpec is not valid {format}: {detail}")]
    Syntax { format: &'static str, detail: String },
    #[error("the AppSpec is empty")]
    Empty,
    #[error("the AppSpec has no {0}")]
    Missing(String),
    #[error("the AppSpec's {field} {problem}")]
    Invalid { field: String, problem: String },
    #[error("the AppSpec declares no resource of Type AWS::Lambda::Function")]
    NoFunction,
    #[error("the AppSpec declares {0} AWS::Lambda::Function resources; a Lambda deployment has exactly one")]
    SeveralFunctions(usize),
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> AppSpecError {
    AppSpecError::Invalid { field: field.into(), problem: problem.into() }
}

/// Parses an AppSpec: JSON when it starts with `{`, YAML otherwise.
pub fn parse(content: &str) -> Result<AppSpec, AppSpecError> {
    let trimmed = content.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(AppSpecError::Empty);
    }
    let document: Value = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).map_err(|e| AppSpecError::Syntax { format: "JSON", detail: e.to_string() })?
    } else {
        serde_yaml::from_str(trimmed).map_err(|e| AppSpecError::Syntax { format: "YAML", detail: e.to_string() })?
    };
    from_document(&document)
}

fn from_document(document: &Value) -> Result<AppSpec, AppSpecError> {
    let root = document.as_object().ok_or_else(|| invalid("top level", "must be a mapping"))?;
    let get = |key: &str| root.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v);

    match get("version") {
        None | Some(Value::Null) => return Err(AppSpecError::Missing("version".into())),
        Some(v) if scalar(v).is_some_and(|s| s == "0.0" || s == "0") => {}
        Some(v) => return Err(invalid("version", format!("is {v}; a Lambda AppSpec has version 0.0"))),
    }

    let resources = match get("Resources") {
        None | Some(Value::Null) => return Err(AppSpecError::Missing("Resources".into())),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("Resources", "must be a list")),
    };
    let mut functions = Vec::new();
    for (index, item) in resources.iter().enumerate() {
        let entry = item.as_object().filter(|m| m.len() == 1).ok_or_else(|| {
            invalid(format!("Resources[{index}]"), "must be a mapping of one logical name to its resource")
        })?;
        for (logical, resource) in entry {
            let kind = resource.get("Type").and_then(Value::as_str);
            if kind == Some("AWS::Lambda::Function") {
                functions.push((logical.clone(), resource));
            } else if kind.is_none() {
                return Err(AppSpecError::Missing(format!("Type of resource {logical}")));
            }
        }
    }
    let (logical, resource) = match functions.len() {
        0 => return Err(AppSpecError::NoFunction),
        1 => functions.remove(0),
        n => return Err(AppSpecError::SeveralFunctions(n)),
    };
    let properties = resource
        .get("Properties")
        .filter(|p| !p.is_null())
        .ok_or_else(|| AppSpecError::Missing(format!("Properties of resource {logical}")))?;
    let property = |name: &str| -> Result<String, AppSpecError> {
        let field = format!("{logical}.Properties.{name}");
        match properties.get(name) {
            None | Some(Value::Null) => Err(AppSpecError::Missing(field)),
            Some(v) => match scalar(v) {
                Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                Some(_) => Err(invalid(field, "is empty")),
                None => Err(invalid(field, "must be a string")),
            },
        }
    };
    let name = property("Name")?;
    let target = LambdaTarget {
        function_name: function_name(&name).ok_or_else(|| {
            invalid(format!("{logical}.Properties.Name"), format!("{name:?} is not a function name or ARN"))
        })?,
        alias: property("Alias")?,
        current_version: property("CurrentVersion")?,
        target_version: property("TargetVersion")?,
        resource: logical,
        traffic_since: None,
    };
    if !target.target_version.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            format!("{}.Properties.TargetVersion", target.resource),
            format!("is {:?}; it must be a published version number (not $LATEST)", target.target_version),
        ));
    }

    let mut hooks = Vec::new();
    match get("Hooks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let entry = item
                    .as_object()
                    .ok_or_else(|| invalid(format!("Hooks[{index}]"), "must be a mapping of event to function"))?;
                for (event, function) in entry {
                    let function = scalar(function)
                        .ok_or_else(|| invalid(format!("Hooks[{index}].{event}"), "must name a function"))?;
                    hooks.push((event.clone(), function));
                }
            }
        }
        Some(_) => return Err(invalid("Hooks", "must be a list")),
    }
    Ok(AppSpec { target, hooks })
}

/// A string, or a number written without quotes (YAML `TargetVersion: 2`).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_f64() => {
            n.as_f64().map(|f| if f.fract() == 0.0 { format!("{f:.1}") } else { f.to_string() })
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The function's name from a name, a partial ARN or a full ARN (a qualifier is dropped).
pub fn function_name(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split(':').collect();
    let found = match parts.as_slice() {
        [name] => Some(*name),
        [name, _qualifier] => Some(*name),
        [_account, "function", name] | [_account, "function", name, _] => Some(*name),
        ["arn", _partition, "lambda", _region, _account, "function", name, ..] => Some(*name),
        _ => None,
    };
    found.filter(|n| !n.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{
      "version": 0.0,
      "Resources": [
        {"extract": {"Type": "AWS::Lambda::Function",
          "Properties": {"Name": "etl-dev-extract", "Alias": "live", "CurrentVersion": "3", "TargetVersion": "4"}}}
      ],
      "Hooks": [{"BeforeAllowTraffic": "etl-dev-pre-traffic"}, {"AfterAllowTraffic": "etl-dev-post-traffic"}]
    }"#;

    const YAML: &str = "version: 0.0\nResources:\n  - extract:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: arn:aws:lambda:us-east-1:111111111111:function:etl-dev-extract\n        Alias: live\n        CurrentVersion: 3\n        TargetVersion: '4'\nHooks:\n  - BeforeAllowTraffic: etl-dev-pre-traffic\n  - AfterAllowTraffic: etl-dev-post-traffic\n";

    fn expected() -> LambdaTarget {
        LambdaTarget {
            resource: "extract".into(),
            function_name: "etl-dev-extract".into(),
            alias: "live".into(),
            current_version: "3".into(),
            target_version: "4".into(),
            traffic_since: None,
        }
    }

    #[test]
    fn json_appspec() {
        let spec = parse(JSON).unwrap();
        assert_eq!(spec.target, expected());
        assert_eq!(spec.target.alias_resource(), "etl-dev-extract:live");
        assert_eq!(
            spec.hooks,
            vec![
                ("BeforeAllowTraffic".to_owned(), "etl-dev-pre-traffic".to_owned()),
                ("AfterAllowTraffic".to_owned(), "etl-dev-post-traffic".to_owned())
            ]
        );
    }

    #[test]
    fn yaml_appspec_with_an_arn_and_unquoted_versions() {
        let spec = parse(YAML).unwrap();
        assert_eq!(spec.target, expected());
        assert_eq!(spec.hooks.len(), 2);
    }

    #[test]
    fn json_version_as_a_string_is_accepted() {
        assert!(parse(&JSON.replace("\"version\": 0.0", "\"version\": \"0.0\"")).is_ok());
    }

    #[test]
    fn malformed_appspecs_name_what_is_wrong() {
        assert!(matches!(parse("{\"version\": 0.0, "), Err(AppSpecError::Syntax { format: "JSON", .. })));
        assert!(matches!(parse("version: 0.0\nResources: [\n"), Err(AppSpecError::Syntax { format: "YAML", .. })));
        assert_eq!(parse("  \n"), Err(AppSpecError::Empty));
        assert_eq!(parse("Resources: []"), Err(AppSpecError::Missing("version".into())));
        assert!(
            matches!(parse(&JSON.replace("0.0", "1.0")), Err(AppSpecError::Invalid { field, .. }) if field == "version")
        );
        assert_eq!(parse("version: 0.0"), Err(AppSpecError::Missing("Resources".into())));
        assert_eq!(parse("version: 0.0\nResources: []"), Err(AppSpecError::NoFunction));
        assert_eq!(
            parse(&JSON.replace("\"TargetVersion\": \"4\"", "\"Other\": 1")),
            Err(AppSpecError::Missing("extract.Properties.TargetVersion".into()))
        );
        let latest = parse(&JSON.replace("\"TargetVersion\": \"4\"", "\"TargetVersion\": \"$LATEST\"")).unwrap_err();
        assert!(latest.to_string().contains("$LATEST"), "{latest}");
        let two = "version: 0.0\nResources:\n  - a: {Type: AWS::Lambda::Function, Properties: {Name: a, Alias: live, CurrentVersion: 1, TargetVersion: 2}}\n  - b: {Type: AWS::Lambda::Function, Properties: {Name: b, Alias: live, CurrentVersion: 1, TargetVersion: 2}}\n";
        assert_eq!(parse(two), Err(AppSpecError::SeveralFunctions(2)));
        assert!(parse("- 1\n- 2").unwrap_err().to_string().contains("top level"));
    }

    #[test]
    fn function_names_from_arns() {
        assert_eq!(function_name("etl-dev-extract").as_deref(), Some("etl-dev-extract"));
        assert_eq!(function_name("etl-dev-extract:live").as_deref(), Some("etl-dev-extract"));
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:111111111111:function:etl-dev-extract:7").as_deref(),
            Some("etl-dev-extract")
        );
        assert_eq!(function_name("111111111111:function:etl-dev-extract").as_deref(), Some("etl-dev-extract"));
        assert_eq!(function_name(""), None);
        assert_eq!(function_name("a:b:c:d:e"), None);
    }
}
