variable "environment" {
  description = "The workload environment (dev, test, prod): names everything etl-<environment>-* and is the GitHub environment the deploy role trusts."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,15}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters and digits starting with a letter, such as \"dev\"."
  }
}

variable "account_id" {
  description = "This environment's AWS account id (12 digits), for the ARNs the deploy role may act on."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits, such as \"111111111111\" (quoted: a leading zero is part of the id)."
  }
}

variable "tooling_account_id" {
  description = "The tooling account's id (12 digits): its pipeline and GitHub roles assume the deploy role, and it holds the artifact store."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.tooling_account_id))
    error_message = "tooling_account_id must be exactly 12 digits, such as \"444444444444\"."
  }

  validation {
    condition     = var.tooling_account_id != var.account_id
    error_message = "tooling_account_id must differ from account_id: the pipeline runs in its own account."
  }
}

variable "region" {
  description = "Region of the workload."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "deploy_role_name" {
  description = "Name of the role the deployer assumes here (deploy_role in deployer.yaml)."
  type        = string
  default     = "deployer"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.deploy_role_name))
    error_message = "deploy_role_name must be a valid IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -."
  }
}

variable "trusted_tooling_role_names" {
  description = "Roles in the tooling account that may assume the deploy role: the pipeline stages and GitHub environments whose command touches this environment (environments/README.md)."
  type        = list(string)

  validation {
    condition     = length(var.trusted_tooling_role_names) > 0 && alltrue([for n in var.trusted_tooling_role_names : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", n))])
    error_message = "trusted_tooling_role_names must list at least one IAM role name (a name, not an ARN), such as etl-release-deploy-dev."
  }
}

variable "github_repository" {
  description = "The repository, \"owner/repo\"; jobs bound to this environment may assume the deploy role through GitHub OIDC."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be \"owner/repo\", such as \"acme/serverless-etl-delivery\"."
  }
}

variable "github_oidc_provider_arn" {
  description = "The account's existing GitHub OIDC provider, if something else created it; null creates it here."
  type        = string
  default     = null

  validation {
    condition     = var.github_oidc_provider_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com, or null to create it."
  }
}

variable "deployment_config" {
  description = "How CodeDeploy shifts traffic (the traffic-shifting module's deployment_config): { predefined = \"CodeDeployDefault.Lambda...\" } or { type = \"canary\" | \"linear\", percentage = 1-99, interval_minutes = 1-2880 }."
  type = object({
    predefined       = optional(string)
    type             = optional(string)
    percentage       = optional(number)
    interval_minutes = optional(number)
  })
  default = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }

  validation {
    condition     = (var.deployment_config.predefined == null) != (var.deployment_config.type == null)
    error_message = "deployment_config must set exactly one of predefined (a CodeDeployDefault.Lambda* name) or type (canary or linear, with percentage and interval_minutes)."
  }
}

variable "require_alarms" {
  description = "Refuse, at plan time, a function without alarms (prod: a canary nobody watches proves nothing)."
  type        = bool
  default     = true
}

variable "smoke_test" {
  description = "After all traffic has shifted, the post-traffic hook starts one dry run of the workflow (shadow/ only) and requires its success. Off in prod: the hooks check the alias, alarms and errors only."
  type        = bool
  default     = true
}

variable "allow_fault_injection" {
  description = "Let requests inject failures into the functions (the end-to-end checks of dev and test). Keep it off in prod."
  type        = bool
  default     = false
}

variable "map_max_concurrency" {
  description = "How many batches the workflow's Map state transforms at once (1-40)."
  type        = number
  default     = 10

  validation {
    condition     = var.map_max_concurrency >= 1 && var.map_max_concurrency <= 40 && floor(var.map_max_concurrency) == var.map_max_concurrency
    error_message = "map_max_concurrency must be a whole number from 1 to 40."
  }
}

variable "enable_tracing" {
  description = "X-Ray active tracing of the functions (the hooks always trace). On in every real environment."
  type        = bool
  default     = true
}

variable "enable_state_machine_tracing" {
  description = "X-Ray tracing of the state machine, which joins a run's traces into one. Off only where the platform cannot report it back (the local cloud: a permanent plan diff)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Deletion protection of the release ledger. Off only for throwaway environments (local)."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy the workflow's buckets with objects in them. Only for throwaway environments (local)."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the workflow's and the ledger's KMS keys are deleted (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number from 7 to 30."
  }
}

variable "deployer_settings" {
  description = "The environment's deployer.yaml, parsed (yamldecode(file(\".../deployer.yaml\"))): the functions' and hooks' instruction set comes from it (architecture, functions.<name>.architecture; Lambda's x86_64 where it names none, as for the deployer), and the plan fails, naming each field, where it disagrees with what this module creates. null: no check, x86_64."
  type        = any
  default     = null

  validation {
    condition = var.deployer_settings == null ? true : alltrue([
      for field, value in merge(
        { "architecture" = try(var.deployer_settings.architecture, null), "local.architecture" = try(var.deployer_settings.local.architecture, null) },
        { for name, f in try(var.deployer_settings.functions, {}) : "functions.${name}.architecture" => try(f.architecture, null) },
      ) : contains(["arm64", "x86_64"], value == null ? "arm64" : try(tostring(value), ""))
    ])
    # format(), not a template: checkov's HCL parser cannot read a template nested in one.
    error_message = format("%s: %s: use arm64 or x86_64 (Lambda's Architectures), the same for Terraform and the deployer.", var.deployer_settings_file, join(", ", [
      for field, value in merge(
        { "architecture" = try(var.deployer_settings.architecture, null), "local.architecture" = try(var.deployer_settings.local.architecture, null) },
        { for name, f in try(var.deployer_settings.functions, {}) : format("functions.%s.architecture", name) => try(f.architecture, null) },
      ) : format("%s is %s", field, jsonencode(value)) if !(contains(["arm64", "x86_64"], value == null ? "arm64" : try(tostring(value), "")))
    ]))
  }
}

variable "deployer_local_overrides" {
  description = "Apply deployer_settings' `local:` section, as `deployer --local` does: environments/local runs the workload environments' files on the local cloud (its architecture replaces every function's and hook's)."
  type        = bool
  default     = false
}

variable "deployer_settings_file" {
  description = "Where deployer_settings comes from, for the output deployer_settings and the error message, such as environments/dev/deployer.yaml."
  type        = string
  default     = "deployer.yaml"

  validation {
    condition     = length(trimspace(var.deployer_settings_file)) > 0
    error_message = "deployer_settings_file must name the settings file, such as environments/dev/deployer.yaml."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
