# The module's safety properties, checked against a mocked provider (no cloud).

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
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::etl-test-bucket" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:111111111111:table/etl-test-runs" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:111111111111:etl-test-alerts" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111111111111:log-group:etl-test" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111111111111:role/etl-test" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test", version = "1" }
  }
  mock_resource "aws_lambda_alias" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test:live" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-test" }
  }
  # The assertions read each document's statements; its rendered JSON only has to parse.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name_prefix = "etl-test"
}

run "data_is_encrypted_versioned_private_and_tls_only" {
  command = plan

  assert {
    condition     = alltrue([for b in aws_s3_bucket_server_side_encryption_configuration.this : alltrue([for r in b.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"])])
    error_message = "every bucket is encrypted with SSE-KMS"
  }
  assert {
    condition     = alltrue([for v in aws_s3_bucket_versioning.this : v.versioning_configuration[0].status == "Enabled"])
    error_message = "every bucket is versioned"
  }
  assert {
    condition     = alltrue([for p in aws_s3_bucket_public_access_block.this : p.block_public_acls && p.block_public_policy && p.ignore_public_acls && p.restrict_public_buckets])
    error_message = "every bucket blocks public access"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.tls_only : anytrue([
      for s in d.statement : s.effect == "Deny" && anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ])])
    error_message = "every bucket policy denies requests without TLS"
  }
  assert {
    condition     = length(aws_s3_bucket.this) == 4 && !aws_s3_bucket.this["curated"].force_destroy
    error_message = "four buckets, and none force-destroyed by default"
  }
  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "the key rotates"
  }
}

run "replaced_versions_expire_in_every_bucket" {
  command = plan

  assert {
    condition = alltrue([for b in ["raw", "curated", "quarantine"] :
      one(aws_s3_bucket_lifecycle_configuration.this[b].rule).noncurrent_version_expiration[0].noncurrent_days == 90
    ]) && one(aws_s3_bucket_lifecycle_configuration.staging.rule).noncurrent_version_expiration[0].noncurrent_days == 7
    error_message = "replaced versions expire after noncurrent_version_days (staging after 7 days)"
  }
}

run "ledger_alerts_and_logs_are_protected" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.runs.server_side_encryption[0].enabled && aws_dynamodb_table.runs.point_in_time_recovery[0].enabled && aws_dynamodb_table.runs.ttl[0].enabled
    error_message = "the run ledger is encrypted, has point-in-time recovery and a TTL"
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.functions : g.retention_in_days == 365]) && aws_cloudwatch_log_group.state_machine.retention_in_days == 365
    error_message = "every log group keeps logs for log_retention_days, a year by default"
  }
  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled && aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR"
    error_message = "the state machine traces and logs at execution_log_level"
  }
}

run "roles_are_least_privilege" {
  # Mocked: ARNs are known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition = alltrue(flatten([for d in data.aws_iam_policy_document.function : [for s in d.statement : [
      for a in s.actions : a != "*" && !endswith(a, ":*")
    ]]]))
    error_message = "no function policy grants a wildcard action"
  }
  assert {
    condition = alltrue(flatten([for d in data.aws_iam_policy_document.function : [for s in d.statement : [
      for r in s.resources : r != "*" || s.sid == "Tracing"
    ]]]))
    error_message = "a wildcard resource appears only for X-Ray, which has no resource-level permissions"
  }
  assert {
    condition = !anytrue([for s in data.aws_iam_policy_document.function["transform"].statement :
    contains(s.actions, "s3:PutObject") && anytrue([for r in s.resources : strcontains(r, "curated")])])
    error_message = "transform cannot write the curated partition: only load publishes"
  }
  assert {
    condition = !anytrue([for s in data.aws_iam_policy_document.function["extract"].statement :
    anytrue([for a in s.actions : startswith(a, "s3:Put") || startswith(a, "s3:Delete")])])
    error_message = "extract only reads data"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.state_machine.statement : !contains(s.actions, "lambda:*")])
    error_message = "the state machine may only invoke the live aliases"
  }
}

run "every_live_alias_has_its_alarms" {
  # Mocked: ARNs are known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.live) == 12
    error_message = "errors, throttles and p99 duration alarms for each of the four functions"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.live : endswith(a.dimensions["Resource"], ":live")])
    error_message = "alarms watch the live alias"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.live["transform-p99-duration"].extended_statistic == "p99"
    error_message = "the duration alarm uses p99"
  }
}

run "fault_injection_is_off_by_default" {
  # Mocked: ARNs are known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.environment[0].variables["ALLOW_FAULT_INJECTION"] == "false"])
    error_message = "production functions ignore inject_failure"
  }
}

run "extra_environment_cannot_override_the_modules_settings" {
  command = apply
  variables {
    environment_variables = { FEATURE_FLAG = "on", LOG_LEVEL = "trace" }
  }

  assert {
    condition     = aws_lambda_function.this["load"].environment[0].variables["FEATURE_FLAG"] == "on" && aws_lambda_function.this["load"].environment[0].variables["LOG_LEVEL"] == "info"
    error_message = "extra variables are added; the module's own settings win"
  }
}

run "no_xray_permission_without_tracing" {
  command = plan
  variables {
    enable_tracing               = false
    enable_state_machine_tracing = false
  }

  assert {
    condition = !anytrue(flatten([for d in concat(values(data.aws_iam_policy_document.function), [data.aws_iam_policy_document.state_machine]) : [
      for s in d.statement : [for a in s.actions : startswith(a, "xray:")]
    ]]))
    error_message = "without tracing, no role may send traces"
  }
}

run "functions_trace_where_the_state_machine_cannot" {
  command = plan
  variables {
    enable_state_machine_tracing = false
  }

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.tracing_config[0].mode == "Active"])
    error_message = "the functions trace (Active) even where the state machine does not"
  }
  assert {
    condition     = length(aws_sfn_state_machine.this.tracing_configuration) == 0
    error_message = "the state machine's tracing follows enable_state_machine_tracing"
  }
  assert {
    condition = alltrue([for d in values(data.aws_iam_policy_document.function) : anytrue([for s in d.statement : contains(s.actions, "xray:PutTraceSegments")])]) && !anytrue(flatten([
      for s in data.aws_iam_policy_document.state_machine.statement : [for a in s.actions : startswith(a, "xray:")]
    ]))
    error_message = "each role may send traces only where its own tracing is on"
  }
}

run "functions_start_from_the_placeholder_and_publish_nothing" {
  command = plan

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : endswith(f.filename, "/placeholder/bootstrap.zip") && f.source_code_hash == filebase64sha256("${path.module}/placeholder/bootstrap.zip")])
    error_message = "every function is created from the module's placeholder, not from a build"
  }
  assert {
    condition     = alltrue([for f in aws_lambda_function.this : !f.publish])
    error_message = "Terraform publishes no version: only the deployer does"
  }
}

run "rejects_reserved_environment_names" {
  command = plan
  variables {
    environment_variables = { AWS_REGION = "eu-west-1" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_an_unknown_architecture" {
  command = plan
  variables {
    architecture = "sparc"
  }
  expect_failures = [var.architecture]
}

run "rejects_a_bad_name_prefix" {
  command = plan
  variables {
    name_prefix = "ETL_Dev"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_map_concurrency_out_of_range" {
  command = plan
  variables {
    map_max_concurrency = 0
  }
  expect_failures = [var.map_max_concurrency]
}

run "rejects_an_unsupported_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}
