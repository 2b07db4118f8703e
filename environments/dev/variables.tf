# The workload-account module validates these; terraform_role_name is the provider's.

variable "account_id" {
  description = "This environment's AWS account id (12 digits); the provider refuses any other account."
  type        = string
}

variable "tooling_account_id" {
  description = "The tooling account's id (12 digits): its roles assume the deploy role, and it holds the artifact store."
  type        = string
}

variable "region" {
  description = "Region of the workload."
  type        = string
  default     = "us-east-1"
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
}

variable "trusted_tooling_role_names" {
  description = "Tooling roles (names, not ARNs) that may assume the deploy role (environments/README.md)."
  type        = list(string)
}

variable "github_repository" {
  description = "The repository, \"owner/repo\"; jobs bound to this environment may assume the deploy role through GitHub OIDC."
  type        = string
}

variable "github_oidc_provider_arn" {
  description = "The account's existing GitHub OIDC provider, if something else created it; null creates it here."
  type        = string
  default     = null
}
