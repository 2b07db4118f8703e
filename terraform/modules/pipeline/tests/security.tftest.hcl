# The pipeline's safety properties, against a mocked provider: queued V2 execution,
# encryption, stage order with the approval before prod, per-stage roles that reach
# only the deploy roles their command needs, and notifications on failure.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "444444444444" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:444444444444:key/11111111-1111-1111-1111-111111111111", key_id = "11111111-1111-1111-1111-111111111111" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:444444444444:etl-release-notifications" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::444444444444:role/etl-release" }
  }
  mock_resource "aws_codepipeline" {
    defaults = { arn = "arn:aws:codepipeline:us-east-1:444444444444:etl-release" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:444444444444:log-group:/aws/codebuild/etl-release" }
  }
  mock_resource "aws_codebuild_project" {
    defaults = { arn = "arn:aws:codebuild:us-east-1:444444444444:project/etl-release" }
  }
  # The assertions read each document's statements; its rendered JSON only has to parse.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  connection_arn  = "arn:aws:codeconnections:us-east-1:444444444444:connection/00000000-0000-0000-0000-000000000000"
  repository      = "acme/serverless-etl-delivery"
  artifact_bucket = "artifacts-444444444444-us-east-1"
  kms_key_arn     = "arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000"
  deploy_role_arns = {
    dev  = "arn:aws:iam::111111111111:role/deployer"
    test = "arn:aws:iam::222222222222:role/deployer"
    prod = "arn:aws:iam::333333333333:role/deployer"
  }
}

run "one_queued_v2_pipeline_from_main_with_approval_before_prod" {
  command = plan

  assert {
    condition     = aws_codepipeline.this.pipeline_type == "V2" && aws_codepipeline.this.execution_mode == "QUEUED"
    error_message = "a V2 pipeline in QUEUED mode: releases run one after another, none is superseded"
  }
  assert {
    condition     = [for s in aws_codepipeline.this.stage : s.name] == ["Source", "Package", "DeployDev", "PromoteTest", "Approval", "PromoteProd"]
    error_message = "stages in order: Source, Package, DeployDev, PromoteTest, Approval, PromoteProd"
  }
  assert {
    condition = anytrue([for s in aws_codepipeline.this.stage : s.name == "Source" && anytrue([for a in s.action :
      a.provider == "CodeStarSourceConnection" && lookup(a.configuration, "BranchName", "") == "main" && lookup(a.configuration, "FullRepositoryId", "") == "acme/serverless-etl-delivery" && lookup(a.configuration, "ConnectionArn", "") == var.connection_arn
    ])])
    error_message = "the source is the repository's main branch through the connection"
  }
  assert {
    condition     = [for k in ["package", "deploy_dev", "promote_test", "promote_prod"] : aws_codebuild_project.this[k].name] == ["etl-release-package", "etl-release-deploy-dev", "etl-release-promote-test", "etl-release-promote-prod"]
    error_message = "one project per stage, named <name>-<stage>"
  }
  assert {
    condition     = alltrue([for k, p in aws_codebuild_project.this : one(p.source).buildspec == var.buildspecs[k]])
    error_message = "each project reads its buildspec from the repository"
  }
}

run "artifacts_logs_and_notifications_are_encrypted" {
  command = plan

  assert {
    condition     = alltrue([for a in aws_codepipeline.this.artifact_store : a.location == "artifacts-444444444444-us-east-1" && one(a.encryption_key).type == "KMS" && one(a.encryption_key).id == var.kms_key_arn])
    error_message = "pipeline artifacts go to the artifact store, encrypted with its CMK"
  }
  assert {
    condition     = alltrue([for p in aws_codebuild_project.this : p.encryption_key == var.kms_key_arn && one(p.environment).privileged_mode != true])
    error_message = "build output is encrypted with the CMK, and no build runs privileged"
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.this : g.retention_in_days == 365]) && length(aws_cloudwatch_log_group.this) == 4
    error_message = "every stage logs to its own group, kept a year"
  }
  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "the module's key rotates"
  }
}

