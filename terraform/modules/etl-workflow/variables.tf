variable "name_prefix" {
  description = "Prefix of every resource name, for example \"etl-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and -, starting with a letter (for example \"etl-dev\")."
  }
}

variable "release_ledger" {
  description = "The environment's release ledger (the traffic-shifting module's DynamoDB table, in this account) and the ARN of the KMS key that encrypts it. While a release is in flight the deployer keeps a routing record there (pk = sk = \"routing\"); the state machine reads it once per execution, so that one execution runs one release."
  type = object({
    table_name  = string
    kms_key_arn = string
  })

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.release_ledger.table_name))
    error_message = "release_ledger.table_name must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -, not an ARN), such as the traffic-shifting module's release_table_name output."
  }

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.release_ledger.kms_key_arn))
    error_message = "release_ledger.kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID, not an alias), such as the traffic-shifting module's kms_key_arn output."
  }
}

variable "architecture" {
  description = "Instruction set of the functions: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "function_architectures" {
  description = "Per function (extract, transform, load, compensate), an instruction set other than architecture: arm64 or x86_64. Functions not named here use architecture."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.function_architectures) : contains(["extract", "transform", "load", "compensate"], k)])
    error_message = "function_architectures: every key must be one of extract, transform, load, compensate."
  }

  validation {
    condition     = alltrue([for a in values(var.function_architectures) : contains(["arm64", "x86_64"], a)])
    error_message = "function_architectures: every value must be arm64 or x86_64."
  }
}

variable "memory_mb" {
  description = "Memory of each function in MB (128-10240)."
  type        = map(number)
  default     = { extract = 256, transform = 1024, load = 256, compensate = 256 }

  validation {
    condition     = alltrue([for m in values(var.memory_mb) : m >= 128 && m <= 10240])
    error_message = "memory_mb: every value must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of each function in seconds (1-900)."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of the transform function, which the Map state fans out; -1 for none."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be -1 (none) or at least 1."
  }
}

variable "map_max_concurrency" {
  description = "How many batches the Map state transforms at once (1-40)."
  type        = number
  default     = 10

  validation {
    condition     = var.map_max_concurrency >= 1 && var.map_max_concurrency <= 40
    error_message = "map_max_concurrency must be between 1 and 40."
  }
}

variable "batch_max_bytes" {
  description = "A batch holds raw objects up to this many bytes in all."
  type        = number
  default     = 67108864

  validation {
    condition     = var.batch_max_bytes >= 1048576
    error_message = "batch_max_bytes must be at least 1048576 (1 MiB)."
  }
}

variable "environment_variables" {
  description = "Extra environment variables for every function. The module's own settings (buckets, table, topic, batch size, log level, fault injection) take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k)) && !startswith(k, "AWS_")])
    error_message = "environment_variables: names must be letters, digits and _, start with a letter, and not start with AWS_ (reserved by Lambda)."
  }
}

variable "log_level" {
  description = "Log level of the functions: error, warn, info, debug or trace."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be one of error, warn, info, debug, trace."
  }
}

variable "execution_log_level" {
  description = "Step Functions execution logging level: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.execution_log_level)
    error_message = "execution_log_level must be one of ALL, ERROR, FATAL, OFF."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group, in days (a value CloudWatch Logs accepts). The runs' logs are their audit trail: a year by default."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "noncurrent_version_days" {
  description = "Days to keep replaced or deleted object versions in the raw, curated and quarantine buckets before they expire (1-3650)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1 && var.noncurrent_version_days <= 3650 && floor(var.noncurrent_version_days) == var.noncurrent_version_days
    error_message = "noncurrent_version_days must be a whole number between 1 and 3650."
  }
}

variable "p99_duration_threshold_ms" {
  description = "The p99 Duration (ms) of a function, over every version and alias, above which its alarm fires."
  type        = number
  default     = 60000

  validation {
    condition     = var.p99_duration_threshold_ms > 0
    error_message = "p99_duration_threshold_ms must be positive."
  }
}

variable "enable_tracing" {
  description = "X-Ray active tracing of the functions. On in every real environment; each log line then carries its invocation's trace id."
  type        = bool
  default     = true
}

variable "enable_state_machine_tracing" {
  description = "X-Ray tracing of the state machine, which joins the functions' traces into one per run. Off only where the platform cannot report it back (the local cloud: a permanent plan diff)."
  type        = bool
  default     = true
}

variable "allow_fault_injection" {
  description = "Let test events inject failures (inject_failure). Only for local and test environments."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the workflow's KMS key is deleted (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy empty non-empty buckets. Only for throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
