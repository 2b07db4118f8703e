# The local environment: the tooling account's artifact store, and in each workload
# account (dev, test, prod) the ETL workflow, its traffic shifting (CodeDeploy groups,
# hooks, release ledger), GitHub's OIDC provider and the role the deployer assumes.
# Terraform cannot loop over providers, so each account has its own blocks. The
# pipeline is left out: CodePipeline, CodeBuild's pipeline integration and CodeStar
# are not on the local cloud (README.md).

locals {
  tags = {
    project     = "serverless-etl-delivery"
    environment = "local"
    managed-by  = "terraform"
  }

  etl_packages = {
    extract    = "${var.dist_dir}/extract.zip"
    transform  = "${var.dist_dir}/transform.zip"
    load       = "${var.dist_dir}/load.zip"
    compensate = "${var.dist_dir}/compensate.zip"
  }
  hook_packages = {
    pre_traffic  = "${var.dist_dir}/pre-traffic.zip"
    post_traffic = "${var.dist_dir}/post-traffic.zip"
  }

  # What the pre-traffic hook invokes each new version with: dry-run requests, which
  # never touch the run ledger and read or write only under shadow/ (see
  # functions/etl-functions/src/layout.rs). The run is the one Extract makes of the
  # extract event (run_id "shadow-orders-<date>").
  hook_run = {
    run_id         = "shadow-orders-2026-01-01"
    run_date       = "2026-01-01"
    execution_id   = "pre-traffic-check"
    dry_run        = true
    inject_failure = null
  }
  hook_events = {
    # A RunRequest: lists raw shadow/dt=2026-01-01/, writes nothing.
    extract = [jsonencode({ run_date = "2026-01-01", execution_id = "pre-traffic-check", dry_run = true, inject_failure = null })]
    # A BatchRequest with no objects: stages an empty batch under shadow/ in the
    # staging bucket (staged output expires after 7 days).
    transform = [jsonencode(merge(local.hook_run, { batch = { batch_id = 0, objects = [] } }))]
    # A LoadRequest with no results: writes the shadow partition's _SUCCESS marker
    # (shadow/dt=2026-01-01/_SUCCESS in the curated bucket), as a dry-run run does.
    load = [jsonencode(merge(local.hook_run, { results = [] }))]
    # None for compensate: even in a dry run it deletes the run's shadow output and
    # publishes an alert to the SNS topic, so every deployment would page. Its
    # post-traffic checks (alias, alarms, errors) still apply.
    compensate = []
  }

  # The post-traffic hook's smoke test: one dry run of the workflow (shadow/ only).
  smoke_input = jsonencode({ run_date = "2026-01-01", dry_run = true, inject_failure = null })

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
  trusted_role_arns = { for env, names in local.trusted_tooling_roles : env => [for n in names : "arn:aws:iam::${var.accounts.tooling}:role/${n}"] }
  lambda_arns       = { for env in ["dev", "test", "prod"] : env => "arn:aws:lambda:${var.region}:${var.accounts[env]}:function" }
  alarm_arns        = { for env in ["dev", "test", "prod"] : env => "arn:aws:cloudwatch:${var.region}:${var.accounts[env]}:alarm" }
}

# --- tooling account: artifact store -------------------------------------------

module "artifacts" {
  source    = "../../terraform/modules/artifact-store"
  providers = { aws = aws.tooling }

  name             = "artifacts-${var.accounts.tooling}-${var.region}"
  reader_role_arns = [module.deploy_dev.role_arn, module.deploy_test.role_arn, module.deploy_prod.role_arn]
  # Local only: down/reset must be able to remove it, and nothing is kept long.
  force_destroy            = true
  kms_deletion_window_days = 7
  tags                     = local.tags
}

# --- workload accounts: the ETL workflow -----------------------------------------

module "etl_dev" {
  source    = "../../terraform/modules/etl-workflow"
  providers = { aws = aws.dev }

