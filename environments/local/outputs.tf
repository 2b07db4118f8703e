output "artifact_bucket" {
  description = "The tooling account's artifact bucket."
  value       = module.artifacts.bucket
}

output "artifact_key_arn" {
  description = "The customer-managed KMS key that encrypts the artifacts."
  value       = module.artifacts.kms_key_arn
}

output "deploy_role_arns" {
  description = "Per workload environment, the role the deployer assumes."
  value = {
    dev  = module.deploy_dev.role_arn
    test = module.deploy_test.role_arn
    prod = module.deploy_prod.role_arn
  }
}

output "etl_dev" {
  description = "The dev account's ETL workflow: state machine, buckets, ledger and alert topic."
  value = {
    state_machine_arn = module.etl_dev.state_machine_arn
    buckets           = module.etl_dev.buckets
    ledger_table      = module.etl_dev.ledger_table
    alert_topic_arn   = module.etl_dev.alert_topic_arn
    alarm_names       = module.etl_dev.alarm_names
  }
}

output "environments" {
  description = "Per workload environment, what the deployer needs: the account, the CodeDeploy application, its groups and config, the hooks, the release ledger, the functions and their alarms, the state machine."
  value = {
    dev = {
      account_id             = var.accounts.dev
      application_name       = module.traffic_dev.application_name
      deployment_group_names = module.traffic_dev.deployment_group_names
      deployment_config_name = module.traffic_dev.deployment_config_name
      hook_function_names    = module.traffic_dev.hook_function_names
      release_table_name     = module.traffic_dev.release_table_name
      function_names         = module.etl_dev.function_names
      alarm_names            = module.etl_dev.alarm_names
      state_machine_arn      = module.etl_dev.state_machine_arn
    }
    test = {
      account_id             = var.accounts.test
      application_name       = module.traffic_test.application_name
      deployment_group_names = module.traffic_test.deployment_group_names
      deployment_config_name = module.traffic_test.deployment_config_name
      hook_function_names    = module.traffic_test.hook_function_names
      release_table_name     = module.traffic_test.release_table_name
      function_names         = module.etl_test.function_names
      alarm_names            = module.etl_test.alarm_names
      state_machine_arn      = module.etl_test.state_machine_arn
    }
    prod = {
      account_id             = var.accounts.prod
      application_name       = module.traffic_prod.application_name
      deployment_group_names = module.traffic_prod.deployment_group_names
      deployment_config_name = module.traffic_prod.deployment_config_name
      hook_function_names    = module.traffic_prod.hook_function_names
      release_table_name     = module.traffic_prod.release_table_name
      function_names         = module.etl_prod.function_names
      alarm_names            = module.etl_prod.alarm_names
      state_machine_arn      = module.etl_prod.state_machine_arn
    }
  }
}