run "encryption_keys_are_the_right_ones" {
  # Mocked: ARNs are known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.this : g.kms_key_id == aws_kms_key.this.arn])
    error_message = "logs are encrypted with the module's key"
  }
  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == aws_kms_key.this.arn
    error_message = "the notification topic is encrypted with the module's key"
  }
  assert {
    condition     = alltrue([for p in aws_codebuild_project.this : one(one(p.logs_config).cloudwatch_logs).status == "ENABLED"])
    error_message = "every build logs to CloudWatch"
  }
}

run "each_codebuild_role_assumes_only_the_deploy_roles_its_command_needs" {
  command = plan

  assert {
    condition = {
      for k, d in data.aws_iam_policy_document.codebuild : k => toset(flatten([for s in d.statement : tolist(s.resources) if contains(s.actions, "sts:AssumeRole")]))
      } == {
      package      = toset([])
      deploy_dev   = toset(["arn:aws:iam::111111111111:role/deployer"])
      promote_test = toset(["arn:aws:iam::111111111111:role/deployer", "arn:aws:iam::222222222222:role/deployer"])
      promote_prod = toset(["arn:aws:iam::222222222222:role/deployer", "arn:aws:iam::333333333333:role/deployer"])
    }
    error_message = "package assumes nothing; deploy_dev dev; promote_test dev (its ledger) and test; promote_prod test (its ledger) and prod"
  }
  assert {
    condition = alltrue(flatten([for d in concat(values(data.aws_iam_policy_document.codebuild), [data.aws_iam_policy_document.pipeline]) : [
      for s in d.statement : [for a in s.actions : !strcontains(a, "*")]
    ]]))
    error_message = "no wildcard action in the pipeline's or the builds' roles"
  }
  assert {
    condition = alltrue(flatten([for d in concat(values(data.aws_iam_policy_document.codebuild), [data.aws_iam_policy_document.pipeline]) : [
      for s in d.statement : [for r in s.resources : r != "*"]
    ]]))
    error_message = "no wildcard resource in the pipeline's or the builds' roles"
  }
  assert {
    condition = alltrue([for k in ["promote_test", "promote_prod"] : !anytrue([for s in data.aws_iam_policy_document.codebuild[k].statement :
      contains(s.actions, "s3:PutObject") || contains(s.actions, "kms:Encrypt") || contains(s.actions, "kms:GenerateDataKey")
    ])])
    error_message = "promotion stages read artifacts and releases, never write them"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.codebuild["deploy_dev"].statement :
      s.sid == "ReadWriteReleases" && s.resources == toset(["arn:aws:s3:::artifacts-444444444444-us-east-1/releases/*"])
    ])
    error_message = "deploy_dev uploads releases under releases/ only"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.codebuild : anytrue([for s in d.statement :
      s.sid == "PipelineArtifacts" && s.resources == toset(["arn:aws:s3:::artifacts-444444444444-us-east-1/etl-release/*"])
    ])])
    error_message = "builds reach the pipeline's own artifacts only"
  }
  assert {
    condition = alltrue([for k, d in data.aws_iam_policy_document.codebuild : anytrue([for s in d.statement :
      s.sid == "TestReports" && s.resources == toset(["arn:aws:codebuild:us-east-1:444444444444:report-group/${aws_codebuild_project.this[k].name}-*"])
    ])])
    error_message = "each build writes test reports to its own project's report groups only"
  }
  assert {
    condition     = aws_iam_role.codebuild["promote_prod"].name == "etl-release-promote-prod" && aws_iam_role.pipeline.name == "etl-release-pipeline"
    error_message = "roles are named <name>-<stage>, which the workload deploy roles trust"
  }
  assert {
    condition = alltrue([for k in ["codepipeline", "codebuild"] : alltrue([for s in data.aws_iam_policy_document.service_trust[k].statement :
      one(s.principals).identifiers == toset(["${k}.amazonaws.com"]) && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && toset(c.values) == toset(["444444444444"])])
    ])])
    error_message = "only the services, on behalf of this account, assume the pipeline's and builds' roles"
  }
}

