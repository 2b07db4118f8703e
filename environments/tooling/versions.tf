terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # State lives in the tooling account's state bucket, locked with a lock file
  # (no DynamoDB table), reached through the tooling account's state role. bucket, key
  # and region come from backend.hcl: terraform init -backend-config=backend.hcl
  backend "s3" {
    use_lockfile = true
    encrypt      = true
    assume_role {
      role_arn = "arn:aws:iam::444444444444:role/terraform-state"
    }
  }
}
