variable "name_prefix" {
  description = "Prefix of every resource name, the workload environment's, for example \"etl-dev\". The CodeDeploy application is named after it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and -, starting with a letter (for example \"etl-dev\")."
  }
}

variable "functions" {
  description = <<-EOT
    The functions whose live alias CodeDeploy shifts, keyed by step (extract, transform, ...):
    one deployment group each, named after the function. Per function:
    - function_name: the Lambda function's name (for example "etl-dev-extract");
    - alarm_names: the alarms that stop and roll back its deployments (at most 10);
    - hook_events: JSON documents the pre-traffic hook invokes the target version with
      (harmless, dry-run events); none skips the invoke check;
    - max_duration_ms: the longest a hook event may take on the target version;
    - max_errors, error_window_seconds: the most Errors the post-traffic hook accepts
      on the live alias over the last error_window_seconds.
  EOT
  type = map(object({
    function_name        = string
    alarm_names          = list(string)
    hook_events          = optional(list(string), [])
    max_duration_ms      = optional(number, 5000)
    max_errors           = optional(number, 0)
    error_window_seconds = optional(number, 300)
  }))

  validation {
    condition     = length(var.functions) > 0
    error_message = "functions must name at least one function."
  }

  validation {
    condition     = alltrue([for k in keys(var.functions) : can(regex("^[a-z][a-z0-9_-]{0,31}$", k))])
    error_message = "functions: every key is a step name of a-z, 0-9, _ and - (for example \"extract\")."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : can(regex("^[A-Za-z0-9_-]{1,64}$", f.function_name))])
    error_message = "functions.*.function_name must be a Lambda function name: 1-64 of A-Z a-z 0-9 _ - (not an ARN)."
  }

  validation {
    condition     = length(distinct([for f in values(var.functions) : f.function_name])) == length(var.functions)
    error_message = "functions: every function_name must be different (each one is a deployment group)."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : length(f.alarm_names) <= 10])
    error_message = "${join(", ", [for k, f in var.functions : "functions.${k}.alarm_names has ${length(f.alarm_names)} alarms" if length(f.alarm_names) > 10])}: a deployment group takes at most 10."
  }

  validation {
    condition     = alltrue(flatten([for f in values(var.functions) : [for a in f.alarm_names : length(a) >= 1 && length(a) <= 255]]))
    error_message = "functions.*.alarm_names: every alarm name must be 1-255 characters."
  }

  validation {
    condition     = !var.require_alarms || alltrue([for f in values(var.functions) : length(f.alarm_names) > 0])
    error_message = "${join(", ", [for k, f in var.functions : "functions.${k}.alarm_names" if length(f.alarm_names) == 0])} is empty: prod deployment groups need alarms (require_alarms = true)."
  }

  validation {
    condition     = alltrue(flatten([for f in values(var.functions) : [for e in f.hook_events : can(jsondecode(e))]]))
    error_message = "functions.*.hook_events: every event must be a JSON document (use jsonencode({...}))."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.max_duration_ms >= 1 && f.max_duration_ms <= 900000 && floor(f.max_duration_ms) == f.max_duration_ms])
    error_message = "functions.*.max_duration_ms must be a whole number between 1 and 900000 (Lambda's 15 minutes)."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : length(f.hook_events) * f.max_duration_ms + 10000 <= var.hook_timeout_seconds * 1000])
    error_message = "${join(", ", [for k, f in var.functions : "functions.${k}: ${length(f.hook_events)} hook_events x max_duration_ms ${f.max_duration_ms}" if length(f.hook_events) * f.max_duration_ms + 10000 > var.hook_timeout_seconds * 1000])} + 10 s to report do not fit in hook_timeout_seconds (${var.hook_timeout_seconds}): the pre-traffic hook would fail the deployment. Raise hook_timeout_seconds or lower max_duration_ms."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.max_errors >= 0 && floor(f.max_errors) == f.max_errors])
    error_message = "functions.*.max_errors must be a whole number, 0 or more."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.error_window_seconds >= 60 && f.error_window_seconds <= 86400 && floor(f.error_window_seconds) == f.error_window_seconds])
    error_message = "functions.*.error_window_seconds must be a whole number between 60 (one metric period) and 86400."
  }
}

variable "require_alarms" {
  description = "Every function must list at least one alarm. Keep it on for production: a deployment group without alarms cannot stop a bad canary."
  type        = bool
  default     = true
}

