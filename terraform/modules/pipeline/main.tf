# The release pipeline in the tooling account: CodePipeline V2 (QUEUED: one execution
# at a time, the next waits its turn) from the repository's main branch through
# Package -> DeployDev -> PromoteTest -> Approval -> PromoteProd. Each build stage is a
# CodeBuild project running the deployer with its own role, which may assume only the
# deploy roles its command needs. Artifacts are encrypted with the artifact store's
# key; logs and notifications with the module's own key. IAM is in iam.tf.

data "aws_caller_identity" "this" {}
data "aws_region" "this" {}
data "aws_partition" "this" {}

locals {
  account   = data.aws_caller_identity.this.account_id
  region    = data.aws_region.this.name
  partition = data.aws_partition.this.partition
  tags      = merge(var.tags, { module = "pipeline" })

  # The CodeBuild stages, in order. `assumes`: the environments whose deploy role the
  # command assumes (promote reads the source environment's ledger through its role);
  # `releases`: what it does with the deployer's releases in the artifact store.
  stages = {
    package      = { slug = "package", title = "Package", args = "package", assumes = [], releases = "none" }
    deploy_dev   = { slug = "deploy-dev", title = "DeployDev", args = "deploy --env dev", assumes = ["dev"], releases = "read-write" }
    promote_test = { slug = "promote-test", title = "PromoteTest", args = "promote --to test", assumes = ["dev", "test"], releases = "read" }
    promote_prod = { slug = "promote-prod", title = "PromoteProd", args = "promote --to prod", assumes = ["test", "prod"], releases = "read" }
  }
  stage_names = { for k, s in local.stages : k => "${var.name}-${s.slug}" }
  log_groups  = { for k, s in local.stages : k => "/aws/codebuild/${local.stage_names[k]}" }
  log_group_arns = { for k, g in local.log_groups :
    k => "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${g}"
  }
  project_arns = { for k, n in local.stage_names :
    k => "arn:${local.partition}:codebuild:${local.region}:${local.account}:project/${n}"
  }
  # A buildspec's `reports:` go to report groups named <project>-<report>.
  report_group_arns = { for k, n in local.stage_names :
    k => "arn:${local.partition}:codebuild:${local.region}:${local.account}:report-group/${n}-*"
  }

  bucket_arn = "arn:${local.partition}:s3:::${var.artifact_bucket}"
  # CodePipeline keeps an execution's artifacts under the pipeline name's first 20
  # characters; the deployer keeps releases under releases/ (deployer/src/cloud.rs).
  pipeline_objects = "${local.bucket_arn}/${substr(var.name, 0, 20)}/*"
  release_objects  = "${local.bucket_arn}/releases/*"
}

# --- the module's key: build logs and notifications ------------------------------------

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is this key; the account root administers it, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is this key; the account root administers it, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is this key, not every resource.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # In a key policy, "*" is this key.
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  statement {
    sid       = "LogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"] # In a key policy, "*" is this key.
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    # Only the stages' log groups.
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = values(local.log_group_arns)
    }
  }

  statement {
    sid       = "NotificationsPublish"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"] # In a key policy, "*" is this key.
    principals {
      type        = "Service"
      identifiers = ["codestar-notifications.amazonaws.com"]
    }
    # Only to publish to the (encrypted) notification topic.
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: build logs and pipeline notifications."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-pipeline"
  target_key_id = aws_kms_key.this.key_id
}

# --- notifications -------------------------------------------------------------------

resource "aws_sns_topic" "this" {
  name              = "${var.name}-notifications"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "NotificationRulePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "Service"
      identifiers = ["codestar-notifications.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_codestarnotifications_notification_rule" "this" {
  name        = "${var.name}-failed-or-waiting"
  resource    = aws_codepipeline.this.arn
  detail_type = "FULL"
  event_type_ids = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
  ]

  target {
    type    = "SNS"
    address = aws_sns_topic.this.arn
  }

  tags = local.tags

  depends_on = [aws_sns_topic_policy.this]
}

# --- builds --------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.stages

  name              = local.log_groups[each.key]
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_codebuild_project" "this" {
  for_each = local.stages

  name           = local.stage_names[each.key]
  description    = "${each.value.title}: deployer ${each.value.args}."
  service_role   = aws_iam_role.codebuild[each.key].arn
  build_timeout  = var.build_timeout_minutes
  encryption_key = var.kms_key_arn

  source {
    type      = "CODEPIPELINE"
    buildspec = var.buildspecs[each.key]
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    type                        = var.build_environment_type
    image                       = var.build_image
    compute_type                = var.compute_types[each.key]
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false
  }

  # Package compiles the workspace: its buildspec caches cargo's registry and target/
  # on the build host (no bucket, no permission). The other stages build nothing.
  dynamic "cache" {
    for_each = each.key == "package" ? [true] : []
    content {
      type  = "LOCAL"
      modes = ["LOCAL_CUSTOM_CACHE"]
    }
  }

  logs_config {
    cloudwatch_logs {
      status     = "ENABLED"
      group_name = aws_cloudwatch_log_group.this[each.key].name
    }
    s3_logs {
      status = "DISABLED"
    }
  }

  tags = merge(local.tags, { stage = each.value.title })

  depends_on = [aws_iam_role_policy.codebuild]
}

# --- the pipeline --------------------------------------------------------------------

resource "aws_codepipeline" "this" {
  name           = var.name
  role_arn       = aws_iam_role.pipeline.arn
  pipeline_type  = "V2"
  execution_mode = "QUEUED"

  artifact_store {
    type     = "S3"
    location = var.artifact_bucket
    encryption_key {
      type = "KMS"
      id   = var.kms_key_arn
    }
  }

  stage {
    name = "Source"
    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "CodeStarSourceConnection"
      version          = "1"
      namespace        = "SourceVariables"
      output_artifacts = ["source"]
      configuration = {
        ConnectionArn        = var.connection_arn
        FullRepositoryId     = var.repository
        BranchName           = var.branch
        OutputArtifactFormat = "CODE_ZIP"
        DetectChanges        = "true"
      }
    }
  }

  stage {
    name = local.stages.package.title
    action {
      name             = local.stages.package.title
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      input_artifacts  = ["source"]
      output_artifacts = ["package"]
      configuration = {
        ProjectName = aws_codebuild_project.this["package"].name
      }
    }
  }

  stage {
    name = local.stages.deploy_dev.title
    action {
      name            = local.stages.deploy_dev.title
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source", "package"]
      configuration = {
        ProjectName   = aws_codebuild_project.this["deploy_dev"].name
        PrimarySource = "source"
      }
    }
  }

  stage {
    name = local.stages.promote_test.title
    action {
      name            = local.stages.promote_test.title
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source", "package"]
      configuration = {
        ProjectName   = aws_codebuild_project.this["promote_test"].name
        PrimarySource = "source"
      }
    }
  }

  stage {
    name = "Approval"
    action {
      name     = "ApproveProd"
      category = "Approval"
      owner    = "AWS"
      provider = "Manual"
      version  = "1"
      configuration = {
        NotificationArn = aws_sns_topic.this.arn
        CustomData      = "Release #{SourceVariables.CommitId} passed test. Approve to promote it to prod."
      }
    }
  }

  stage {
    name = local.stages.promote_prod.title
    action {
      name            = local.stages.promote_prod.title
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source", "package"]
      configuration = {
        ProjectName   = aws_codebuild_project.this["promote_prod"].name
        PrimarySource = "source"
      }
    }
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.pipeline]
}
