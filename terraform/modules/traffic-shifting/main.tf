# Traffic shifting for one workload environment: the CodeDeploy application with one
# deployment group per function (alarms, automatic rollback), the deployment
# configuration, the pre- and post-traffic hook functions, and the deployer's release
# ledger and lock. IAM is in iam.tf.

data "aws_caller_identity" "this" {}
data "aws_region" "this" {}
data "aws_partition" "this" {}

locals {
  account   = data.aws_caller_identity.this.account_id
  region    = data.aws_region.this.name
  partition = data.aws_partition.this.partition
  tags      = merge(var.tags, { module = "traffic-shifting" })

  # ARNs are built from names, so that every policy is known at plan time and no
  # permission waits for a resource of another module.
  function_arns = { for k, f in var.functions : k => "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${f.function_name}" }
  alarm_arns = distinct(flatten([for f in values(var.functions) : [
    for a in f.alarm_names : "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${a}"
  ]]))
  application_arn = "arn:${local.partition}:codedeploy:${local.region}:${local.account}:application:${var.name_prefix}"
  deployment_group_arns = [for f in values(var.functions) :
    "arn:${local.partition}:codedeploy:${local.region}:${local.account}:deploymentgroup:${var.name_prefix}/${f.function_name}"
  ]

  # The two hooks, keyed as in hook_packages and the outputs.
  hooks = {
    pre_traffic  = { name = "${var.name_prefix}-pre-traffic", event = "BeforeAllowTraffic" }
    post_traffic = { name = "${var.name_prefix}-post-traffic", event = "AfterAllowTraffic" }
  }
  hook_arns      = { for k, h in local.hooks : k => "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${h.name}" }
  hook_log_group = { for k, h in local.hooks : k => "/aws/lambda/${h.name}" }

  # The hooks are created from this placeholder, which fails any invocation with "not
  # released yet: run deployer"; the deployer ships their code before the first
  # deployment that runs them. It is part of the module, so a plan needs no build.
  placeholder = "${path.module}/placeholder/bootstrap.zip"

  # The release log: the deployer writes one event per finished release to its
  # stream, and the environment's dashboard shows the newest as the current release.
  release_log_group  = "/${var.name_prefix}/releases"
  release_log_stream = "deployer"
}

# --- encryption -------------------------------------------------------------------

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
    # Only the hooks' two log groups and the release log.
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [for g in concat(values(local.hook_log_group), [local.release_log_group]) : "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${g}"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: release ledger, hook settings and hook logs."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-traffic-shifting"
  target_key_id = aws_kms_key.this.key_id
}

# --- CodeDeploy ---------------------------------------------------------------------

locals {
  custom_config = var.deployment_config.type != null
  canary        = var.deployment_config.type == "canary"
  custom_config_name = !local.custom_config ? null : (
    local.canary
    ? "${var.name_prefix}-canary-${var.deployment_config.percentage}pct-${var.deployment_config.interval_minutes}min"
    : "${var.name_prefix}-linear-${var.deployment_config.percentage}pct-every-${var.deployment_config.interval_minutes}min"
  )
  deployment_config_name = local.custom_config ? aws_codedeploy_deployment_config.this[0].deployment_config_name : var.deployment_config.predefined
}

resource "aws_codedeploy_app" "this" {
  name             = var.name_prefix
  compute_platform = "Lambda"
  tags             = local.tags
}

