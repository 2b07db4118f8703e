# Terraform runs with the tooling account's credentials and assumes this account's
# Terraform role; allowed_account_ids refuses any other account.
provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.account_id}:role/${var.terraform_role_name}"
    session_name = "terraform-${local.environment}"
  }

  default_tags {
    tags = local.tags
  }
}
