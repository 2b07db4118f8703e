# The prod account's deploy role, for the functions, hooks, groups, alarms and ledger
# that etl-workflow and traffic-shifting create with name_prefix "etl-prod": assumed by
# the pipeline's prod stage and by GitHub jobs bound to the "prod" environment.
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

locals {
  account = "333333333333"
  prefix  = "etl-prod"
  steps   = ["extract", "transform", "load", "compensate"]
  lambda  = "arn:aws:lambda:us-east-1:${local.account}:function"
}

module "deploy_role" {
  source = "../.."

  function_arns           = [for s in local.steps : "${local.lambda}:${local.prefix}-${s}"]
  hook_function_arns      = ["${local.lambda}:${local.prefix}-pre-traffic", "${local.lambda}:${local.prefix}-post-traffic"]
  application_name        = local.prefix
  deployment_group_names  = [for s in local.steps : "${local.prefix}-${s}"]
  deployment_config_names = ["CodeDeployDefault.LambdaCanary10Percent5Minutes"]
  alarm_arns = flatten([for s in local.steps : [for k in ["errors", "throttles", "p99-duration"] :
    "arn:aws:cloudwatch:us-east-1:${local.account}:alarm:${local.prefix}-${s}-${k}"
  ]])
  release_table_arn = "arn:aws:dynamodb:us-east-1:${local.account}:table/${local.prefix}-releases"
  kms_key_arns      = ["arn:aws:kms:us-east-1:${local.account}:key/00000000-0000-0000-0000-000000000000"]
  trusted_role_arns = [
    "arn:aws:iam::444444444444:role/etl-release-promote-prod",
    "arn:aws:iam::444444444444:role/github-actions-prod",
  ]
  oidc_provider_arn  = "arn:aws:iam::${local.account}:oidc-provider/token.actions.githubusercontent.com"
  github_repository  = "acme/serverless-etl-delivery"
  github_environment = "prod"
  tags               = { team = "data-platform" }
}

output "role_arn" {
  description = "deploy_role in environments/prod/deployer.yaml."
  value       = module.deploy_role.role_arn
}
