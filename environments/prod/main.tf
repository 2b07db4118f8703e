# The prod account: the ETL workflow, its traffic shifting (a 10 % canary for five
# minutes; a function without alarms is refused at plan time), GitHub's OIDC provider
# and the role the deployer assumes (terraform/modules/workload-account). No smoke run
# and no fault injection. The plan fails where deployer.yaml disagrees.

locals {
  environment = "prod"
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

  deployment_config     = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }
  require_alarms        = true
  smoke_test            = false
  allow_fault_injection = false
  # X-Ray: each function's invocations (active tracing) and the state machine, which
  # joins them into one trace per run. Only the local cloud leaves the state
  # machine's off (environments/local/README.md says why).
  enable_tracing               = true
  enable_state_machine_tracing = true

  deployer_settings      = yamldecode(file("${path.module}/deployer.yaml"))
  deployer_settings_file = "environments/${local.environment}/deployer.yaml"
  tags                   = local.tags
}