resource "aws_codedeploy_deployment_config" "this" {
  count = local.custom_config ? 1 : 0

  deployment_config_name = local.custom_config_name
  compute_platform       = "Lambda"

  traffic_routing_config {
    type = local.canary ? "TimeBasedCanary" : "TimeBasedLinear"

    dynamic "time_based_canary" {
      for_each = local.canary ? [true] : []
      content {
        percentage = var.deployment_config.percentage
        interval   = var.deployment_config.interval_minutes
      }
    }

    dynamic "time_based_linear" {
      for_each = local.canary ? [] : [true]
      content {
        percentage = var.deployment_config.percentage
        interval   = var.deployment_config.interval_minutes
      }
    }
  }

  # The name follows the settings, and a config in use cannot be deleted: create the
  # new one and move the groups to it before the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_codedeploy_deployment_group" "this" {
  for_each = var.functions

  app_name               = aws_codedeploy_app.this.name
  deployment_group_name  = each.value.function_name
  service_role_arn       = aws_iam_role.codedeploy.arn
  deployment_config_name = local.deployment_config_name

  deployment_style {
    deployment_type   = "BLUE_GREEN"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  # Any of the function's alarms in ALARM stops the deployment; an alarm CodeDeploy
  # cannot read stops it too (ignore_poll_alarm_failure = false).
  dynamic "alarm_configuration" {
    for_each = length(each.value.alarm_names) > 0 ? [true] : []
    content {
      enabled                   = true
      alarms                    = each.value.alarm_names
      ignore_poll_alarm_failure = false
    }
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  tags = merge(local.tags, { step = each.key })
}

# --- release ledger and lock --------------------------------------------------------

resource "aws_dynamodb_table" "releases" {
  name                        = "${var.name_prefix}-releases"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = local.tags
}

# --- release log ------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "releases" {
  name              = local.release_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

# Created here, so that the deploy role needs only logs:PutLogEvents on it.
resource "aws_cloudwatch_log_stream" "releases" {
  name           = local.release_log_stream
  log_group_name = aws_cloudwatch_log_group.releases.name
}

# --- hooks --------------------------------------------------------------------------

locals {
  # The contract with the hooks (hooks/): per Lambda function name, what to check.
  hook_checks = jsonencode({ for k, f in var.functions : f.function_name => {
    events               = [for e in f.hook_events : jsondecode(e)]
    max_duration_ms      = f.max_duration_ms
    alarm_names          = f.alarm_names
    max_errors           = f.max_errors
    error_window_seconds = f.error_window_seconds
    min_invocations      = f.min_invocations
    evidence_required    = f.evidence_required
  } })

  hook_environment = {
    pre_traffic = {
      HOOK_CHECKS = local.hook_checks
      LOG_LEVEL   = var.log_level
    }
    post_traffic = {
      HOOK_CHECKS = local.hook_checks
      # Empty is off (or, for the other two, unset): the hook then runs no smoke test.
      SMOKE_STATE_MACHINE_ARN = var.smoke_test == null ? "" : var.smoke_test.state_machine_arn
      SMOKE_INPUT             = var.smoke_test == null ? "" : var.smoke_test.input
      SMOKE_TIMEOUT_SECONDS   = var.smoke_test == null ? "" : tostring(var.smoke_test.timeout_seconds)
      LOG_LEVEL               = var.log_level
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.hooks

  name              = local.hook_log_group[each.key]
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:CodeDeploy invokes a hook asynchronously and fails the deployment when no status comes back; a dead-letter queue would hold an event nobody can replay.
  #checkov:skip=CKV_AWS_117:The hooks call only AWS APIs (Lambda, CodeDeploy, CloudWatch, Step Functions) and reach no private network; a VPC would add NAT or endpoints and nothing else.
  #checkov:skip=CKV_AWS_272:The deployer publishes the hooks' code from the same reproducible, checksum-verified release as the functions (CodeSha256 checked end to end); there is no signing profile in this system.
  for_each = local.hooks

  function_name    = each.value.name
  description      = "CodeDeploy ${each.value.event} hook of ${var.name_prefix}."
  role             = aws_iam_role.hook[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.placeholder
  source_code_hash = filebase64sha256(local.placeholder)
  memory_size      = var.hook_memory_mb
  timeout          = var.hook_timeout_seconds
  kms_key_arn      = aws_kms_key.this.arn
  # No version: CodeDeploy invokes a hook's $LATEST, where the deployer ships its code.
  publish = false

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.hook_environment[each.key]
  }

  tracing_config {
    mode = var.enable_tracing ? "Active" : "PassThrough"
  }

  tags = local.tags

  # The deployer owns the hooks' code after creation.
  lifecycle {
    ignore_changes = [filename, source_code_hash]

    precondition {
      condition     = length(jsonencode(local.hook_environment[each.key])) <= 4096
      error_message = "The ${each.value.name} environment is ${length(jsonencode(local.hook_environment[each.key]))} bytes, over Lambda's 4 KB: shorten functions.*.hook_events (or smoke_test.input)."
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.hook]
}
