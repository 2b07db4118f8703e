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
    dev  = aws_iam_role.deploy_dev.arn
    test = aws_iam_role.deploy_test.arn
    prod = aws_iam_role.deploy_prod.arn
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
