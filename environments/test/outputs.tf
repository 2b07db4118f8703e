output "deploy_role_arn" {
  description = "The role the deployer assumes in this account."
  value       = module.workload.deploy_role_arn
}

output "github_subject" {
  description = "The GitHub OIDC subject the deploy role trusts."
  value       = module.workload.github_subject
}

output "github_oidc_provider_arn" {
  description = "The account's GitHub OIDC provider."
  value       = module.workload.github_oidc_provider_arn
}

output "environment" {
  description = "What the deployer needs: the account, the CodeDeploy application, its groups and config, the hooks, the release ledger, the functions and their alarms, the state machine."
  value       = module.workload.environment
}

output "deployer_settings" {
  description = "The deployer's settings file for this environment, checked against what this root creates."
  value       = module.workload.deployer_settings
}
