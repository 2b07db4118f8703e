# The deployer reads deployer.yaml in this folder; Terraform creates what it names.
# A plan fails when the two disagree, naming the field.

locals {
  settings = yamldecode(file("${path.module}/deployer.yaml"))

  settings_config = try(tostring(local.settings.deployment_config), null) != null ? {
    predefined = tostring(local.settings.deployment_config), type = null, percentage = null, interval_minutes = null
    } : {
    predefined       = null
    type             = try(local.settings.deployment_config.type, null)
    percentage       = try(local.settings.deployment_config.percentage, null)
    interval_minutes = try(local.settings.deployment_config.interval_minutes, null)
  }
  terraform_config = {
    predefined       = try(local.deployment_config.predefined, null)
    type             = try(local.deployment_config.type, null)
    percentage       = try(local.deployment_config.percentage, null)
    interval_minutes = try(local.deployment_config.interval_minutes, null)
  }

  settings_mismatches = compact(concat(
    [
      local.settings.environment == local.environment ? "" : "environment: ${local.settings.environment}, not ${local.environment}",
      local.settings.account_id == var.account_id ? "" : "account_id: ${local.settings.account_id}, not ${var.account_id}",
      local.settings.region == var.region ? "" : "region: ${local.settings.region}, not ${var.region}",
      local.settings.deploy_role == var.deploy_role_name ? "" : "deploy_role: ${local.settings.deploy_role}, not ${var.deploy_role_name}",
      local.settings.application == module.traffic.application_name ? "" : "application: ${local.settings.application}, not ${module.traffic.application_name}",
      local.settings.release_table == module.traffic.release_table_name ? "" : "release_table: ${local.settings.release_table}, not ${module.traffic.release_table_name}",
      local.settings.hooks.pre_traffic == module.traffic.hook_function_names.pre_traffic ? "" : "hooks.pre_traffic: ${local.settings.hooks.pre_traffic}, not ${module.traffic.hook_function_names.pre_traffic}",
      local.settings.hooks.post_traffic == module.traffic.hook_function_names.post_traffic ? "" : "hooks.post_traffic: ${local.settings.hooks.post_traffic}, not ${module.traffic.hook_function_names.post_traffic}",
      local.settings.require_alarms == local.require_alarms ? "" : "require_alarms: ${local.settings.require_alarms}, not ${local.require_alarms}",
      local.settings.artifact_bucket == "artifacts-${var.tooling_account_id}-${var.region}" ? "" : "artifact_bucket: ${local.settings.artifact_bucket}, not artifacts-${var.tooling_account_id}-${var.region} (the tooling root's)",
      jsonencode(local.settings_config) == jsonencode(local.terraform_config) ? "" : "deployment_config: ${jsonencode(local.settings.deployment_config)}, not ${jsonencode(local.deployment_config)}",
      toset(keys(local.settings.functions)) == toset(keys(module.etl.function_names)) ? "" : "functions: ${join(", ", keys(local.settings.functions))}, not ${join(", ", keys(module.etl.function_names))}",
    ],
    [for step, f in local.settings.functions : try(module.etl.function_names[step], "") == f.function_name ? "" : "functions.${step}.function_name: ${f.function_name}, not ${try(module.etl.function_names[step], "none")}"],
    [for step, f in local.settings.functions : toset(try(module.etl.alarm_names[step], [])) == toset(f.alarms) ? "" : "functions.${step}.alarms: ${join(", ", f.alarms)}, not ${join(", ", try(module.etl.alarm_names[step], []))}"],
  ))
}

output "deployer_settings" {
  description = "The deployer's settings file for this environment, checked against what this root creates."
  value       = "environments/${local.environment}/deployer.yaml"

  precondition {
    condition     = length(local.settings_mismatches) == 0
    error_message = "environments/${local.environment}/deployer.yaml disagrees with Terraform: ${join("; ", local.settings_mismatches)}. Fix the settings or the root so the deployer finds what Terraform creates."
  }
}
