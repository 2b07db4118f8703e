# The local environment: the tooling account's artifact store, in each workload
# account the role the deployer assumes, and the ETL workflow in the dev account.
# The traffic-shifting and pipeline modules of later issues are added as they land.

locals {
  tags = {
    project     = "serverless-etl-delivery"
    environment = "local"
    managed-by  = "terraform"
  }
}

# --- tooling account: artifact store -------------------------------------------

module "artifacts" {
  source    = "../../terraform/modules/artifact-store"
  providers = { aws = aws.tooling }

  name             = "artifacts-${var.accounts.tooling}-${var.region}"
  reader_role_arns = [aws_iam_role.deploy_dev.arn, aws_iam_role.deploy_test.arn, aws_iam_role.deploy_prod.arn]
  # Local only: down/reset must be able to remove it, and nothing is kept long.
  force_destroy            = true
  kms_deletion_window_days = 7
  tags                     = local.tags
}

# --- workload accounts: the role the deployer assumes ---------------------------

data "aws_iam_policy_document" "deploy_trust" {
  provider = aws.tooling

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${var.accounts.tooling}:root"]
    }
  }
}

resource "aws_iam_role" "deploy_dev" {
  provider = aws.dev

  name                 = var.deploy_role_name
  description          = "Assumed by the deployer from the tooling account."
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role" "deploy_test" {
  provider = aws.test

  name                 = var.deploy_role_name
  description          = "Assumed by the deployer from the tooling account."
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role" "deploy_prod" {
  provider = aws.prod

  name                 = var.deploy_role_name
  description          = "Assumed by the deployer from the tooling account."
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

# --- dev account: the ETL workflow ------------------------------------------------

module "etl_dev" {
  source    = "../../terraform/modules/etl-workflow"
  providers = { aws = aws.dev }

  name_prefix = "etl-dev"
  function_packages = {
    extract    = "${var.dist_dir}/extract.zip"
    transform  = "${var.dist_dir}/transform.zip"
    load       = "${var.dist_dir}/load.zip"
    compensate = "${var.dist_dir}/compensate.zip"
  }
  # The local cloud runs the host's binaries.
  architecture        = "x86_64"
  map_max_concurrency = 4
  # Left out on the local cloud: ministack does not report a state machine's
  # tracing configuration back, so tracing on would be a permanent plan diff.
  enable_tracing = false
  # Local only: the end-to-end tests inject failures, and destroy empties buckets.
  allow_fault_injection    = true
  force_destroy_buckets    = true
  kms_deletion_window_days = 7
  log_retention_days       = 7
  tags                     = local.tags
}
