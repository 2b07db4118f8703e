# The smallest use of the module. The functions are created from the placeholder the
# module carries; `deployer deploy` ships their code.
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

module "etl" {
  source = "../.."

  name_prefix         = "etl-example"
  architecture        = "arm64"
  map_max_concurrency = 5
  tags                = { team = "data-platform" }
}

output "state_machine_arn" {
  description = "Start a run with {\"run_date\": \"2026-11-22\", \"dry_run\": false, \"inject_failure\": null}."
  value       = module.etl.state_machine_arn
}
