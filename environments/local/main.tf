# The local environment: in the tooling account the artifact store and GitHub's roles,
# and in each workload account (dev, test, prod) the workload-account module: the ETL
# workflow, its traffic shifting (CodeDeploy groups, hooks, release ledger), GitHub's
# OIDC provider and the role the deployer assumes. Terraform cannot loop over
# providers, so each account has its own block. The pipeline is left out:
# CodePipeline, CodeBuild's pipeline integration and CodeStar are not on the local
# cloud (README.md).

locals {
  tags = {
    project     = "serverless-etl-delivery"
    environment = "local"
    managed-by  = "terraform"
  }

  # Who may assume each deploy role: the tooling account's pipeline stages and GitHub
  # environments whose command touches that environment, as in
  # environments/<env>/terraform.tfvars. No pipeline runs here, and ministack does not
  # enforce trust policies: the deployer assumes the roles with the tooling account's
  # own credentials (access key 444444444444).
  trusted_tooling_roles = {
    dev  = ["etl-release-deploy-dev", "etl-release-promote-test", "github-actions-dev", "github-actions-test"]
    test = ["etl-release-promote-test", "etl-release-promote-prod", "github-actions-test", "github-actions-prod"]
    prod = ["etl-release-promote-prod", "github-actions-prod"]
  }

  # What differs from a real account (README.md): a smaller Map, no state machine
  # tracing (ministack does not report it back, a permanent plan diff; the functions
  # trace, as in a real account: ministack reports their mode), fault injection
  # in every account (the end-to-end tests inject failures), and what lets destroy
  # leave nothing behind. The host's x86_64 binaries come from each deployer.yaml's
  # `local:` section, applied here as `deployer --local` applies it.
  local_cloud = {
    map_max_concurrency          = 4
    enable_state_machine_tracing = false
    allow_fault_injection        = true
    deletion_protection          = false
    force_destroy_buckets        = true
    kms_deletion_window_days     = 7
  }
}

# --- tooling account: artifact store -------------------------------------------

module "artifacts" {
  source    = "../../terraform/modules/artifact-store"
  providers = { aws = aws.tooling }

  name             = "artifacts-${var.accounts.tooling}-${var.region}"
  reader_role_arns = [module.dev.deploy_role_arn, module.test.deploy_role_arn, module.prod.deploy_role_arn]
  # Local only: down/reset must be able to remove it, and nothing is kept long.
  force_destroy            = true
  kms_deletion_window_days = 7
  tags                     = local.tags
}

# --- tooling account: GitHub Actions' OIDC provider and one role per environment ---
# As in environments/tooling: a job bound to a GitHub environment assumes its role
# here, and the deployer assumes the deploy roles from it (a promotion also needs the
# source environment's role, to read its ledger).

module "github" {
  source    = "../../terraform/modules/github-oidc"
  providers = { aws = aws.tooling }

  create_provider      = true
  github_repository    = var.github_repository
  artifact_bucket_arn  = module.artifacts.bucket_arn
  artifact_kms_key_arn = module.artifacts.kms_key_arn
  roles = {
    dev  = { assume_role_arns = [module.dev.deploy_role_arn], artifact_access = "read-write" }
    test = { assume_role_arns = [module.dev.deploy_role_arn, module.test.deploy_role_arn], artifact_access = "read" }
    prod = { assume_role_arns = [module.test.deploy_role_arn, module.prod.deploy_role_arn], artifact_access = "read" }
  }
  tags = local.tags
}

# --- workload accounts --------------------------------------------------------------
# The same choices as environments/<env>/main.tf, with the local cloud's overrides.

module "dev" {
  source    = "../../terraform/modules/workload-account"
  providers = { aws = aws.dev }

  environment                = "dev"
  account_id                 = var.accounts.dev
  tooling_account_id         = var.accounts.tooling
  region                     = var.region
  deploy_role_name           = var.deploy_role_name
  trusted_tooling_role_names = local.trusted_tooling_roles.dev
  github_repository          = var.github_repository
  deployment_config          = { predefined = "CodeDeployDefault.LambdaAllAtOnce" }
  require_alarms             = false
  smoke_test                 = true

