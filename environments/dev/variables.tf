variable "account_id" {
  description = "This environment's AWS account id (12 digits); the provider refuses any other account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits, such as \"111111111111\" (quoted: a leading zero is part of the id)."
  }
}

variable "tooling_account_id" {
  description = "The tooling account's id (12 digits): its pipeline and GitHub roles assume this account's deploy role, and it holds the artifact store."
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

variable "terraform_role_name" {
  description = "The role Terraform assumes in this account (created with the account, before this root)."
  type        = string
  default     = "terraform"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.terraform_role_name))
    error_message = "terraform_role_name must be a valid IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -."
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
}

variable "dist_dir" {
  description = "Folder with the packages `deployer package` writes: extract.zip, transform.zip, load.zip, compensate.zip, pre-traffic.zip, post-traffic.zip. Terraform creates the functions from them once; the deployer owns the code afterwards."
  type        = string
  default     = "../../dist"
}
