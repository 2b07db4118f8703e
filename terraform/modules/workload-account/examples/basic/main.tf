# One workload account, dev-like: everything at once, a smoke run after each release,
# the deploy role trusted by the tooling account's dev roles and GitHub's "dev"
# environment, and deployer.yaml checked against what it creates.
terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

module "workload" {
  source = "../.."

  environment                = "dev"
  account_id                 = "111111111111"
  tooling_account_id         = "444444444444"
  trusted_tooling_role_names = ["etl-release-deploy-dev", "github-actions-dev"]
  github_repository          = "acme/serverless-etl-delivery"
  deployment_config          = { predefined = "CodeDeployDefault.LambdaAllAtOnce" }
  require_alarms             = false
  allow_fault_injection      = true

  deployer_settings      = yamldecode(file("${path.module}/../../../../../environments/dev/deployer.yaml"))
  deployer_settings_file = "environments/dev/deployer.yaml"
  tags                   = { team = "data-platform" }
}

output "deploy_role_arn" {
  description = "deploy_role in environments/dev/deployer.yaml."
  value       = module.workload.deploy_role_arn
}

output "environment" {
  description = "What the deployer needs in this account."
  value       = module.workload.environment
}
