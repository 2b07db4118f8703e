# The smallest use of the module. The functions are created from the placeholder the
# module carries; `deployer deploy` ships their code. The release ledger comes from the
# traffic-shifting module (terraform/modules/workload-account composes the two).
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

variable "release_ledger_kms_key_arn" {
  description = "The key that encrypts the release ledger etl-example-releases (the traffic-shifting module's kms_key_arn output). The default is a placeholder, so that the example plans on its own."
  type        = string
  default     = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
}

module "etl" {
  source = "../.."

  name_prefix         = "etl-example"
  release_ledger      = { table_name = "etl-example-releases", kms_key_arn = var.release_ledger_kms_key_arn }
  architecture        = "arm64"
  map_max_concurrency = 5
  tags                = { team = "data-platform" }
}

output "state_machine_arn" {
  description = "Start a run with {\"run_date\": \"2026-11-22\", \"dry_run\": false, \"inject_failure\": null}."
  value       = module.etl.state_machine_arn
}
