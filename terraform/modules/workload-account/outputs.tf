output "deploy_role_arn" {
  description = "The role the deployer assumes in this account."
  value       = module.deploy_role.role_arn
}

output "github_subject" {
  description = "The GitHub OIDC subject the deploy role trusts."
  value       = module.deploy_role.github_subject
}

output "github_oidc_provider_arn" {
  description = "The account's GitHub OIDC provider."
  value       = module.github_oidc.provider_arn
}

output "environment" {
  description = "What the deployer needs: the account, the CodeDeploy application, its groups and config, the hooks, the release ledger, the functions and their alarms, the state machine."
  value = {
    account_id             = var.account_id
    application_name       = module.traffic.application_name
    deployment_group_names = module.traffic.deployment_group_names
    deployment_config_name = module.traffic.deployment_config_name
    hook_function_names    = module.traffic.hook_function_names
    release_table_name     = module.traffic.release_table_name
    function_names         = module.etl.function_names
    alarm_names            = module.etl.alarm_names
    state_machine_arn      = module.etl.state_machine_arn
    dashboard_name         = aws_cloudwatch_dashboard.this.dashboard_name
    tracing                = module.etl.tracing
    release_log            = module.traffic.release_log.name
  }
}

output "architectures" {
  description = "The instruction set of each function and hook as Lambda is told, from deployer_settings (with its `local:` section under deployer_local_overrides): what the deployer's artifacts must be built for."
  value = {
    functions = module.etl.architectures
    hooks     = module.traffic.hook_architectures
  }
}

output "etl" {
  description = "The ETL workflow: state machine, buckets, run ledger, alert topic and alarms."
  value = {
    state_machine_arn = module.etl.state_machine_arn
    buckets           = module.etl.buckets
    ledger_table      = module.etl.ledger_table
    alert_topic_arn   = module.etl.alert_topic_arn
    alarm_names       = module.etl.alarm_names
  }
}

output "deployer_settings" {
  description = "deployer_settings_file, once deployer_settings (when given) agrees with what this module creates; the plan fails otherwise, naming each field."
  value       = var.deployer_settings_file

  precondition {
    condition     = length(local.settings_mismatches) == 0
    error_message = "${var.deployer_settings_file} disagrees with Terraform: ${join("; ", local.settings_mismatches)}. Fix the settings or the root so the deployer finds what Terraform creates."
  }
}
