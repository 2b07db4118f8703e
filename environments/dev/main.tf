# The dev account: the ETL workflow, its traffic shifting (all at once; alarms still
# stop and roll a release back), GitHub's OIDC provider and the role the deployer
# assumes (terraform/modules/workload-account). The plan fails where deployer.yaml
# disagrees with what it creates.

locals {
  environment = "dev"
  tags = {
    project     = "serverless-etl-delivery"
    environment = local.environment
    managed-by  = "terraform"
  }
}

module "workload" {
  source = "../../terraform/modules/workload-account"

  environment                = local.environment
  account_id                 = var.account_id
  tooling_account_id         = var.tooling_account_id
  region                     = var.region
  deploy_role_name           = var.deploy_role_name
  trusted_tooling_role_names = var.trusted_tooling_role_names
  github_repository          = var.github_repository
  github_oidc_provider_arn   = var.github_oidc_provider_arn

  deployment_config     = { predefined = "CodeDeployDefault.LambdaAllAtOnce" }
  require_alarms        = false
  smoke_test            = true
  allow_fault_injection = true
  # X-Ray: each function's invocations (active tracing) and the state machine, which
  # joins them into one trace per run. Only the local cloud leaves the state
  # machine's off (environments/local/README.md says why).
  enable_tracing               = true
  enable_state_machine_tracing = true

  deployer_settings      = yamldecode(file("${path.module}/deployer.yaml"))
  deployer_settings_file = "environments/${local.environment}/deployer.yaml"
  tags                   = local.tags
}
