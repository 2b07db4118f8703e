# GitHub Actions' OIDC provider in one account and, optionally, one role per GitHub
# environment trusted by exactly repo:<owner>/<repo>:environment:<env>.
#
# In a workload account the module only creates the provider: the deploy-role module
# trusts it for jobs bound to that account's environment. In the tooling account it
# also creates the per-environment roles a release job assumes first; the deployer
# then reads and writes the artifact store as that role and assumes the environment's
# deploy role from it, exactly as the pipeline's CodeBuild roles do.

data "aws_region" "this" {}

locals {
  url          = "https://token.actions.githubusercontent.com"
  audience     = "sts.amazonaws.com"
  tags         = merge(var.tags, { module = "github-oidc" })
  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.this[0].arn : var.provider_arn
  subjects     = { for env in keys(var.roles) : env => "repo:${var.github_repository}:environment:${env}" }

  # The deployer keeps releases under releases/<release id>/ (deployer/src/cloud.rs).
  release_objects = var.artifact_bucket_arn == null ? null : "${var.artifact_bucket_arn}/releases/*"
}

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_provider ? 1 : 0

  url             = local.url
  client_id_list  = [local.audience]
  thumbprint_list = var.thumbprint_list
  tags            = local.tags
}

# --- per-environment roles -----------------------------------------------------------

data "aws_iam_policy_document" "trust" {
  for_each = var.roles

  statement {
    sid     = "GitHubEnvironment"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = [local.audience]
    }
    # Exactly one repository and one environment: no branch, tag, pull request or other
    # environment of the repository matches.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [local.subjects[each.key]]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.roles

  name                 = "${var.role_name_prefix}-${each.key}"
  description          = "GitHub Actions jobs of ${var.github_repository} bound to the ${each.key} environment."
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = var.max_session_duration_seconds
  tags                 = merge(local.tags, { github-environment = each.key })
}

data "aws_iam_policy_document" "this" {
  for_each = var.roles

  statement {
    sid       = "AssumeDeployRoles"
    actions   = ["sts:AssumeRole"]
    resources = each.value.assume_role_arns
  }

  dynamic "statement" {
    for_each = each.value.artifact_access == "none" ? [] : [true]
    content {
      # Without ListBucket, S3 answers a missing key with 403 instead of 404, and the
      # deployer could not tell "not uploaded yet" from "denied".
      sid       = "FindReleases"
      actions   = ["s3:ListBucket"]
      resources = [var.artifact_bucket_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.artifact_access == "none" ? [] : [true]
    content {
      sid       = each.value.artifact_access == "read" ? "ReadReleases" : "ReadWriteReleases"
      actions   = each.value.artifact_access == "read" ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject"]
      resources = [local.release_objects]
    }
  }

  dynamic "statement" {
    for_each = each.value.artifact_access == "none" ? [] : [true]
    content {
      sid = "ArtifactKey"
      # S3 decrypts an SSE-KMS object with the reader's kms:Decrypt and encrypts a new
      # one with the writer's kms:GenerateDataKey; it never calls kms:Encrypt (S3 User
      # Guide, "Using server-side encryption with AWS KMS keys", permissions).
      actions   = each.value.artifact_access == "read" ? ["kms:Decrypt"] : ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.artifact_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.this.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = var.roles

  name   = "github-release"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json
}
