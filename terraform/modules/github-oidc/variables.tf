variable "create_provider" {
  description = "Create the account's GitHub Actions OIDC provider. false: use the existing one named by provider_arn (an account holds one provider per URL)."
  type        = bool
  default     = true
}

variable "provider_arn" {
  description = "ARN of an existing GitHub Actions OIDC provider in this account, when create_provider is false."
  type        = string
  default     = null

  validation {
    condition     = var.provider_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.provider_arn))
    error_message = "provider_arn must be arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com (ACCOUNT 12 digits)."
  }

  validation {
    condition     = var.create_provider == (var.provider_arn == null)
    error_message = "Set provider_arn exactly when create_provider is false: either the module creates the provider or it uses the existing one."
  }
}

variable "thumbprint_list" {
  description = "Thumbprints of the certificate chain of token.actions.githubusercontent.com, as GitHub publishes them. AWS validates GitHub's tokens against its own trusted CAs; IAM still requires the list."
  type        = list(string)
  default     = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]

  validation {
    condition     = length(var.thumbprint_list) >= 1 && length(var.thumbprint_list) <= 5 && alltrue([for t in var.thumbprint_list : can(regex("^[0-9a-fA-F]{40}$", t))])
    error_message = "thumbprint_list must hold 1-5 SHA-1 thumbprints of 40 hex digits."
  }
}

variable "github_repository" {
  description = "The repository, \"owner/repo\", whose jobs may assume the roles. Required when roles is not empty."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null ? true : can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be \"owner/repo\" (for example \"acme/serverless-etl-delivery\"): an owner of letters, digits and -, a repository of letters, digits, ., _ and -. No wildcard."
  }

  validation {
    condition     = length(var.roles) == 0 || var.github_repository != null
    error_message = "github_repository is required when roles is not empty: every role is pinned to one repository."
  }
}

variable "roles" {
  description = <<-EOT
    One role per GitHub environment, keyed by the environment's name (dev, test, prod):
    a job bound to that environment (OIDC subject repo:<github_repository>:environment:<key>)
    may assume it. Per role:
    - assume_role_arns: the roles it may assume in turn (the workload deploy roles the
      deployer assumes for that environment's job);
    - artifact_access: "none", "read" or "read-write" on the artifact store's
      releases/ prefix (deploy uploads a release; promote reads it).
    Empty: the module only creates the provider (workload accounts).
  EOT
  type = map(object({
    assume_role_arns = list(string)
    artifact_access  = optional(string, "none")
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.roles) : can(regex("^[A-Za-z0-9._-]{1,40}$", k))])
    error_message = "roles: every key is a GitHub environment name of letters, digits, ., _ and - (at most 40, for the role name). No wildcard."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : length(r.assume_role_arns) > 0 && alltrue([for arn in r.assume_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}$", arn))])])
    error_message = "roles.*.assume_role_arns must list at least one IAM role ARN with a 12-digit account, such as arn:aws:iam::111111111111:role/deployer."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : contains(["none", "read", "read-write"], r.artifact_access)])
    error_message = "roles.*.artifact_access must be one of none, read, read-write."
  }
}

variable "role_name_prefix" {
  description = "Roles are named <role_name_prefix>-<environment>."
  type        = string
  default     = "github-actions"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,23}$", var.role_name_prefix))
    error_message = "role_name_prefix must be 1-23 of A-Z a-z 0-9 + = , . @ _ - (the role name adds -<environment>)."
  }
}

variable "artifact_bucket_arn" {
  description = "ARN of the artifact store's bucket (the artifact-store module), for roles with artifact_access."
  type        = string
  default     = null

  validation {
    condition     = var.artifact_bucket_arn == null ? true : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket_arn))
    error_message = "artifact_bucket_arn must be an S3 bucket ARN such as arn:aws:s3:::artifacts-444444444444-us-east-1."
  }

  validation {
    condition     = var.artifact_bucket_arn != null || alltrue([for r in values(var.roles) : r.artifact_access == "none"])
    error_message = "artifact_bucket_arn is required when a role has artifact_access read or read-write."
  }
}

variable "artifact_kms_key_arn" {
  description = "ARN of the artifact store's KMS key, for roles with artifact_access."
  type        = string
  default     = null

  validation {
    condition     = var.artifact_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$", var.artifact_kms_key_arn))
    error_message = "artifact_kms_key_arn must be a KMS key ARN with a 12-digit account (a key, not an alias)."
  }

  validation {
    condition     = var.artifact_kms_key_arn != null || alltrue([for r in values(var.roles) : r.artifact_access == "none"])
    error_message = "artifact_kms_key_arn is required when a role has artifact_access read or read-write."
  }
}

variable "max_session_duration_seconds" {
  description = "The longest session of each role, in seconds (1-12 hours). A release job runs the deployer on these credentials for the whole deployment: it assumes the deploy roles from them again as each chained session nears its one-hour limit, so they must outlast the longest deployment. The default, 3 hours, covers LambdaLinear10PercentEvery10Minutes (100 minutes) with both hooks at Lambda's 15-minute limit; the job must ask for it (configure-aws-credentials' role-duration-seconds)."
  type        = number
  default     = 10800

  validation {
    condition     = var.max_session_duration_seconds >= 3600 && var.max_session_duration_seconds <= 43200 && floor(var.max_session_duration_seconds) == var.max_session_duration_seconds
    error_message = "max_session_duration_seconds must be a whole number of seconds from 3600 (1 hour) to 43200 (12 hours), IAM's limits."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
