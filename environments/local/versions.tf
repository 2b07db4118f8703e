terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # State stays on this machine: the Makefile points `path` into the git-ignored
  # run folder with -backend-config.
  backend "local" {}
}
