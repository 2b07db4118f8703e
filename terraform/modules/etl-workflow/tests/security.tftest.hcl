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
  release_ledger = {
    table_name  = "etl-test-releases"
    kms_key_arn = "arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111"
  }
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
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.state_machine.statement : [
      for a in s.actions : a != "*" && !endswith(a, ":*")
    ]]))
    error_message = "no wildcard action for the state machine"
  }
  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.state_machine.statement : s.resources if contains(s.actions, "lambda:InvokeFunction")])) == toset([
      for f in aws_lambda_function.this : "${f.arn}:*"
    ])
    error_message = "the state machine invokes the functions' versions and aliases (<function>:*), never the unqualified function ($LATEST)"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.state_machine.statement :
      s.actions == toset(["dynamodb:GetItem"])
      && s.resources == toset(["arn:aws:dynamodb:us-east-1:111111111111:table/etl-test-releases"])
      && anytrue([for c in s.condition : c.test == "ForAllValues:StringEquals" && c.variable == "dynamodb:LeadingKeys" && c.values == tolist(["routing"])])
    ]) && length(flatten([for s in data.aws_iam_policy_document.state_machine.statement : [for a in s.actions : a if startswith(a, "dynamodb:")]])) == 1
    error_message = "the state machine may only GetItem on the release ledger, in the routing partition"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.state_machine.statement :
      s.actions == toset(["kms:Decrypt"])
      && s.resources == toset(["arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111"])
      && anytrue([for c in s.condition : c.variable == "kms:ViaService" && c.values == tolist(["dynamodb.us-east-1.amazonaws.com"])])
    ])
    error_message = "the state machine decrypts with the ledger's key only through DynamoDB"
  }
}

run "every_function_has_its_alarms" {
  # Mocked: ARNs are known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.live) == 12
    error_message = "errors, throttles and p99 duration alarms for each of the four functions"
  }
  assert {
    condition = alltrue([for k, a in aws_cloudwatch_metric_alarm.live :
    a.dimensions == tomap({ FunctionName = aws_lambda_function.this[split("-", k)[0]].function_name })])
    error_message = "alarms watch every invocation of their function (FunctionName alone): the state machine invokes versions, not only the live alias"
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

run "one_execution_runs_one_release" {
  # Mocked: the functions' ARNs are known only after an apply, which costs nothing here.
  command = apply
  # A state of its own: the functions are created here, with the ARNs below.
  state_key = "one_release"

  # Each function its own ARN, so that a Task invoking another step's function fails.
  override_resource {
    target = aws_lambda_function.this["extract"]
    values = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-extract" }
  }
  override_resource {
    target = aws_lambda_function.this["transform"]
    values = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-transform" }
  }
  override_resource {
    target = aws_lambda_function.this["load"]
    values = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-load" }
  }
  override_resource {
    target = aws_lambda_function.this["compensate"]
    values = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-compensate" }
  }

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).StartAt == "ReadRouting"
    error_message = "the execution first reads the routing record"
  }
  assert {
    condition = (jsondecode(aws_sfn_state_machine.this.definition).States.ReadRouting.Resource == "arn:aws:states:::dynamodb:getItem"
      && jsondecode(aws_sfn_state_machine.this.definition).States.ReadRouting.Parameters == {
        TableName = "etl-test-releases", Key = { pk = { S = "routing" }, sk = { S = "routing" } }, ConsistentRead = true
    })
    error_message = "the routing record is read from the release ledger, consistently"
  }
  assert {
    condition     = one(jsondecode(aws_sfn_state_machine.this.definition).States.ReadRouting.Catch).Next == "UseLive"
    error_message = "a failed read falls back to the live aliases"
  }
  assert {
    # Every Lambda Task, the Map's included, invokes "<function ARN>:<the version drawn
    # for its own function>".
    condition = alltrue([for name, step in {
      Extract             = ["extract", jsondecode(aws_sfn_state_machine.this.definition).States.Extract, "$.versions.extract"]
      TransformBatch      = ["transform", jsondecode(aws_sfn_state_machine.this.definition).States.Transform.Iterator.States.TransformBatch, "$.version"]
      Load                = ["load", jsondecode(aws_sfn_state_machine.this.definition).States.Load, "$.versions.load"]
      CompensateExtract   = ["compensate", jsondecode(aws_sfn_state_machine.this.definition).States.CompensateExtract, "$.versions.compensate"]
      CompensateTransform = ["compensate", jsondecode(aws_sfn_state_machine.this.definition).States.CompensateTransform, "$.versions.compensate"]
      CompensateLoad      = ["compensate", jsondecode(aws_sfn_state_machine.this.definition).States.CompensateLoad, "$.versions.compensate"]
      } : step[1].Resource == "arn:aws:states:::lambda:invoke"
      && step[1].Parameters["FunctionName.$"] == "States.Format('${aws_lambda_function.this[step[0]].arn}:{}', ${step[2]})"
    ])
    error_message = "every Task invokes its function's version chosen for the execution"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Transform.Parameters["version.$"] == "$.versions.transform"
    error_message = "each Map iteration carries the execution's transform version"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.UseLive.Result == { id = "live", route = "live", extract = "live", transform = "live", load = "live", compensate = "live" }
    error_message = "without a release in flight every Task invokes the live alias"
  }
}

run "rejects_a_ledger_arn_for_its_name" {
  command = plan
  variables {
    release_ledger = {
      table_name  = "arn:aws:dynamodb:us-east-1:111111111111:table/etl-test-releases"
      kms_key_arn = "arn:aws:kms:us-east-1:111111111111:key/11111111-1111-1111-1111-111111111111"
    }
  }
  expect_failures = [var.release_ledger]
}

run "rejects_a_key_alias_for_the_ledgers_key" {
  command = plan
  variables {
    release_ledger = {
      table_name  = "etl-test-releases"
      kms_key_arn = "arn:aws:kms:us-east-1:111111111111:alias/etl-test-traffic-shifting"
    }
  }
  expect_failures = [var.release_ledger]
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
