variable "region" {
  description = "Region of every account on the local cloud."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "accounts" {
  description = "Account ids of the local cloud: the tooling account and the three workload accounts."
  type = object({
    tooling = string
    dev     = string
    test    = string
    prod    = string
  })
  default = {
    tooling = "444444444444"
    dev     = "111111111111"
    test    = "222222222222"
    prod    = "333333333333"
  }

  validation {
    condition     = alltrue([for id in values(var.accounts) : can(regex("^[0-9]{12}$", id))])
    error_message = "accounts: every account id (tooling, dev, test, prod) must be exactly 12 digits."
  }

  validation {
    condition     = length(distinct(values(var.accounts))) == 4
    error_message = "accounts: tooling, dev, test and prod must be four different accounts."
  }
}

variable "deploy_role_name" {
  description = "Name of the role the deployer assumes in each workload account."
  type        = string
  default     = "deployer"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.deploy_role_name))
    error_message = "deploy_role_name must be a valid IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -."
  }
}

variable "github_repository" {
  description = "The repository, \"owner/repo\", whose GitHub jobs bound to an environment the deploy roles trust (as in environments/<env>/terraform.tfvars)."
  type        = string
  default     = "acme/serverless-etl-delivery"

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be \"owner/repo\", such as \"acme/serverless-etl-delivery\"."
  }
}
