variable "account_id" {
  description = "The tooling account's id (12 digits); the provider refuses any other account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits, such as \"444444444444\" (quoted: a leading zero is part of the id)."
  }
}

variable "workload_accounts" {
  description = "The workload accounts' ids, keyed dev, test and prod."
  type        = map(string)

  validation {
    condition     = toset(keys(var.workload_accounts)) == toset(["dev", "test", "prod"])
    error_message = "workload_accounts must have exactly the keys dev, test and prod."
  }

  validation {
    condition     = alltrue([for id in values(var.workload_accounts) : can(regex("^[0-9]{12}$", id))])
    error_message = "workload_accounts: every account id (dev, test, prod) must be exactly 12 digits."
  }

  validation {
    condition     = length(distinct(concat(values(var.workload_accounts), [var.account_id]))) == 4
    error_message = "workload_accounts: dev, test, prod and the tooling account (account_id) must be four different accounts."
  }
}

variable "region" {
  description = "Region of the tooling account's resources (and of the workloads)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "terraform_role_name" {
  description = "The role Terraform assumes in the tooling account (created with the account, before this root)."
  type        = string
  default     = "terraform"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.terraform_role_name))
    error_message = "terraform_role_name must be a valid IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -."
  }
}

variable "deploy_role_name" {
  description = "Name of the deployer's role in each workload account (the workload roots' deploy_role_name)."
  type        = string
  default     = "deployer"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.deploy_role_name))
    error_message = "deploy_role_name must be a valid IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -."
  }
}

variable "github_repository" {
  description = "The repository, \"owner/repo\": the pipeline's source and the GitHub Actions jobs' origin."
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
}

variable "connection_arn" {
  description = "The CodeConnections connection to GitHub (created and authorised once in the console)."
  type        = string
}

variable "pipeline_name" {
  description = "Name of the pipeline; the workload deploy roles trust its stage roles <pipeline_name>-deploy-dev, -promote-test, -promote-prod."
  type        = string
  default     = "etl-release"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.pipeline_name))
    error_message = "pipeline_name must be 3-40 of a-z, 0-9 and -, starting with a letter."
  }
}

variable "notification_emails" {
  description = "Addresses told about failed releases and approvals waiting."
  type        = list(string)
  default     = []
}