run "failures_and_approvals_are_notified" {
  command = apply

  assert {
    condition = anytrue([for s in aws_codepipeline.this.stage : s.name == "Approval" && anytrue([for a in s.action :
      a.category == "Approval" && a.provider == "Manual" && lookup(a.configuration, "NotificationArn", "") == aws_sns_topic.this.arn
    ])])
    error_message = "a manual approval, announced on the topic, gates prod"
  }

  assert {
    condition     = contains(aws_codestarnotifications_notification_rule.this.event_type_ids, "codepipeline-pipeline-pipeline-execution-failed")
    error_message = "a failed execution is notified"
  }
  assert {
    condition     = contains(aws_codestarnotifications_notification_rule.this.event_type_ids, "codepipeline-pipeline-manual-approval-needed")
    error_message = "an approval waiting is notified"
  }
  assert {
    condition     = aws_codestarnotifications_notification_rule.this.resource == aws_codepipeline.this.arn && one(aws_codestarnotifications_notification_rule.this.target).address == aws_sns_topic.this.arn
    error_message = "the rule watches this pipeline and publishes to the module's topic"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.topic.statement :
      s.actions == toset(["sns:Publish"]) && one(s.principals).identifiers == toset(["codestar-notifications.amazonaws.com"])
    ])
    error_message = "the topic lets CodeStar Notifications publish"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.key.statement :
      s.sid == "NotificationsPublish" && anytrue([for c in s.condition : c.variable == "kms:ViaService" && toset(c.values) == toset(["sns.us-east-1.amazonaws.com"])])
    ])
    error_message = "CodeStar Notifications may use the key only through SNS"
  }
}

run "rejects_a_role_map_without_prod" {
  command = plan
  variables {
    deploy_role_arns = {
      dev  = "arn:aws:iam::111111111111:role/deployer"
      test = "arn:aws:iam::222222222222:role/deployer"
    }
  }
  expect_failures = [var.deploy_role_arns]
}

run "rejects_an_account_id_that_is_not_12_digits" {
  command = plan
  variables {
    deploy_role_arns = {
      dev  = "arn:aws:iam::11111111111:role/deployer"
      test = "arn:aws:iam::222222222222:role/deployer"
      prod = "arn:aws:iam::333333333333:role/deployer"
    }
  }
  expect_failures = [var.deploy_role_arns]
}

run "rejects_two_environments_in_one_account" {
  command = plan
  variables {
    deploy_role_arns = {
      dev  = "arn:aws:iam::111111111111:role/deployer"
      test = "arn:aws:iam::111111111111:role/deployer-test"
      prod = "arn:aws:iam::333333333333:role/deployer"
    }
  }
  expect_failures = [var.deploy_role_arns]
}

run "rejects_a_bad_connection_arn" {
  command = plan
  variables {
    connection_arn = "arn:aws:codestar-connections:us-east-1:4444:connection/x"
  }
  expect_failures = [var.connection_arn]
}

run "rejects_a_buildspec_outside_the_repository" {
  command = plan
  variables {
    buildspecs = {
      package      = "../buildspec.yml"
      deploy_dev   = "pipelines/codepipeline/buildspec-deploy-dev.yml"
      promote_test = "pipelines/codepipeline/buildspec-promote-test.yml"
      promote_prod = "pipelines/codepipeline/buildspec-promote-prod.yml"
    }
  }
  expect_failures = [var.buildspecs]
}

run "rejects_an_artifact_bucket_arn_for_a_name" {
  command = plan
  variables {
    artifact_bucket = "arn:aws:s3:::artifacts-444444444444-us-east-1"
  }
  expect_failures = [var.artifact_bucket]
}
