# The module's safety properties: encryption, the ledger's protection, log retention
# and least-privilege roles. Against a mocked provider (no cloud).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111111111111" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  # Resources get ARN-shaped values, as the provider validates them across resources.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:111111111111:table/etl-test-releases" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/etl-test-hook" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111111111111:role/etl-test" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-hook" }
  }
  # The assertions read each document's statements; its rendered JSON only has to parse.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name_prefix = "etl-test"
  functions = {
    extract = {
      function_name = "etl-test-extract"
      alarm_names   = ["etl-test-extract-errors", "etl-test-extract-throttles"]
    }
    load = {
      function_name = "etl-test-load"
      alarm_names   = ["etl-test-load-errors"]
    }
  }
}

run "the_release_ledger_is_encrypted_recoverable_and_protected" {
  # Mocked: ARNs are known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition     = aws_dynamodb_table.releases.name == "etl-test-releases" && aws_dynamodb_table.releases.billing_mode == "PAY_PER_REQUEST"
    error_message = "one on-demand ledger per environment"
  }
  assert {
    condition     = aws_dynamodb_table.releases.hash_key == "pk" && aws_dynamodb_table.releases.range_key == "sk"
    error_message = "the ledger is keyed by pk and sk"
  }
  assert {
    condition     = aws_dynamodb_table.releases.server_side_encryption[0].enabled && aws_dynamodb_table.releases.server_side_encryption[0].kms_key_arn == aws_kms_key.this.arn
    error_message = "the ledger is encrypted with the module's customer-managed key"
  }
  assert {
    condition     = aws_dynamodb_table.releases.point_in_time_recovery[0].enabled
    error_message = "the ledger has point-in-time recovery"
  }
  assert {
    condition     = aws_dynamodb_table.releases.deletion_protection_enabled
    error_message = "the ledger is protected from deletion by default"
  }
  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.deletion_window_in_days == 30
    error_message = "the key rotates and waits 30 days before deletion by default"
  }
}

run "hook_settings_and_logs_are_encrypted_and_kept" {
  command = apply

  assert {
    condition     = alltrue([for h in aws_lambda_function.this : h.kms_key_arn == aws_kms_key.this.arn])
    error_message = "the hooks' environment is encrypted with the module's key"
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.this : g.retention_in_days == 365 && g.kms_key_id == aws_kms_key.this.arn])
    error_message = "the hooks' logs are encrypted and kept for log_retention_days"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.key.statement :
      s.sid == "LogsEncrypt" && anytrue([for c in s.condition : c.variable == "kms:EncryptionContext:aws:logs:arn" && toset(c.values) == toset([
        "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/etl-test-pre-traffic",
        "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/etl-test-post-traffic",
        "arn:aws:logs:us-east-1:111111111111:log-group:/etl-test/releases",
    ])])])
    error_message = "CloudWatch Logs may use the key for the hooks' two log groups and the release log only"
  }
}

run "the_release_log_is_encrypted_kept_and_has_the_deployers_stream" {
  command = apply

  assert {
    condition     = aws_cloudwatch_log_group.releases.name == "/etl-test/releases" && aws_cloudwatch_log_group.releases.retention_in_days == 365 && aws_cloudwatch_log_group.releases.kms_key_id == aws_kms_key.this.arn
    error_message = "the release log /<name_prefix>/releases is encrypted with the module's key and kept for log_retention_days"
  }
  assert {
    condition     = aws_cloudwatch_log_stream.releases.name == "deployer" && aws_cloudwatch_log_stream.releases.log_group_name == "/etl-test/releases"
    error_message = "the deployer writes to the stream deployer, created with the group"
  }
  assert {
    condition     = output.release_log.name == "/etl-test/releases" && output.release_log.stream == "deployer"
    error_message = "the release log is an output, for the deploy role and the dashboard"
  }
}

