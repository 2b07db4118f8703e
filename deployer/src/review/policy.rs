//! Reading IAM policy documents for what the review judges: wildcard actions and
//! resources, who a resource policy or a trust policy lets in.

use serde_json::Value;

/// One statement, its lists normalised (a single string is a list of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Principals, as `Type:value` (`AWS:*`, `Service:states.amazonaws.com`, `*`).
    pub principals: Vec<String>,
    /// Conditions, as `operator key = values` lines.
    pub conditions: Vec<String>,
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document.
pub fn statements(document: &str) -> Result<Vec<Statement>, String> {
    let doc: Value = serde_json::from_str(document).map_err(|e| format!("the policy is not JSON: {e}"))?;
    let raw = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    };
    Ok(raw
        .iter()
        .map(|s| {
            let principals = match s.get("Principal") {
                Some(Value::String(p)) => vec![p.clone()],
                Some(Value::Object(map)) => map
                    .iter()
                    .flat_map(|(kind, v)| list(Some(v)).into_iter().map(move |p| format!("{kind}:{p}")))
                    .collect(),
                _ => Vec::new(),
            };
            let conditions = s
                .get("Condition")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .flat_map(|(op, keys)| {
                    keys.as_object()
                        .into_iter()
                        .flatten()
                        .map(move |(k, v)| format!("{op} {k} = {}", list(Some(v)).join(",")))
                })
                .collect();
            Statement {
                sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
                allow: s.get("Effect").and_then(Value::as_str) != Some("Deny"),
                actions: list(s.get("Action")),
                resources: list(s.get("Resource")),
                principals,
                conditions,
            }
        })
        .collect())
}

/// An action that grants a whole service or everything (`*`, `s3:*`, `s3:Get*`).
pub fn wildcard_action(action: &str) -> bool {
    action == "*" || action.ends_with(":*") || action.contains('*')
}

/// Actions IAM allows only on `*`: X-Ray's, and CloudWatch Logs' delivery set-up that
/// Step Functions' logging needs (the Service Authorization Reference lists no
/// resource type for them).
pub fn needs_any_resource(action: &str) -> bool {
    action.starts_with("xray:")
        || matches!(
            action,
            "logs:CreateLogDelivery"
                | "logs:GetLogDelivery"
                | "logs:UpdateLogDelivery"
                | "logs:DeleteLogDelivery"
                | "logs:ListLogDeliveries"
                | "logs:PutResourcePolicy"
                | "logs:DescribeResourcePolicies"
                | "logs:DescribeLogGroups"
        )
}

/// What a role's policies grant beyond least privilege: wildcard actions, and `*`
/// resources for actions that support resource-level permissions.
pub fn excess(document: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (i, s) in statements(document)?.into_iter().enumerate().filter(|(_, s)| s.allow) {
        let label = s.sid.clone().unwrap_or_else(|| format!("statement {}", i + 1));
        for a in s.actions.iter().filter(|a| wildcard_action(a)) {
            out.push(format!("{label}: wildcard action {a}"));
        }
        if s.resources.iter().any(|r| r == "*") {
            let scoped: Vec<&String> = s.actions.iter().filter(|a| !needs_any_resource(a)).collect();
            if !scoped.is_empty() {
                out.push(format!(
                    "{label}: {} on every resource",
                    scoped.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(out)
}

/// Whether a principal is anyone at all (`*` or `AWS:*`).
pub fn is_anyone(principal: &str) -> bool {
    principal == "*" || principal == "AWS:*"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_names_wildcard_actions_and_unscoped_resources_but_not_xray() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"Tracing","Effect":"Allow","Action":["xray:PutTraceSegments"],"Resource":"*"},
            {"Sid":"Data","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
            {"Sid":"Broad","Effect":"Allow","Action":["s3:*"],"Resource":["*"]}]}"#;
        assert_eq!(excess(doc).unwrap(), vec!["Broad: wildcard action s3:*", "Broad: s3:* on every resource"]);
        let trust = r#"{"Statement":{"Effect":"Allow","Principal":{"Federated":"arn:oidc"},"Action":"sts:AssumeRoleWithWebIdentity",
            "Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:a/b:environment:prod"}}}}"#;
        let s = &statements(trust).unwrap()[0];
        assert_eq!(s.principals, ["Federated:arn:oidc"]);
        assert_eq!(s.conditions, ["StringEquals token.actions.githubusercontent.com:sub = repo:a/b:environment:prod"]);
        assert!(is_anyone("*") && is_anyone("AWS:*") && !is_anyone("Service:states.amazonaws.com"));
    }
}
