# One least-privilege role per function and one for the state machine. A wildcard
# resource appears only where the service has no resource-level permissions; each is
# commented.

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = "Runs the ETL ${each.key} function."
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = local.tags
}

locals {
  bucket_arn = { for b in local.buckets : b => aws_s3_bucket.this[b].arn }
  # What each function may do to the data, beyond logs, tracing and the key.
  function_data_statements = {
    extract = [
      { actions = ["s3:ListBucket"], resources = [local.bucket_arn["raw"]] },
      { actions = ["dynamodb:PutItem", "dynamodb:GetItem"], resources = [aws_dynamodb_table.runs.arn] },
    ]
    transform = [
      { actions = ["s3:GetObject"], resources = ["${local.bucket_arn["raw"]}/*"] },
      { actions = ["s3:PutObject"], resources = ["${local.bucket_arn["staging"]}/*", "${local.bucket_arn["quarantine"]}/*"] },
    ]
    load = [
      { actions = ["s3:GetObject"], resources = ["${local.bucket_arn["staging"]}/*"] },
      { actions = ["s3:PutObject"], resources = ["${local.bucket_arn["curated"]}/*"] },
      { actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.runs.arn] },
    ]
    compensate = [
      { actions = ["s3:ListBucket"], resources = [local.bucket_arn["staging"], local.bucket_arn["curated"]] },
      { actions = ["s3:DeleteObject"], resources = ["${local.bucket_arn["staging"]}/*", "${local.bucket_arn["curated"]}/*"] },
      { actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.runs.arn] },
      { actions = ["sns:Publish"], resources = [aws_sns_topic.alerts.arn] },
    ]
  }
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.functions[each.key].arn}:*"]
  }

  # Only with tracing on: Lambda sends a function's traces with its role.
  dynamic "statement" {
    for_each = var.enable_tracing ? [true] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"] # X-Ray has no resource-level permissions.
    }
  }

  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  dynamic "statement" {
    for_each = local.function_data_statements[each.key]
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "etl-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

data "aws_iam_policy_document" "states_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name_prefix}-etl-state-machine"
  description        = "Runs the ETL state machine."
  assume_role_policy = data.aws_iam_policy_document.states_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "InvokeLiveAliases"
    actions   = ["lambda:InvokeFunction"]
    resources = [for f in local.functions : aws_lambda_alias.live[f].arn]
  }

  statement {
    sid = "ExecutionLogs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"] # Log delivery for Step Functions has no resource-level permissions.
  }

  dynamic "statement" {
    for_each = var.enable_state_machine_tracing ? [true] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
      resources = ["*"] # X-Ray has no resource-level permissions.
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "etl-state-machine"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}
