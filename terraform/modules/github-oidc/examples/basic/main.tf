# GitHub Actions in the tooling account: the OIDC provider and one role per GitHub
# environment. dev's job deploys (uploads the release, assumes dev's deploy role);
# test's and prod's jobs promote (read the release, assume the source environment's
# deploy role to read its ledger and their own to deploy).
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
  deployer = { for env, account in { dev = "111111111111", test = "222222222222", prod = "333333333333" } : env => "arn:aws:iam::${account}:role/deployer" }
}

module "github" {
  source = "../.."

  github_repository    = "acme/serverless-etl-delivery"
  artifact_bucket_arn  = "arn:aws:s3:::artifacts-444444444444-us-east-1"
  artifact_kms_key_arn = "arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000"
  roles = {
    dev  = { assume_role_arns = [local.deployer.dev], artifact_access = "read-write" }
    test = { assume_role_arns = [local.deployer.dev, local.deployer.test], artifact_access = "read" }
    prod = { assume_role_arns = [local.deployer.test, local.deployer.prod], artifact_access = "read" }
  }
  tags = { team = "data-platform" }
}

output "role_arns" {
  description = "role-to-assume for each GitHub environment's jobs."
  value       = module.github.role_arns
}
