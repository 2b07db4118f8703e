variable "name" {
  description = "Name of the artifact bucket (globally unique), for example \"acme-etl-artifacts-444444444444\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..")
    error_message = "name must be a valid S3 bucket name: 3-63 of a-z, 0-9, . and -, starting and ending with a letter or digit."
  }
}

variable "reader_role_arns" {
  description = "Roles in the workload accounts (the deploy roles) that may read artifacts and decrypt them."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.reader_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "reader_role_arns: every entry must be an IAM role ARN such as arn:aws:iam::111111111111:role/deployer."
  }
}

variable "writer_role_arns" {
  description = "Roles in the tooling account (the pipeline) that may write artifacts."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.writer_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "writer_role_arns: every entry must be an IAM role ARN."
  }
}

variable "noncurrent_version_days" {
  description = "Days to keep replaced artifact versions before they expire (1-3650)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1 && var.noncurrent_version_days <= 3650
    error_message = "noncurrent_version_days must be between 1 and 3650."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the key is deleted (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy a non-empty bucket. Only for throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
