# The release pipeline in the tooling account, on the artifact store's bucket and key,
# deploying through the deploy roles of the three workload accounts.
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

module "pipeline" {
  source = "../.."

  connection_arn  = "arn:aws:codeconnections:us-east-1:444444444444:connection/00000000-0000-0000-0000-000000000000"
  repository      = "acme/serverless-etl-delivery"
  artifact_bucket = "artifacts-444444444444-us-east-1"
  kms_key_arn     = "arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000"
  deploy_role_arns = {
    dev  = "arn:aws:iam::111111111111:role/deployer"
    test = "arn:aws:iam::222222222222:role/deployer"
    prod = "arn:aws:iam::333333333333:role/deployer"
  }
  notification_emails = ["platform-team@example.com"]
  tags                = { team = "data-platform" }
}

output "deploy_role_assumers" {
  description = "Per workload environment, the CodeBuild roles (names) its deploy role must trust."
  value       = module.pipeline.deploy_role_assumers
}
