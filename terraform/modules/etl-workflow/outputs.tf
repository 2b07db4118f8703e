output "state_machine_arn" {
  description = "The ETL state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "The ETL state machine's name (deployer.yaml's workflow.state_machine)."
  value       = aws_sfn_state_machine.this.name
}

output "function_names" {
  description = "Each function's name, by step (extract, transform, load, compensate)."
  value       = { for f in local.functions : f => aws_lambda_function.this[f].function_name }
}

output "live_alias_arns" {
  description = "Each function's live alias, which the deployer shifts and the state machine invokes when no release is in flight."
  value       = { for f in local.functions : f => aws_lambda_alias.live[f].arn }
}

output "alarm_names" {
  description = "Per function, its alarms (errors, throttles, p99 duration over every version and alias), for its deployment group."
  value       = { for f in local.functions : f => [for k in keys(local.alarm_kinds) : aws_cloudwatch_metric_alarm.live["${f}-${k}"].alarm_name] }
}

output "buckets" {
  description = "The raw, staging, curated and quarantine buckets."
  value       = { for b in local.buckets : b => aws_s3_bucket.this[b].bucket }
}

output "ledger_table" {
  description = "The DynamoDB run ledger."
  value       = aws_dynamodb_table.runs.name
}

output "ledger_table_arn" {
  description = "The run ledger's ARN (deployer review reads its key and billing)."
  value       = aws_dynamodb_table.runs.arn
}

output "role_arns" {
  description = "The roles the workflow runs as: each function's (by step) and the state machine's (state_machine). deployer review reads their policies."
  value       = merge({ for f in local.functions : f => aws_iam_role.function[f].arn }, { state_machine = aws_iam_role.state_machine.arn })
}

output "alert_topic_arn" {
  description = "The SNS topic for failed runs and alarms."
  value       = aws_sns_topic.alerts.arn
}

output "kms_key_arn" {
  description = "The key that encrypts the data, ledger, alerts and logs."
  value       = aws_kms_key.this.arn
}

output "architectures" {
  description = "Each function's instruction set, as Lambda is told (extract, transform, load, compensate)."
  value       = { for step, f in aws_lambda_function.this : step => one(f.architectures) }
}

output "tracing" {
  description = "X-Ray tracing as configured: each function's mode (Active or PassThrough, by step) and whether the state machine traces."
  value = {
    functions     = { for step, f in aws_lambda_function.this : step => f.tracing_config[0].mode }
    state_machine = length(aws_sfn_state_machine.this.tracing_configuration) > 0 && alltrue([for t in aws_sfn_state_machine.this.tracing_configuration : t.enabled])
  }
}