  name_prefix       = "etl-dev"
  function_packages = local.etl_packages
  # The local cloud runs the host's binaries.
  architecture        = "x86_64"
  map_max_concurrency = 4
  # Left out on the local cloud: ministack does not report a state machine's
  # tracing configuration back, so tracing on would be a permanent plan diff.
  enable_tracing = false
  # Local only: the end-to-end tests inject failures, and destroy empties buckets.
  allow_fault_injection    = true
  force_destroy_buckets    = true
  kms_deletion_window_days = 7
  tags                     = local.tags
}

module "etl_test" {
  source    = "../../terraform/modules/etl-workflow"
  providers = { aws = aws.test }

  name_prefix         = "etl-test"
  function_packages   = local.etl_packages
  architecture        = "x86_64"
  map_max_concurrency = 4
  enable_tracing      = false
  # As in dev: the end-to-end tests inject failures into releases in every account.
  allow_fault_injection    = true
  force_destroy_buckets    = true
  kms_deletion_window_days = 7
  tags                     = local.tags
}

module "etl_prod" {
  source    = "../../terraform/modules/etl-workflow"
  providers = { aws = aws.prod }

  name_prefix         = "etl-prod"
  function_packages   = local.etl_packages
  architecture        = "x86_64"
  map_max_concurrency = 4
  enable_tracing      = false
  # Local only: a real prod keeps fault injection off (the module's default).
  allow_fault_injection    = true
  force_destroy_buckets    = true
  kms_deletion_window_days = 7
  tags                     = local.tags
}

# --- workload accounts: traffic shifting ------------------------------------------
# One CodeDeploy group per function, watching the function's alarms; the hooks; the
# deployer's release ledger. Local only: the ledger and the key can be destroyed
# quickly.

module "traffic_dev" {
  source    = "../../terraform/modules/traffic-shifting"
  providers = { aws = aws.dev }

  name_prefix = "etl-dev"
  functions = { for step, name in module.etl_dev.function_names : step => {
    function_name = name
    alarm_names   = module.etl_dev.alarm_names[step]
    hook_events   = local.hook_events[step]
  } }
  # Dev and test may run a function whose alarms are still being written; prod may not.
  require_alarms    = false
  deployment_config = { predefined = "CodeDeployDefault.LambdaAllAtOnce" }
  hook_packages     = local.hook_packages
  smoke_test = {
    state_machine_arn = module.etl_dev.state_machine_arn
    input             = local.smoke_input
  }
  architecture             = "x86_64"
  deletion_protection      = false
  kms_deletion_window_days = 7
  tags                     = local.tags
}

module "traffic_test" {
  source    = "../../terraform/modules/traffic-shifting"
  providers = { aws = aws.test }

  name_prefix = "etl-test"
  functions = { for step, name in module.etl_test.function_names : step => {
    function_name = name
    alarm_names   = module.etl_test.alarm_names[step]
    hook_events   = local.hook_events[step]
  } }
  require_alarms = false
  # A custom canary: 10 % for a minute, then the rest (etl-test-canary-10pct-1min).
  deployment_config = { type = "canary", percentage = 10, interval_minutes = 1 }
  hook_packages     = local.hook_packages
  smoke_test = {
    state_machine_arn = module.etl_test.state_machine_arn
    input             = local.smoke_input
  }
  architecture             = "x86_64"
  deletion_protection      = false
  kms_deletion_window_days = 7
  tags                     = local.tags
}

module "traffic_prod" {
  source    = "../../terraform/modules/traffic-shifting"
  providers = { aws = aws.prod }

  name_prefix = "etl-prod"
  functions = { for step, name in module.etl_prod.function_names : step => {
    function_name = name
    alarm_names   = module.etl_prod.alarm_names[step]
    hook_events   = local.hook_events[step]
  } }
  require_alarms    = true
  deployment_config = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }
  hook_packages     = local.hook_packages
  # No smoke test in prod: the hooks check the alias, alarms and errors only.
  architecture             = "x86_64"
  deletion_protection      = false
  kms_deletion_window_days = 7
  tags                     = local.tags
}

