# The deployer reads environments/<env>/deployer.yaml; this module creates what it
# names. With deployer_settings set, a plan fails when the two disagree, naming the
# field (output deployer_settings).

locals {
  settings = var.deployer_settings

  # The instruction set, read as the deployer reads it (deployer/src/settings.rs): the
  # `local:` architecture (under --local) wins over everything, then a function's own,
  # then the environment's, then Lambda's default x86_64. The first valid one is taken:
  # an invalid one is refused by deployer_settings' validation, naming the field.
  architectures      = ["arm64", "x86_64"]
  local_architecture = var.deployer_local_overrides ? try(tostring(local.settings.local.architecture), null) : null
  architecture = [for a in compact([
    local.local_architecture, try(tostring(local.settings.architecture), null), "x86_64",
  ]) : a if contains(local.architectures, a)][0]
  function_architectures = { for step, f in try(local.settings.functions, {}) :
    step => [for a in compact([
      local.local_architecture, try(tostring(f.architecture), null), local.architecture,
    ]) : a if contains(local.architectures, a)][0]
    if contains(["extract", "transform", "load", "compensate"], step)
  }

  # The evidence rule, read as the deployer reads it (deployer/src/settings/mod.rs):
  # `local:` evidence (under deployer_local_overrides) over the environment's; a
  # function's own min_invocations (0 exempts it) over the environment's, and under
  # `local:` never above the local minimum. No settings: no rule (0, not required).
  evidence_local = var.deployer_local_overrides ? try(local.settings.local.evidence, null) : null
  evidence_min = try(coalesce(
    try(local.evidence_local.min_invocations, null), try(local.settings.evidence.min_invocations, null),
  ), 0)
  evidence_required = try(coalesce(
    try(local.evidence_local.required, null), try(local.settings.evidence.required, null),
  ), false)
  min_invocations = { for step in ["extract", "transform", "load", "compensate"] : step => (
    try(local.settings.functions[step].min_invocations, null) == null ? local.evidence_min : (
      try(local.evidence_local.min_invocations, null) == null
      ? local.settings.functions[step].min_invocations
      : min(local.settings.functions[step].min_invocations, local.evidence_local.min_invocations)
    )
  ) }

  settings_config = try(tostring(local.settings.deployment_config), null) != null ? {
    predefined = tostring(local.settings.deployment_config), type = null, percentage = null, interval_minutes = null
    } : {
    predefined       = null
    type             = try(local.settings.deployment_config.type, null)
    percentage       = try(local.settings.deployment_config.percentage, null)
    interval_minutes = try(local.settings.deployment_config.interval_minutes, null)
  }
  terraform_config = {
    predefined       = var.deployment_config.predefined
    type             = var.deployment_config.type
    percentage       = var.deployment_config.percentage
    interval_minutes = var.deployment_config.interval_minutes
  }
  artifact_bucket = "artifacts-${var.tooling_account_id}-${var.region}"

  settings_mismatches = var.deployer_settings == null ? [] : compact(concat(
    [
      try(local.settings.environment, null) == var.environment ? "" : "environment: ${try(local.settings.environment, "missing")}, not ${var.environment}",
      try(local.settings.account_id, null) == var.account_id ? "" : "account_id: ${try(local.settings.account_id, "missing")}, not ${var.account_id}",
      try(local.settings.region, null) == var.region ? "" : "region: ${try(local.settings.region, "missing")}, not ${var.region}",
      try(local.settings.deploy_role, null) == var.deploy_role_name ? "" : "deploy_role: ${try(local.settings.deploy_role, "missing")}, not ${var.deploy_role_name}",
      try(local.settings.application, null) == module.traffic.application_name ? "" : "application: ${try(local.settings.application, "missing")}, not ${module.traffic.application_name}",
      try(local.settings.release_table, null) == module.traffic.release_table_name ? "" : "release_table: ${try(local.settings.release_table, "missing")}, not ${module.traffic.release_table_name}",
      try(local.settings.hooks.pre_traffic, null) == module.traffic.hook_function_names.pre_traffic ? "" : "hooks.pre_traffic: ${try(local.settings.hooks.pre_traffic, "missing")}, not ${module.traffic.hook_function_names.pre_traffic}",
      try(local.settings.hooks.post_traffic, null) == module.traffic.hook_function_names.post_traffic ? "" : "hooks.post_traffic: ${try(local.settings.hooks.post_traffic, "missing")}, not ${module.traffic.hook_function_names.post_traffic}",
      try(local.settings.require_alarms, null) == var.require_alarms ? "" : "require_alarms: ${try(local.settings.require_alarms, "missing")}, not ${var.require_alarms}",
      try(local.settings.artifact_bucket, null) == local.artifact_bucket ? "" : "artifact_bucket: ${try(local.settings.artifact_bucket, "missing")}, not ${local.artifact_bucket} (the tooling account's)",
      jsonencode(local.settings_config) == jsonencode(local.terraform_config) ? "" : "deployment_config: ${jsonencode(try(local.settings.deployment_config, null))}, not ${jsonencode(var.deployment_config)}",
      try(local.settings.workflow, null) == null || try(local.settings.workflow.state_machine, null) == module.etl.state_machine_name ? "" : "workflow.state_machine: ${try(local.settings.workflow.state_machine, "missing")}, not ${module.etl.state_machine_name}",
      try(local.settings.workflow, null) == null || try(local.settings.workflow.raw_bucket, null) == module.etl.buckets["raw"] ? "" : "workflow.raw_bucket: ${try(local.settings.workflow.raw_bucket, "missing")}, not ${module.etl.buckets["raw"]}",
      # Optional (the differential shadow run's buckets): absent is fine, present must match.
      try(local.settings.workflow.curated_bucket, null) == null || try(local.settings.workflow.curated_bucket, null) == module.etl.buckets["curated"] ? "" : "workflow.curated_bucket: ${try(local.settings.workflow.curated_bucket, "missing")}, not ${module.etl.buckets["curated"]}",
      try(local.settings.workflow.quarantine_bucket, null) == null || try(local.settings.workflow.quarantine_bucket, null) == module.etl.buckets["quarantine"] ? "" : "workflow.quarantine_bucket: ${try(local.settings.workflow.quarantine_bucket, "missing")}, not ${module.etl.buckets["quarantine"]}",
      toset(keys(try(local.settings.functions, {}))) == toset(keys(module.etl.function_names)) ? "" : "functions: ${join(", ", keys(try(local.settings.functions, {})))}, not ${join(", ", keys(module.etl.function_names))}",
    ],
    [for step, f in try(local.settings.functions, {}) : try(module.etl.function_names[step], "") == f.function_name ? "" : "functions.${step}.function_name: ${f.function_name}, not ${try(module.etl.function_names[step], "none")}"],
    [for step, f in try(local.settings.functions, {}) : toset(try(module.etl.alarm_names[step], [])) == toset(f.alarms) ? "" : "functions.${step}.alarms: ${join(", ", f.alarms)}, not ${join(", ", try(module.etl.alarm_names[step], []))}"],
  ))
}