variable "deployment_config" {
  description = <<-EOT
    How CodeDeploy shifts traffic: either a predefined Lambda configuration by name
    ({ predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }), or a custom one
    the module creates: { type = "canary" | "linear", percentage = 1-99,
    interval_minutes = 1-2880 }.
  EOT
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

  validation {
    condition = var.deployment_config.predefined == null ? true : contains([
      "CodeDeployDefault.LambdaCanary10Percent5Minutes",
      "CodeDeployDefault.LambdaCanary10Percent10Minutes",
      "CodeDeployDefault.LambdaCanary10Percent15Minutes",
      "CodeDeployDefault.LambdaCanary10Percent30Minutes",
      "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
      "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
      "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
      "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
      "CodeDeployDefault.LambdaAllAtOnce",
    ], var.deployment_config.predefined)
    error_message = "deployment_config.predefined must be one of CodeDeployDefault.LambdaCanary10Percent5Minutes, CodeDeployDefault.LambdaCanary10Percent10Minutes, CodeDeployDefault.LambdaCanary10Percent15Minutes, CodeDeployDefault.LambdaCanary10Percent30Minutes, CodeDeployDefault.LambdaLinear10PercentEvery1Minute, CodeDeployDefault.LambdaLinear10PercentEvery2Minutes, CodeDeployDefault.LambdaLinear10PercentEvery3Minutes, CodeDeployDefault.LambdaLinear10PercentEvery10Minutes, CodeDeployDefault.LambdaAllAtOnce (or use type = \"canary\" / \"linear\" for a custom one)."
  }

  validation {
    condition     = var.deployment_config.type == null ? true : contains(["canary", "linear"], var.deployment_config.type)
    error_message = "deployment_config.type must be canary or linear."
  }

  validation {
    condition = var.deployment_config.type == null ? (
      var.deployment_config.percentage == null && var.deployment_config.interval_minutes == null
    ) : true
    error_message = "deployment_config.percentage and deployment_config.interval_minutes apply only to a custom config (type = \"canary\" or \"linear\"), not to a predefined one."
  }

  validation {
    condition = var.deployment_config.type == null ? true : (
      var.deployment_config.percentage == null ? false : (
        var.deployment_config.percentage >= 1 && var.deployment_config.percentage <= 99 && floor(var.deployment_config.percentage) == var.deployment_config.percentage
      )
    )
    error_message = "deployment_config.percentage must be 1-99 (a whole percentage of traffic per step) for a canary or linear config."
  }

  validation {
    condition = var.deployment_config.type == null ? true : (
      var.deployment_config.interval_minutes == null ? false : (
        var.deployment_config.interval_minutes >= 1 && var.deployment_config.interval_minutes <= 2880 && floor(var.deployment_config.interval_minutes) == var.deployment_config.interval_minutes
      )
    )
    error_message = "deployment_config.interval_minutes must be at least 1 (whole minutes, at most 2880) for a canary or linear config."
  }
}

variable "smoke_test" {
  description = "A run of the ETL state machine the post-traffic hook starts once all traffic has shifted, and whose success it requires: its ARN, its input (a JSON object, dry-run so that nothing real is written) and how long to wait for it. null for none."
  type = object({
    state_machine_arn = string
    input             = string
    timeout_seconds   = optional(number, 120)
  })
  default = null

  validation {
    condition     = var.smoke_test == null ? true : can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.smoke_test.state_machine_arn))
    error_message = "smoke_test.state_machine_arn must be a Step Functions state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)."
  }

  validation {
    condition     = var.smoke_test == null ? true : can(keys(jsondecode(var.smoke_test.input)))
    error_message = "smoke_test.input must be a JSON object, for example {\"run_date\":\"2026-01-01\",\"dry_run\":true,\"inject_failure\":null}."
  }

  validation {
    condition     = var.smoke_test == null ? true : (var.smoke_test.timeout_seconds >= 1 && floor(var.smoke_test.timeout_seconds) == var.smoke_test.timeout_seconds && var.smoke_test.timeout_seconds + 30 <= var.hook_timeout_seconds)
    error_message = "smoke_test.timeout_seconds must be a whole number of at least 1, and with 30 s for the other checks and the report fit in hook_timeout_seconds (timeout_seconds + 30 <= hook_timeout_seconds)."
  }
}

variable "architecture" {
  description = "Instruction set of the hook functions: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "hook_timeout_seconds" {
  description = "Timeout of each hook function in seconds (1-900). CodeDeploy waits up to an hour for a hook's status."
  type        = number
  default     = 300

  validation {
    condition     = var.hook_timeout_seconds >= 1 && var.hook_timeout_seconds <= 900
    error_message = "hook_timeout_seconds must be between 1 and 900."
  }
}

variable "hook_memory_mb" {
  description = "Memory of each hook function in MB (128-10240)."
  type        = number
  default     = 256

  validation {
    condition     = var.hook_memory_mb >= 128 && var.hook_memory_mb <= 10240
    error_message = "hook_memory_mb must be between 128 and 10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of each hook function; -1 for none (hooks run once per deployment, so none is the usual choice)."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be -1 (none) or at least 1."
  }
}

variable "log_level" {
  description = "Log level of the hooks: error, warn, info, debug or trace."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be one of error, warn, info, debug, trace."
  }
}

variable "log_retention_days" {
  description = "Retention of the hooks' log groups, in days (a value CloudWatch Logs accepts). The hooks' logs say why a release was let through or stopped: a year by default."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "enable_tracing" {
  description = "X-Ray active tracing for the hook functions."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Deletion protection of the release ledger. Off only for throwaway environments (local)."
  type        = bool
  default     = true
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module's KMS key is deleted (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