# --- workload accounts: GitHub's OIDC provider and the role the deployer assumes ------
# Exactly the actions the deployer uses on exactly this environment's resources; trusted
# by the tooling roles above and by GitHub jobs bound to the environment.

module "github_dev" {
  source    = "../../terraform/modules/github-oidc"
  providers = { aws = aws.dev }

  tags = local.tags
}

module "github_test" {
  source    = "../../terraform/modules/github-oidc"
  providers = { aws = aws.test }

  tags = local.tags
}

module "github_prod" {
  source    = "../../terraform/modules/github-oidc"
  providers = { aws = aws.prod }

  tags = local.tags
}

module "deploy_dev" {
  source    = "../../terraform/modules/deploy-role"
  providers = { aws = aws.dev }

  name                    = var.deploy_role_name
  function_arns           = [for n in values(module.etl_dev.function_names) : "${local.lambda_arns.dev}:${n}"]
  hook_function_arns      = [for n in values(module.traffic_dev.hook_function_names) : "${local.lambda_arns.dev}:${n}"]
  application_name        = module.traffic_dev.application_name
  deployment_group_names  = values(module.traffic_dev.deployment_group_names)
  deployment_config_names = [module.traffic_dev.deployment_config_name]
  alarm_arns              = [for a in flatten(values(module.etl_dev.alarm_names)) : "${local.alarm_arns.dev}:${a}"]
  release_table_arn       = module.traffic_dev.release_table_arn
  kms_key_arns            = [module.traffic_dev.kms_key_arn]
  trusted_role_arns       = local.trusted_role_arns.dev
  oidc_provider_arn       = module.github_dev.provider_arn
  github_repository       = var.github_repository
  github_environment      = "dev"
  tags                    = local.tags
}

module "deploy_test" {
  source    = "../../terraform/modules/deploy-role"
  providers = { aws = aws.test }

  name                    = var.deploy_role_name
  function_arns           = [for n in values(module.etl_test.function_names) : "${local.lambda_arns.test}:${n}"]
  hook_function_arns      = [for n in values(module.traffic_test.hook_function_names) : "${local.lambda_arns.test}:${n}"]
  application_name        = module.traffic_test.application_name
  deployment_group_names  = values(module.traffic_test.deployment_group_names)
  deployment_config_names = [module.traffic_test.deployment_config_name]
  alarm_arns              = [for a in flatten(values(module.etl_test.alarm_names)) : "${local.alarm_arns.test}:${a}"]
  release_table_arn       = module.traffic_test.release_table_arn
  kms_key_arns            = [module.traffic_test.kms_key_arn]
  trusted_role_arns       = local.trusted_role_arns.test
  oidc_provider_arn       = module.github_test.provider_arn
  github_repository       = var.github_repository
  github_environment      = "test"
  tags                    = local.tags
}

module "deploy_prod" {
  source    = "../../terraform/modules/deploy-role"
  providers = { aws = aws.prod }

  name                    = var.deploy_role_name
  function_arns           = [for n in values(module.etl_prod.function_names) : "${local.lambda_arns.prod}:${n}"]
  hook_function_arns      = [for n in values(module.traffic_prod.hook_function_names) : "${local.lambda_arns.prod}:${n}"]
  application_name        = module.traffic_prod.application_name
  deployment_group_names  = values(module.traffic_prod.deployment_group_names)
  deployment_config_names = [module.traffic_prod.deployment_config_name]
  alarm_arns              = [for a in flatten(values(module.etl_prod.alarm_names)) : "${local.alarm_arns.prod}:${a}"]
  release_table_arn       = module.traffic_prod.release_table_arn
  kms_key_arns            = [module.traffic_prod.kms_key_arn]
  trusted_role_arns       = local.trusted_role_arns.prod
  oidc_provider_arn       = module.github_prod.provider_arn
  github_repository       = var.github_repository
  github_environment      = "prod"
  tags                    = local.tags
}
