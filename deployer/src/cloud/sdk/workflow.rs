//! [`Workflow`] over Step Functions and S3: the replay's dry runs and the raw
//! partitions they read; the shadow diff's reads of the curated and quarantine output.

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent as SfnEvent, HistoryEventType};

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{ExecutionState, HistoryEvent, HistoryKind, Workflow};
use crate::error::Result;

impl Workflow for SdkCloud {
    async fn start_execution(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<String> {
        match send!(
            self.ctx,
            format!("StartExecution {state_machine_arn} {name}"),
            self.sfn.start_execution().state_machine_arn(state_machine_arn).name(name).input(input)
        ) {
            Ok(out) => Ok(out.execution_arn().to_owned()),
            // The name is unique per replay: a retry whose first attempt started it
            // finds its own execution.
            Err(f) if f.code() == Some("ExecutionAlreadyExists") => {
                Ok(format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1)))
            }
            Err(f) => Err(f.into_error()),
        }
    }

    async fn execution_state(&self, execution_arn: &str) -> Result<ExecutionState> {
        let out = send!(
            self.ctx,
            format!("DescribeExecution {execution_arn}"),
            self.sfn.describe_execution().execution_arn(execution_arn)
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(match out.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => ExecutionState::Running,
            ExecutionStatus::Succeeded => ExecutionState::Succeeded,
            _ => ExecutionState::Failed,
        })
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = send!(
                self.ctx,
                format!("GetExecutionHistory {execution_arn}"),
                self.sfn.get_execution_history().execution_arn(execution_arn).max_results(1000).set_next_token(token)
            )
            .map_err(super::failure::Failed::into_error)?;
            events.extend(page.events().iter().map(history_event));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(events)
    }

    async fn definition(&self, state_machine_arn: &str) -> Result<String> {
        let out = send!(
            self.ctx,
            format!("DescribeStateMachine {state_machine_arn}"),
            self.sfn.describe_state_machine().state_machine_arn(state_machine_arn)
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(out.definition().to_owned())
    }

    async fn raw_partitions(&self, bucket: &str) -> Result<Vec<String>> {
        let mut dates = Vec::new();
        let mut token = None;
        loop {
            let page = send!(
                self.ctx,
                format!("ListObjectsV2 s3://{bucket}/dt="),
                self.s3.list_objects_v2().bucket(bucket).prefix("dt=").delimiter("/").set_continuation_token(token)
            )
            .map_err(super::failure::Failed::into_error)?;
            for p in page.common_prefixes() {
                if let Some(date) = p.prefix().and_then(|p| p.strip_prefix("dt=")).map(|d| d.trim_end_matches('/')) {
                    dates.push(date.to_owned());
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        dates.sort();
        Ok(dates)
    }

    async fn put_raw(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
        send!(
            self.ctx,
            format!("PutObject s3://{bucket}/{key}"),
            self.s3.put_object().bucket(bucket).key(key).body(body.into())
        )
        .map_err(super::failure::Failed::into_error)?;
        Ok(())
    }

    async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = send!(
                self.ctx,
                format!("ListObjectsV2 s3://{bucket}/{prefix}"),
                self.s3.list_objects_v2().bucket(bucket).prefix(prefix).set_continuation_token(token)
            )
            .map_err(super::failure::Failed::into_error)?;
            keys.extend(page.contents().iter().filter_map(|o| o.key()).map(str::to_owned));
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let call = format!("GetObject s3://{bucket}/{key}");
        // The SDK retries the request; a body cut short after the answer began (a
        // dropped connection) is read again from the start, a few times.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let out = match send!(self.ctx, call.clone(), self.s3.get_object().bucket(bucket).key(key)) {
                Ok(out) => out,
                Err(f) if f.code() == Some("NoSuchKey") => return Ok(None),
                Err(f) => return Err(f.into_error()),
            };
            match out.body.collect().await {
                Ok(body) => return Ok(Some(body.into_bytes().to_vec())),
                Err(e) if attempt >= 3 => {
                    let failure = crate::error::CloudFailure {
                        call,
                        code: None,
                        http_status: None,
                        request_id: None,
                        attempts: Some(attempt),
                        message: format!("the object's body was cut short every time: {e}"),
                    };
                    return Err(crate::error::DeployError::cloud(failure, "run the command again"));
                }
                Err(_) => continue,
            }
        }
    }
}

/// The part of a history event the paired replays read.
fn history_event(e: &SfnEvent) -> HistoryEvent {
    let at_ms = u64::try_from(e.timestamp().to_millis().unwrap_or(0)).unwrap_or(0);
    let name = || e.state_entered_event_details().map(|d| d.name().to_owned());
    let exited = || e.state_exited_event_details().map(|d| d.name().to_owned());
    let kind = match e.r#type() {
        t if t.as_str().ends_with("StateEntered") => {
            name().map_or(HistoryKind::Other, |state| HistoryKind::Entered { state })
        }
        t if t.as_str().ends_with("StateExited") => {
            exited().map_or(HistoryKind::Other, |state| HistoryKind::Exited { state })
        }
        HistoryEventType::TaskSucceeded => e
            .task_succeeded_event_details()
            .and_then(|d| d.output())
            .map_or(HistoryKind::Other, |o| HistoryKind::TaskSucceeded { output: o.to_owned() }),
        _ => HistoryKind::Other,
    };
    HistoryEvent { at_ms, kind }
}
