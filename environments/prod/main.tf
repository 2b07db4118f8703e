# The prod account: the ETL workflow, its traffic shifting (a 10 % canary for five
# minutes, alarms required, hooks, release ledger), GitHub's OIDC provider and the
# role the deployer assumes. The names are the ones deployer.yaml uses (settings.tf
# checks them at plan time).

locals {
  environment = "prod"
  name_prefix = "etl-${local.environment}"
  tags = {
    project     = "serverless-etl-delivery"
    environment = local.environment
    managed-by  = "terraform"
  }

  # 10 % for five minutes, then the rest; a function without alarms is refused at plan
  # time (a canary nobody watches proves nothing).
  deployment_config = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }
  require_alarms    = true

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

  # What the pre-traffic hook invokes each new version with: dry-run requests that
  # never touch the run ledger and read or write only under shadow/ (see
  # environments/local/main.tf for each one's effect). None for compensate: even a dry
  # run alerts.
  hook_run = { run_id = "shadow-orders-2026-01-01", run_date = "2026-01-01", execution_id = "pre-traffic-check", dry_run = true, inject_failure = null }
  hook_events = {
    extract    = [jsonencode({ run_date = "2026-01-01", execution_id = "pre-traffic-check", dry_run = true, inject_failure = null })]
    transform  = [jsonencode(merge(local.hook_run, { batch = { batch_id = 0, objects = [] } }))]
    load       = [jsonencode(merge(local.hook_run, { results = [] }))]
    compensate = []
  }

  lambda = "arn:aws:lambda:${var.region}:${var.account_id}:function"
}

module "github_oidc" {
  source = "../../terraform/modules/github-oidc"

  create_provider = var.github_oidc_provider_arn == null
  provider_arn    = var.github_oidc_provider_arn
  tags            = local.tags
}

module "etl" {
  source = "../../terraform/modules/etl-workflow"

  name_prefix       = local.name_prefix
  function_packages = local.etl_packages
  # Fault injection stays off in prod (the module's default).
  tags = local.tags
}

module "traffic" {
  source = "../../terraform/modules/traffic-shifting"

  name_prefix = local.name_prefix
  functions = { for step, name in module.etl.function_names : step => {
    function_name = name
    alarm_names   = module.etl.alarm_names[step]
    hook_events   = local.hook_events[step]
  } }
  require_alarms    = local.require_alarms
  deployment_config = local.deployment_config
  hook_packages     = local.hook_packages
  # No smoke run in prod: the hooks check the alias, alarms and errors only.
  tags = local.tags
}

module "deploy_role" {
  source = "../../terraform/modules/deploy-role"

  name                    = var.deploy_role_name
  function_arns           = [for name in values(module.etl.function_names) : "${local.lambda}:${name}"]
  hook_function_arns      = [for name in values(module.traffic.hook_function_names) : "${local.lambda}:${name}"]
  application_name        = module.traffic.application_name
  deployment_group_names  = values(module.traffic.deployment_group_names)
  deployment_config_names = [module.traffic.deployment_config_name]
  alarm_arns              = [for a in flatten(values(module.etl.alarm_names)) : "arn:aws:cloudwatch:${var.region}:${var.account_id}:alarm:${a}"]
  release_table_arn       = module.traffic.release_table_arn
  kms_key_arns            = [module.traffic.kms_key_arn]
  trusted_role_arns       = [for name in var.trusted_tooling_role_names : "arn:aws:iam::${var.tooling_account_id}:role/${name}"]
  oidc_provider_arn       = module.github_oidc.provider_arn
  github_repository       = var.github_repository
  github_environment      = local.environment
  tags                    = local.tags
}
