# The smallest use of the module: packages built by `deployer package` in dist/.
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

variable "dist" {
  description = "Folder holding extract.zip, transform.zip, load.zip and compensate.zip."
  type        = string
  default     = "../../../../../dist"
}

module "etl" {
  source = "../.."

  name_prefix = "etl-example"
  function_packages = {
    extract    = "${var.dist}/extract.zip"
    transform  = "${var.dist}/transform.zip"
    load       = "${var.dist}/load.zip"
    compensate = "${var.dist}/compensate.zip"
  }
  architecture        = "arm64"
  map_max_concurrency = 5
  tags                = { team = "data-platform" }
}

output "state_machine_arn" {
  description = "Start a run with {\"run_date\": \"2026-11-22\", \"dry_run\": false, \"inject_failure\": null}."
  value       = module.etl.state_machine_arn
}
