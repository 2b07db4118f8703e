//! [`Executions`] over the Step Functions SDK client.

use super::{AwsError, ExecutionState, Executions};

/// [`Executions`] over the Step Functions SDK client.
#[derive(Debug, Clone)]
pub struct StepFunctionsExecutions {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsExecutions {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

/// The ARN an execution named `name` of `state_machine_arn` has.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

impl Executions for StepFunctionsExecutions {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<String, AwsError> {
        match self.client.start_execution().state_machine_arn(state_machine_arn).name(name).input(input).send().await {
            Ok(out) => Ok(out.execution_arn().to_owned()),
            // A retried hook finds its own execution (the name is unique per deployment);
            // so does a retry after a lost reply of a StartExecution that was applied.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_already_exists()) => {
                Ok(execution_arn(state_machine_arn, name))
            }
            Err(e) => Err(AwsError::from_sdk(format!("starting execution {name} of {state_machine_arn}"), &e)),
        }
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionState, AwsError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("describing execution {execution_arn}"), &e))?;
        Ok(ExecutionState {
            status: out.status().as_str().to_owned(),
            error: out.error().map(str::to_owned),
            cause: out.cause().map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn execution_arns_follow_the_state_machine() {
        assert_eq!(
            super::execution_arn("arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev", "hook-smoke-d-ABC"),
            "arn:aws:states:us-east-1:111111111111:execution:etl-dev:hook-smoke-d-ABC"
        );
    }
}
