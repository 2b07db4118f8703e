output "artifact_bucket" {
  description = "The artifact store (artifact_bucket in every deployer.yaml)."
  value       = module.artifacts.bucket
}

output "artifact_key_arn" {
  description = "The artifact store's customer-managed key."
  value       = module.artifacts.kms_key_arn
}

output "github_role_arns" {
  description = "Per GitHub environment, the role its jobs assume first (role-to-assume)."
  value       = module.github.role_arns
}

output "pipeline_name" {
  description = "The release pipeline."
  value       = module.pipeline.pipeline_name
}

output "deploy_role_trust" {
  description = "Per workload environment, the tooling roles its deploy role must trust: trusted_tooling_role_names in environments/<env>/terraform.tfvars."
  value = { for env in ["dev", "test", "prod"] : env => sort(concat(
    module.pipeline.deploy_role_assumers[env],
    [for github_env, assumes in local.github_assumes : module.github.role_names[github_env] if contains(assumes, env)],
  )) }
}

output "notification_topic_arn" {
  description = "Failed releases and approvals waiting."
  value       = module.pipeline.notification_topic_arn
}