run "roles_are_least_privilege" {
  command = apply

  assert {
    condition = alltrue(flatten([for d in concat([data.aws_iam_policy_document.codedeploy], values(data.aws_iam_policy_document.hook)) : [
      for s in d.statement : [for a in s.actions : a != "*" && !endswith(a, ":*")]
    ]]))
    error_message = "no role grants a wildcard action"
  }
  assert {
    condition = alltrue(flatten([for d in concat([data.aws_iam_policy_document.codedeploy], values(data.aws_iam_policy_document.hook)) : [
      for s in d.statement : [for r in s.resources : r != "*" || contains(["ReadMetrics", "Tracing", "DeploymentTargetsAndStatus"], s.sid)]
    ]]))
    error_message = "a wildcard resource appears only for GetMetricStatistics and X-Ray, which have no resource-level permissions"
  }
  assert {
    condition     = one(one(data.aws_iam_policy_document.codedeploy_trust.statement).principals).identifiers == toset(["codedeploy.amazonaws.com"])
    error_message = "only CodeDeploy assumes the service role"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.codedeploy.statement :
      s.sid == "InvokeHooks" && s.actions == toset(["lambda:InvokeFunction"]) && s.resources == toset([
        "arn:aws:lambda:us-east-1:111111111111:function:etl-test-pre-traffic",
        "arn:aws:lambda:us-east-1:111111111111:function:etl-test-post-traffic",
    ])])
    error_message = "CodeDeploy may invoke the two hooks and no other function"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.codedeploy.statement :
      s.sid == "ShiftAliases" && s.resources == toset([
        "arn:aws:lambda:us-east-1:111111111111:function:etl-test-extract",
        "arn:aws:lambda:us-east-1:111111111111:function:etl-test-extract:*",
        "arn:aws:lambda:us-east-1:111111111111:function:etl-test-load",
        "arn:aws:lambda:us-east-1:111111111111:function:etl-test-load:*",
    ])])
    error_message = "CodeDeploy may shift the aliases of this environment's functions only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.codedeploy.statement :
      s.sid == "ReadAlarms" && s.resources == toset([
        "arn:aws:cloudwatch:us-east-1:111111111111:alarm:etl-test-extract-errors",
        "arn:aws:cloudwatch:us-east-1:111111111111:alarm:etl-test-extract-throttles",
        "arn:aws:cloudwatch:us-east-1:111111111111:alarm:etl-test-load-errors",
    ])])
    error_message = "CodeDeploy reads exactly the groups' alarms"
  }
  assert {
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.hook["pre_traffic"].statement : [
      for r in s.resources : endswith(r, ":*") if contains(s.actions, "lambda:InvokeFunction")
    ]]))
    error_message = "pre-traffic invokes only qualified versions, never the unqualified function"
  }
  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.hook["post_traffic"].statement : contains(s.actions, "lambda:InvokeFunction")])
    error_message = "post-traffic invokes no function"
  }
  assert {
    condition = !anytrue(flatten([for s in data.aws_iam_policy_document.hook["pre_traffic"].statement : [
      for a in s.actions : startswith(a, "cloudwatch:") || startswith(a, "states:")
    ]]))
    error_message = "pre-traffic reads no metrics and starts no execution"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.hook : anytrue([for s in d.statement :
      s.sid == "ReadDeployments" && s.resources == toset([
        "arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:etl-test/etl-test-extract",
        "arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:etl-test/etl-test-load",
    ])])])
    error_message = "each hook reads deployments of this application's groups only"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.hook : anytrue([for s in d.statement :
      s.sid == "DeploymentTargetsAndStatus" && s.resources == toset(["*"]) && s.actions == toset([
        "codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget", "codedeploy:PutLifecycleEventHookExecutionStatus",
      ])
    ])])
    error_message = "each hook reads its deployment's target and reports its status on \"*\", the only resource IAM authorizes these on, and nothing else there"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.hook : anytrue([for s in d.statement :
      s.sid == "ReadRevisions" && s.resources == toset(["arn:aws:codedeploy:us-east-1:111111111111:application:etl-test"])
    ])])
    error_message = "each hook reads revisions of this application only"
  }
  assert {
    condition     = !anytrue(flatten([for s in data.aws_iam_policy_document.hook["post_traffic"].statement : [for a in s.actions : startswith(a, "states:")]]))
    error_message = "without a smoke test, post-traffic has no Step Functions permission"
  }
}

run "the_smoke_test_is_scoped_to_its_state_machine" {
  command = apply
  variables {
    smoke_test = {
      state_machine_arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-test-etl"
      input             = "{\"run_date\":\"2026-01-01\",\"dry_run\":true,\"inject_failure\":null}"
      timeout_seconds   = 60
    }
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.hook["post_traffic"].statement :
    s.actions == toset(["states:StartExecution"]) && s.resources == toset(["arn:aws:states:us-east-1:111111111111:stateMachine:etl-test-etl"])])
    error_message = "post-traffic starts the smoke state machine only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.hook["post_traffic"].statement :
    s.actions == toset(["states:DescribeExecution"]) && s.resources == toset(["arn:aws:states:us-east-1:111111111111:execution:etl-test-etl:*"])])
    error_message = "post-traffic watches that state machine's executions only"
  }
}

run "local_environments_may_drop_the_ledger" {
  command = plan
  variables {
    deletion_protection      = false
    kms_deletion_window_days = 7
  }

  assert {
    condition     = !aws_dynamodb_table.releases.deletion_protection_enabled && aws_kms_key.this.deletion_window_in_days == 7
    error_message = "deletion protection and the key's waiting period follow the variables"
  }
}
