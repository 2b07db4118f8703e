# One provider per account of the local cloud. The endpoint comes from
# AWS_ENDPOINT_URL, which `make tf-local` sets to the local cloud; as on ministack, a
# 12-digit access key id names the account. Run without it, these keys are refused
# by AWS, so nothing real can change.

provider "aws" {
  alias                       = "tooling"
  region                      = var.region
  access_key                  = var.accounts.tooling
  secret_key                  = "localcloud"
  allowed_account_ids         = [var.accounts.tooling]
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  default_tags { tags = local.tags }
}

provider "aws" {
  alias                       = "dev"
  region                      = var.region
  access_key                  = var.accounts.dev
  secret_key                  = "localcloud"
  allowed_account_ids         = [var.accounts.dev]
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  default_tags { tags = local.tags }
}

provider "aws" {
  alias                       = "test"
  region                      = var.region
  access_key                  = var.accounts.test
  secret_key                  = "localcloud"
  allowed_account_ids         = [var.accounts.test]
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  default_tags { tags = local.tags }
}

provider "aws" {
  alias                       = "prod"
  region                      = var.region
  access_key                  = var.accounts.prod
  secret_key                  = "localcloud"
  allowed_account_ids         = [var.accounts.prod]
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  default_tags { tags = local.tags }
}
