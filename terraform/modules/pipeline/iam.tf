# The pipeline's role and one CodeBuild role per stage. Every resource is named; no
# wildcard action, no wildcard resource.
#
# One role per stage, not one for all: the Package stage compiles third-party crates
# (build scripts run arbitrary code) and must not be able to reach any workload
# account, and nothing before the approval may assume prod's deploy role.

data "aws_iam_policy_document" "service_trust" {
  for_each = toset(["codepipeline", "codebuild"])

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["${each.key}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

# --- the pipeline --------------------------------------------------------------------

resource "aws_iam_role" "pipeline" {
  name               = "${var.name}-pipeline"
  description        = "CodePipeline runs ${var.name}."
  assume_role_policy = data.aws_iam_policy_document.service_trust["codepipeline"].json
  tags               = local.tags
}

data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "ReadSource"
    actions   = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
    resources = [var.connection_arn]
  }

  statement {
    sid       = "Artifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = [local.pipeline_objects]
  }

  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:GetBucketVersioning", "s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "ArtifactKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "RunBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
    resources = values(local.project_arns)
  }

  # The approval action publishes to the encrypted topic as this role.
  statement {
    sid       = "AskForApproval"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
  }

  statement {
    sid       = "NotificationKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "pipeline" {
  name   = "pipeline"
  role   = aws_iam_role.pipeline.id
  policy = data.aws_iam_policy_document.pipeline.json
}

# --- one role per CodeBuild stage ---------------------------------------------------------

resource "aws_iam_role" "codebuild" {
  for_each = local.stages

  name                 = local.stage_names[each.key]
  description          = "CodeBuild runs `deployer ${each.value.args}` for ${var.name}."
  assume_role_policy   = data.aws_iam_policy_document.service_trust["codebuild"].json
  max_session_duration = 3600
  tags                 = merge(local.tags, { stage = each.value.title })
}

data "aws_iam_policy_document" "codebuild" {
  for_each = local.stages

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns[each.key]}:*"]
  }

  # Input artifacts (and, for Package, the output artifact) of this pipeline only.
  # The buildspec's test reports (JUnit), in report groups of this project only.
  statement {
    sid       = "TestReports"
    actions   = ["codebuild:CreateReportGroup", "codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases"]
    resources = [local.report_group_arns[each.key]]
  }

  statement {
    sid       = "PipelineArtifacts"
    actions   = each.key == "package" ? ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"] : ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.pipeline_objects]
  }

  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:GetBucketAcl", "s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  # Stages that write (Package's output, DeployDev's release upload) encrypt; the
  # others only decrypt.
  statement {
    sid       = "ArtifactKey"
    actions   = contains(["package", "deploy_dev"], each.key) ? ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = each.value.releases == "none" ? [] : [true]
    content {
      # Without ListBucket, S3 answers a missing key with 403 instead of 404, and the
      # deployer could not tell "not uploaded yet" from "denied".
      sid       = "FindReleases"
      actions   = ["s3:ListBucket"]
      resources = [local.bucket_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.releases == "none" ? [] : [true]
    content {
      sid       = each.value.releases == "read" ? "ReadReleases" : "ReadWriteReleases"
      actions   = each.value.releases == "read" ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject"]
      resources = [local.release_objects]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.assumes) == 0 ? [] : [true]
    content {
      sid       = "AssumeDeployRoles"
      actions   = ["sts:AssumeRole"]
      resources = [for env in each.value.assumes : var.deploy_role_arns[env]]
    }
  }
}

resource "aws_iam_role_policy" "codebuild" {
  for_each = local.stages

  name   = "codebuild"
  role   = aws_iam_role.codebuild[each.key].id
  policy = data.aws_iam_policy_document.codebuild[each.key].json
}