  deployer_settings            = yamldecode(file("${path.module}/../dev/deployer.yaml"))
  deployer_settings_file       = "environments/dev/deployer.yaml"
  deployer_local_overrides     = true
  map_max_concurrency          = local.local_cloud.map_max_concurrency
  enable_state_machine_tracing = local.local_cloud.enable_state_machine_tracing
  allow_fault_injection        = local.local_cloud.allow_fault_injection
  deletion_protection          = local.local_cloud.deletion_protection
  force_destroy_buckets        = local.local_cloud.force_destroy_buckets
  kms_deletion_window_days     = local.local_cloud.kms_deletion_window_days
  tags                         = local.tags
}

module "test" {
  source    = "../../terraform/modules/workload-account"
  providers = { aws = aws.test }

  environment                = "test"
  account_id                 = var.accounts.test
  tooling_account_id         = var.accounts.tooling
  region                     = var.region
  deploy_role_name           = var.deploy_role_name
  trusted_tooling_role_names = local.trusted_tooling_roles.test
  github_repository          = var.github_repository
  # A custom canary: 10 % for a minute, then the rest (etl-test-canary-10pct-1min).
  deployment_config = { type = "canary", percentage = 10, interval_minutes = 1 }
  require_alarms    = false
  smoke_test        = true

  deployer_settings            = yamldecode(file("${path.module}/../test/deployer.yaml"))
  deployer_settings_file       = "environments/test/deployer.yaml"
  deployer_local_overrides     = true
  map_max_concurrency          = local.local_cloud.map_max_concurrency
  enable_state_machine_tracing = local.local_cloud.enable_state_machine_tracing
  allow_fault_injection        = local.local_cloud.allow_fault_injection
  deletion_protection          = local.local_cloud.deletion_protection
  force_destroy_buckets        = local.local_cloud.force_destroy_buckets
  kms_deletion_window_days     = local.local_cloud.kms_deletion_window_days
  tags                         = local.tags
}

module "prod" {
  source    = "../../terraform/modules/workload-account"
  providers = { aws = aws.prod }

  environment                = "prod"
  account_id                 = var.accounts.prod
  tooling_account_id         = var.accounts.tooling
  region                     = var.region
  deploy_role_name           = var.deploy_role_name
  trusted_tooling_role_names = local.trusted_tooling_roles.prod
  github_repository          = var.github_repository
  deployment_config          = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }
  require_alarms             = true
  # No smoke test in prod: the hooks check the alias, alarms and errors only.
  smoke_test = false

  deployer_settings            = yamldecode(file("${path.module}/../prod/deployer.yaml"))
  deployer_settings_file       = "environments/prod/deployer.yaml"
  deployer_local_overrides     = true
  map_max_concurrency          = local.local_cloud.map_max_concurrency
  enable_state_machine_tracing = local.local_cloud.enable_state_machine_tracing
  allow_fault_injection        = local.local_cloud.allow_fault_injection # a real prod keeps it off
  deletion_protection          = local.local_cloud.deletion_protection
  force_destroy_buckets        = local.local_cloud.force_destroy_buckets
  kms_deletion_window_days     = local.local_cloud.kms_deletion_window_days
  tags                         = local.tags
}

# State written before the workload-account module keeps its resources.
moved {
  from = module.etl_dev
  to   = module.dev.module.etl
}
moved {
  from = module.traffic_dev
  to   = module.dev.module.traffic
}
moved {
  from = module.github_dev
  to   = module.dev.module.github_oidc
}
moved {
  from = module.deploy_dev
  to   = module.dev.module.deploy_role
}
moved {
  from = module.etl_test
  to   = module.test.module.etl
}
moved {
  from = module.traffic_test
  to   = module.test.module.traffic
}
moved {
  from = module.github_test
  to   = module.test.module.github_oidc
}
moved {
  from = module.deploy_test
  to   = module.test.module.deploy_role
}
moved {
  from = module.etl_prod
  to   = module.prod.module.etl
}
moved {
  from = module.traffic_prod
  to   = module.prod.module.traffic
}
moved {
  from = module.github_prod
  to   = module.prod.module.github_oidc
}
moved {
  from = module.deploy_prod
  to   = module.prod.module.deploy_role
}
