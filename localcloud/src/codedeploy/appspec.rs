//! The Lambda AppSpec: one function resource and its hooks, in JSON or YAML.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;

use super::status::LifecycleEventName;
use crate::api::{ApiError, ApiResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpec {
    pub function: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    pub before_allow_traffic: Option<String>,
    pub after_allow_traffic: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Properties {
    name: Value,
    alias: Value,
    current_version: Value,
    target_version: Value,
}

impl AppSpec {
    /// The function the AppSpec names for a hook event (AllowTraffic has none).
    pub fn hook_function(&self, event: LifecycleEventName) -> Option<&str> {
        match event {
            LifecycleEventName::BeforeAllowTraffic => self.before_allow_traffic.as_deref(),
            LifecycleEventName::AllowTraffic => None,
            LifecycleEventName::AfterAllowTraffic => self.after_allow_traffic.as_deref(),
        }
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidRevisionException", message)
}

fn text(value: &Value, field: &str) -> ApiResult<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(bad(format!("AppSpec field {field} must be a non-empty string"))),
    }
}

/// The SHA-256 of AppSpec content, lower-case hex: how CodeDeploy identifies an
/// inline revision (GetDeployment returns it instead of the content).
pub fn sha256_hex(content: &str) -> String {
    sha2::Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses AppSpec `content`, checking `sha256` (hex) when given.
pub fn parse(content: &str, sha256: Option<&str>) -> ApiResult<AppSpec> {
    if let Some(expected) = sha256 {
        let actual = sha256_hex(content);
        if !actual.eq_ignore_ascii_case(expected.trim()) {
            return Err(bad(format!("the AppSpec content's SHA-256 is {actual}, not the {expected} given with it")));
        }
    }
    let doc: Value = match serde_json::from_str(content) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_str(content)
            .map_err(|e| bad(format!("the AppSpec is neither valid JSON nor valid YAML: {e}")))?,
    };
    let version = doc.get("version").ok_or_else(|| bad("the AppSpec has no version (expected version: 0.0)"))?;
    let version_ok = match version {
        Value::String(s) => s == "0.0",
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    };
    if !version_ok {
        return Err(bad(format!("unsupported AppSpec version {version} (expected 0.0)")));
    }
    let resources =
        doc.get("Resources").and_then(Value::as_array).ok_or_else(|| bad("the AppSpec has no Resources list"))?;
    let [resource] = resources.as_slice() else {
        return Err(bad(format!("a Lambda AppSpec has exactly one resource, this one has {}", resources.len())));
    };
    let (_, body) = resource
        .as_object()
        .and_then(|o| o.iter().next())
        .ok_or_else(|| bad("the AppSpec resource must be a named object"))?;
    if body.get("Type").and_then(Value::as_str) != Some("AWS::Lambda::Function") {
        return Err(bad("the AppSpec resource's Type must be AWS::Lambda::Function"));
    }
    let properties: Properties = serde_json::from_value(body.get("Properties").cloned().unwrap_or(Value::Null))
        .map_err(|e| {
            bad(format!("the AppSpec resource's Properties need Name, Alias, CurrentVersion, TargetVersion: {e}"))
        })?;
    let mut spec = AppSpec {
        function: text(&properties.name, "Name")?,
        alias: text(&properties.alias, "Alias")?,
        current_version: text(&properties.current_version, "CurrentVersion")?,
        target_version: text(&properties.target_version, "TargetVersion")?,
        before_allow_traffic: None,
        after_allow_traffic: None,
    };
    match doc.get("Hooks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(hooks)) => {
            for hook in hooks {
                let Some(map) = hook.as_object() else { return Err(bad("each AppSpec hook must be an object")) };
                for (event, function) in map {
                    let function = text(function, event)?;
                    match LifecycleEventName::parse_hook(event) {
                        Some(LifecycleEventName::BeforeAllowTraffic) => spec.before_allow_traffic = Some(function),
                        Some(LifecycleEventName::AfterAllowTraffic) => spec.after_allow_traffic = Some(function),
                        _ => {
                            return Err(bad(format!(
                                "unknown Lambda lifecycle hook {event} (use BeforeAllowTraffic or AfterAllowTraffic)"
                            )))
                        }
                    }
                }
            }
        }
        Some(_) => return Err(bad("the AppSpec Hooks must be a list")),
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"version":0.0,"Resources":[{"fn":{"Type":"AWS::Lambda::Function","Properties":{"Name":"extract","Alias":"live","CurrentVersion":"1","TargetVersion":"2"}}}],"Hooks":[{"BeforeAllowTraffic":"pre"},{"AfterAllowTraffic":"post"}]}"#;

    #[test]
    fn json_and_yaml_give_the_same_spec() {
        let yaml = "version: 0.0\nResources:\n  - fn:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: extract\n        Alias: live\n        CurrentVersion: 1\n        TargetVersion: 2\nHooks:\n  - BeforeAllowTraffic: pre\n  - AfterAllowTraffic: post\n";
        let a = parse(JSON, None).unwrap();
        assert_eq!(a, parse(yaml, None).unwrap());
        assert_eq!((a.current_version.as_str(), a.target_version.as_str()), ("1", "2"));
        assert_eq!(a.before_allow_traffic.as_deref(), Some("pre"));
    }

    #[test]
    fn checks_the_sha256() {
        let good = sha256_hex(JSON);
        assert_eq!(good.len(), 64);
        assert!(parse(JSON, Some(&good)).is_ok());
        assert!(parse(JSON, Some(&good.to_uppercase())).is_ok(), "hex case does not matter");
        assert_eq!(parse(JSON, Some("00")).unwrap_err().code, "InvalidRevisionException");
    }

    #[test]
    fn malformed_specs_are_invalid_revisions() {
        for bad in ["", "{", "version: 1.0", r#"{"version":0.0}"#, r#"{"version":0.0,"Resources":[]}"#] {
            assert_eq!(parse(bad, None).unwrap_err().code, "InvalidRevisionException", "{bad}");
        }
    }
}
