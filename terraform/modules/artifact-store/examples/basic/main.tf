# The tooling account's artifact store, readable by the three workload accounts'
# deploy roles and writable by the pipeline.
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

module "artifacts" {
  source = "../.."

  name = "acme-etl-artifacts-444444444444"
  reader_role_arns = [
    "arn:aws:iam::111111111111:role/deployer",
    "arn:aws:iam::222222222222:role/deployer",
    "arn:aws:iam::333333333333:role/deployer",
  ]
  writer_role_arns = ["arn:aws:iam::444444444444:role/pipeline"]
}

output "bucket" {
  description = "Where the pipeline puts release artifacts."
  value       = module.artifacts.bucket
}
