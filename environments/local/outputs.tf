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
    dev  = module.dev.deploy_role_arn
    test = module.test.deploy_role_arn
    prod = module.prod.deploy_role_arn
  }
}

output "etl_dev" {
  description = "The dev account's ETL workflow: state machine, buckets, ledger and alert topic."
  value       = module.dev.etl
}

output "environments" {
  description = "Per workload environment, what the deployer needs: the account, the CodeDeploy application, its groups and config, the hooks, the release ledger, the functions and their alarms, the state machine."
  value = {
    dev  = module.dev.environment
    test = module.test.environment
    prod = module.prod.environment
  }
}
