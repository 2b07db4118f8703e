# The local environment: the tooling account's artifact store, in each workload
# account the role the deployer assumes, and the ETL workflow in the dev account.
# The traffic-shifting and pipeline modules of later issues are added as they land.

locals {
  tags = {
    project     = "serverless-etl-delivery"
    environment = "local"
    managed-by  = "terraform"
  }
  workloads = { dev = var.accounts.dev, test = var.accounts.test, prod = var.accounts.prod }
}

# --- tooling account: artifact store -------------------------------------------

data "aws_iam_policy_document" "artifacts_key" {
  provider = aws.tooling

  statement {
    sid       = "ToolingAccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # In a key policy, "*" means this key.
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${var.accounts.tooling}:root"]
    }
  }

  statement {
    sid       = "DeployRolesDecrypt"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = ["*"] # In a key policy, "*" means this key.
    principals {
      type        = "AWS"
      identifiers = [for env, id in local.workloads : "arn:aws:iam::${id}:role/${var.deploy_role_name}"]
    }
  }
}

resource "aws_kms_key" "artifacts" {
  provider = aws.tooling

  description             = "Encrypts release artifacts in the tooling account."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.artifacts_key.json
}

resource "aws_s3_bucket" "artifacts" {
  provider = aws.tooling

  bucket        = "artifacts-${var.accounts.tooling}-${var.region}"
  force_destroy = true # Local only: `make down`/reset must be able to remove it.
}

resource "aws_s3_bucket_versioning" "artifacts" {
  provider = aws.tooling

  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  provider = aws.tooling

  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.artifacts.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  provider = aws.tooling

  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "artifacts_bucket" {
  provider = aws.tooling

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.artifacts.arn, "${aws_s3_bucket.artifacts.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  provider = aws.tooling

  bucket = aws_s3_bucket.artifacts.id
  policy = data.aws_iam_policy_document.artifacts_bucket.json
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
