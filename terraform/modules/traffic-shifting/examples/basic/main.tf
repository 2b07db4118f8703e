# Traffic shifting for the ETL functions of one environment (see etl-workflow): a
# 10 % canary for 5 minutes, the functions' alarms, dry-run hook events and a dry-run
# smoke test of the state machine. The hooks are created from the
# placeholder the module carries; `deployer deploy` ships their code.
terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

locals {
  prefix = "etl-example"
  run    = { run_id = "shadow-orders-2026-01-01", run_date = "2026-01-01", execution_id = "pre-traffic-check", dry_run = true, inject_failure = null }
  alarms = { for step in ["extract", "transform", "load", "compensate"] : step => [for kind in ["errors", "throttles", "p99-duration"] : "${local.prefix}-${step}-${kind}"] }
}

module "traffic" {
  source = "../.."

  name_prefix = local.prefix
  functions = {
    extract = {
      function_name = "${local.prefix}-extract"
      alarm_names   = local.alarms["extract"]
      hook_events   = [jsonencode({ run_date = "2026-01-01", dry_run = true, inject_failure = null })]
    }
    transform = {
      function_name   = "${local.prefix}-transform"
      alarm_names     = local.alarms["transform"]
      hook_events     = [jsonencode(merge(local.run, { batch = { batch_id = 0, objects = [] } }))]
      max_duration_ms = 10000
    }
    load = {
      function_name = "${local.prefix}-load"
      alarm_names   = local.alarms["load"]
      hook_events   = [jsonencode(merge(local.run, { results = [] }))]
    }
    # No hook event: compensate alerts on every call, dry run or not.
    compensate = {
      function_name = "${local.prefix}-compensate"
      alarm_names   = local.alarms["compensate"]
    }
  }
  deployment_config = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }
  smoke_test = {
    state_machine_arn = "arn:aws:states:us-east-1:111111111111:stateMachine:${local.prefix}-etl"
    input             = jsonencode({ run_date = "2026-01-01", dry_run = true, inject_failure = null })
  }
  architecture = "arm64"
  tags         = { team = "data-platform" }
}

output "deployment_group_names" {
  description = "The deployer starts one deployment per changed function in these groups."
  value       = module.traffic.deployment_group_names
}

output "release_table_name" {
  description = "The deployer's release ledger and lock."
  value       = module.traffic.release_table_name
}
