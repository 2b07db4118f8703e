# One workload account: the ETL workflow, its traffic shifting (CodeDeploy groups,
# hooks, release ledger), GitHub's OIDC provider and the role the deployer assumes,
# named etl-<environment>-* and `deployer` as deployer.yaml expects.

locals {
  name_prefix = "etl-${var.environment}"

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
    # A RunRequest: lists raw dt=2026-01-01/ (a day with no data), writes nothing.
    extract = [jsonencode({ run_date = "2026-01-01", execution_id = "pre-traffic-check", dry_run = true, inject_failure = null })]
    # A BatchRequest with no objects: stages an empty batch under shadow/ in the
    # staging bucket (staged output expires after 7 days).
    transform = [jsonencode(merge(local.hook_run, { batch = { batch_id = 0, objects = [] } }))]
    # A LoadRequest with no results: writes the shadow partition's _SUCCESS marker.
    load = [jsonencode(merge(local.hook_run, { results = [] }))]
    # None for compensate: even in a dry run it deletes the run's shadow output and
    # publishes an alert, so every deployment would page. Its post-traffic checks
    # (alias, alarms, errors) still apply.
    compensate = []
  }

  # The post-traffic hook's smoke test: one dry run of the workflow (shadow/ only), on
  # the new release while one is in flight (pin; ignored without a routing record,
  # when every alias already serves the release).
  smoke_input = jsonencode({ run_date = "2026-01-01", dry_run = true, inject_failure = null, pin = "new" })

  lambda = "arn:aws:lambda:${var.region}:${var.account_id}:function"
  alarm  = "arn:aws:cloudwatch:${var.region}:${var.account_id}:alarm"
}

module "github_oidc" {
  source = "../github-oidc"

  create_provider = var.github_oidc_provider_arn == null
  provider_arn    = var.github_oidc_provider_arn
  tags            = var.tags
}

module "etl" {
  source = "../etl-workflow"
  # The routing record of a release in flight lives in the traffic-shifting module's
  # ledger; the state machine reads it once per execution.
  release_ledger = { table_name = module.traffic.release_table_name, kms_key_arn = module.traffic.kms_key_arn }

  name_prefix                  = local.name_prefix
  architecture                 = local.architecture
  function_architectures       = local.function_architectures
  map_max_concurrency          = var.map_max_concurrency
  enable_tracing               = var.enable_tracing
  enable_state_machine_tracing = var.enable_state_machine_tracing
  allow_fault_injection        = var.allow_fault_injection
  force_destroy_buckets        = var.force_destroy_buckets
  kms_deletion_window_days     = var.kms_deletion_window_days
  tags                         = var.tags
}

module "traffic" {
  source = "../traffic-shifting"

  name_prefix = local.name_prefix
  functions = { for step, name in module.etl.function_names : step => {
    function_name     = name
    alarm_names       = module.etl.alarm_names[step]
    hook_events       = local.hook_events[step]
    min_invocations   = local.min_invocations[step]
    evidence_required = local.evidence_required
  } }
  require_alarms    = var.require_alarms
  deployment_config = var.deployment_config
  smoke_test = var.smoke_test ? {
    state_machine_arn = module.etl.state_machine_arn
    input             = local.smoke_input
  } : null
  architecture             = local.architecture
  deletion_protection      = var.deletion_protection
  kms_deletion_window_days = var.kms_deletion_window_days
  tags                     = var.tags
}

locals {
  # The deploy role's workflow: the evidence traffic's dry runs and synthetic
  # partition, and the differential shadow run's reads of the curated and quarantine
  # buckets (production's output and the dry run's under shadow/, read only). The
  # etl-workflow module's one key encrypts all four buckets.
  deploy_role_workflow = {
    state_machine_arn     = module.etl.state_machine_arn
    raw_bucket_arn        = "arn:aws:s3:::${module.etl.buckets["raw"]}"
    data_key_arn          = module.etl.kms_key_arn
    curated_bucket_arn    = "arn:aws:s3:::${module.etl.buckets["curated"]}"
    quarantine_bucket_arn = "arn:aws:s3:::${module.etl.buckets["quarantine"]}"
  }
}

module "deploy_role" {
  source = "../deploy-role"

  name                    = var.deploy_role_name
  function_arns           = [for name in values(module.etl.function_names) : "${local.lambda}:${name}"]
  hook_function_arns      = [for name in values(module.traffic.hook_function_names) : "${local.lambda}:${name}"]
  hook_role_arns          = values(module.traffic.hook_role_arns)
  application_name        = module.traffic.application_name
  deployment_group_names  = values(module.traffic.deployment_group_names)
  deployment_config_names = [module.traffic.deployment_config_name]
  alarm_arns              = [for a in flatten(values(module.etl.alarm_names)) : "${local.alarm}:${a}"]
  release_table_arn       = module.traffic.release_table_arn
  kms_key_arns            = [module.traffic.kms_key_arn]
  trusted_role_arns       = [for name in var.trusted_tooling_role_names : "arn:aws:iam::${var.tooling_account_id}:role/${name}"]
  oidc_provider_arn       = module.github_oidc.provider_arn
  github_repository       = var.github_repository
  github_environment      = var.environment
  # What `deployer review` reads, and the release log it writes to.
  review = {
    state_machine_arn     = module.etl.state_machine_arn
    dashboard_arn         = "arn:aws:cloudwatch::${var.account_id}:dashboard/${local.name_prefix}"
    run_ledger_arn        = module.etl.ledger_table_arn
    role_arns             = values(module.etl.role_arns)
    release_log_group_arn = module.traffic.release_log.arn
    release_log_stream    = module.traffic.release_log.stream
  }

  # The evidence traffic's and the shadow diff's workflow and buckets (above).
  workflow = local.deploy_role_workflow
  tags     = var.tags
}
