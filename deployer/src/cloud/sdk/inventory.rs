//! [`Inventory`] and [`ReleaseLog`] over the Step Functions, CloudWatch Logs,
//! CloudWatch, DynamoDB, IAM and Lambda clients: what `review` reads, and the release
//! log the deployer writes.

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_dynamodb::types::{BillingMode, KeyType, SseType};

use super::failure::{send, Failed};
use super::SdkCloud;
use crate::cloud::{Inventory, LogGroupView, ReleaseLog, ReleaseLogEvent, RoleView, TableView, WorkflowView};
use crate::error::{DeployError, Result};

impl Inventory for SdkCloud {
    async fn workflow(&self, arn: &str) -> Result<Option<WorkflowView>> {
        match send!(
            self.ctx,
            format!("DescribeStateMachine {arn}"),
            self.sfn.describe_state_machine().state_machine_arn(arn)
        ) {
            Ok(out) => Ok(Some(WorkflowView {
                arn: out.state_machine_arn().to_owned(),
                definition: out.definition().to_owned(),
                role_arn: out.role_arn().to_owned(),
                tracing: out.tracing_configuration().is_some_and(|t| t.enabled()),
                logging_level: out.logging_configuration().and_then(|l| l.level()).map(|l| l.as_str().to_owned()),
            })),
            Err(f) if f.code() == Some("StateMachineDoesNotExist") => Ok(None),
            Err(f) => Err(f.into_error()),
        }
    }

    async fn log_groups(&self, prefix: &str) -> Result<Vec<LogGroupView>> {
        let mut groups = Vec::new();
        let mut token = None;
        loop {
            let page = send!(
                self.ctx,
                format!("DescribeLogGroups {prefix}"),
                self.logs.describe_log_groups().log_group_name_prefix(prefix).set_next_token(token)
            )
            .map_err(Failed::into_error)?;
            groups.extend(page.log_groups().iter().map(|g| LogGroupView {
                name: g.log_group_name().unwrap_or_default().to_owned(),
                retention_days: g.retention_in_days(),
                kms_key: g.kms_key_id().map(str::to_owned),
            }));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(groups)
    }

    async fn dashboard(&self, name: &str) -> Result<Option<String>> {
        match send!(self.ctx, format!("GetDashboard {name}"), self.cloudwatch.get_dashboard().dashboard_name(name)) {
            Ok(out) => Ok(Some(out.dashboard_body().unwrap_or_default().to_owned())),
            // CloudWatch's DashboardNotFoundError carries the code ResourceNotFound.
            Err(f) if f.code() == Some("ResourceNotFound") => Ok(None),
            Err(f) => Err(f.into_error()),
        }
    }

    async fn table(&self, name: &str) -> Result<Option<TableView>> {
        match send!(self.ctx, format!("DescribeTable {name}"), self.dynamodb.describe_table().table_name(name)) {
            Ok(out) => Ok(out.table().map(|t| TableView {
                name: t.table_name().unwrap_or(name).to_owned(),
                hash_key: t
                    .key_schema()
                    .iter()
                    .find(|k| *k.key_type() == KeyType::Hash)
                    .map(|k| k.attribute_name().to_owned()),
                kms_encrypted: t.sse_description().and_then(|s| s.sse_type()) == Some(&SseType::Kms),
                on_demand: t.billing_mode_summary().and_then(|b| b.billing_mode()) == Some(&BillingMode::PayPerRequest),
            })),
            Err(f) if f.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(f) => Err(f.into_error()),
        }
    }

    async fn role(&self, name: &str) -> Result<Option<RoleView>> {
        let role = match send!(self.ctx, format!("GetRole {name}"), self.iam.get_role().role_name(name)) {
            Ok(out) => out.role().cloned(),
            Err(f) if f.code() == Some("NoSuchEntity") => return Ok(None),
            Err(f) => return Err(f.into_error()),
        };
        let Some(role) = role else { return Ok(None) };
        let mut names = Vec::new();
        let mut marker = None;
        loop {
            let page = send!(
                self.ctx,
                format!("ListRolePolicies {name}"),
                self.iam.list_role_policies().role_name(name).set_marker(marker)
            )
            .map_err(Failed::into_error)?;
            names.extend(page.policy_names().iter().cloned());
            marker = page.marker().filter(|_| page.is_truncated()).map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        let mut inline_policies = Vec::new();
        for policy in names {
            let out = send!(
                self.ctx,
                format!("GetRolePolicy {name}/{policy}"),
                self.iam.get_role_policy().role_name(name).policy_name(&policy)
            )
            .map_err(Failed::into_error)?;
            inline_policies.push((policy, url_decode(out.policy_document())));
        }
        let mut attached_policies = Vec::new();
        let mut marker = None;
        loop {
            let page = send!(
                self.ctx,
                format!("ListAttachedRolePolicies {name}"),
                self.iam.list_attached_role_policies().role_name(name).set_marker(marker)
            )
            .map_err(Failed::into_error)?;
            attached_policies.extend(page.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)));
            marker = page.marker().filter(|_| page.is_truncated()).map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        Ok(Some(RoleView {
            name: role.role_name().to_owned(),
            arn: role.arn().to_owned(),
            trust_policy: url_decode(role.assume_role_policy_document().unwrap_or_default()),
            inline_policies,
            attached_policies,
        }))
    }

    async fn function_policy(&self, function: &str) -> Result<Option<String>> {
        match send!(self.ctx, format!("GetPolicy {function}"), self.lambda.get_policy().function_name(function)) {
            Ok(out) => Ok(out.policy().map(str::to_owned)),
            // The function exists (the review read its configuration): no policy.
            Err(f) if f.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(f) => Err(f.into_error()),
        }
    }
}

impl ReleaseLog for SdkCloud {
    async fn append(&self, group: &str, stream: &str, event: &ReleaseLogEvent) -> Result<()> {
        let event = InputLogEvent::builder()
            .timestamp(i64::try_from(event.timestamp_ms).unwrap_or(i64::MAX))
            .message(&event.message)
            .build()
            .map_err(|e| DeployError::internal(format!("building the release log event: {e}")))?;
        // No sequence token: CloudWatch Logs has ignored it since January 2023.
        send!(
            self.ctx,
            format!("PutLogEvents {group}"),
            self.logs.put_log_events().log_group_name(group).log_stream_name(stream).log_events(event)
        )
        .map_err(|f| match f.code() {
            Some("ResourceNotFoundException") => DeployError::infrastructure(
                format!("the release log {group} (stream {stream}) does not exist"),
                "apply the environment's Terraform (the traffic-shifting module creates it)",
            ),
            _ => f.into_error(),
        })?;
        Ok(())
    }
}

/// IAM answers policy documents URL-encoded (RFC 3986); the local cloud may not. A
/// document holds no `%` of its own once decoded, so decoding plain JSON is a no-op.
pub(crate) fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn policy_documents_are_url_decoded_once() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(super::url_decode(encoded), r#"{"Version":"2012-10-17","Statement":[]}"#);
        // RFC 3986, not a form: `+` stays (IAM names may hold it).
        let plain = r#"{"Action":"s3:GetObject","Resource":"arn:aws:iam::1:role/a+b"}"#;
        assert_eq!(super::url_decode(plain), plain);
    }
}
