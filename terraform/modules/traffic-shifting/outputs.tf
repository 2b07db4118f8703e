output "application_name" {
  description = "The CodeDeploy application (compute platform Lambda)."
  value       = aws_codedeploy_app.this.name
}

output "deployment_group_names" {
  description = "Each function's deployment group, by step; a group is named after its function."
  value       = { for k, g in aws_codedeploy_deployment_group.this : k => g.deployment_group_name }
}

output "deployment_config_name" {
  description = "The deployment configuration every group uses: a CodeDeployDefault.Lambda* name or the module's custom one."
  value       = local.deployment_config_name
}

output "service_role_arn" {
  description = "The role CodeDeploy assumes to shift the aliases, read the alarms and invoke the hooks."
  value       = aws_iam_role.codedeploy.arn
}

output "hook_function_names" {
  description = "The hooks to name in the AppSpec: pre_traffic (BeforeAllowTraffic) and post_traffic (AfterAllowTraffic)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "release_table_name" {
  description = "The deployer's release ledger and lock (DynamoDB, pk/sk)."
  value       = aws_dynamodb_table.releases.name
}

output "release_table_arn" {
  description = "The release ledger's ARN, for the deploy role's policy."
  value       = aws_dynamodb_table.releases.arn
}

output "kms_key_arn" {
  description = "The key that encrypts the release ledger, the hooks' settings and their logs; the deploy role needs it to read and write the ledger."
  value       = aws_kms_key.this.arn
}

output "hook_architectures" {
  description = "Each hook's instruction set, as Lambda is told (pre_traffic, post_traffic)."
  value       = { for k, h in aws_lambda_function.this : k => one(h.architectures) }
}

output "hook_role_arns" {
  description = "ARNs of the hooks' roles, keyed pre_traffic / post_traffic (the deployer's doctor simulates their policies)."
  value       = { for k, r in aws_iam_role.hook : k => r.arn }
}

output "release_log" {
  description = "The release log: the log group (name, arn) and the stream the deployer writes one event per release to; the dashboard shows the newest."
  value = {
    name   = aws_cloudwatch_log_group.releases.name
    arn    = aws_cloudwatch_log_group.releases.arn
    stream = aws_cloudwatch_log_stream.releases.name
  }
}
