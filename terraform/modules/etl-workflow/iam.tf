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

locals {
  release_table_arn = "arn:${local.partition}:dynamodb:${local.region}:${local.account}:table/${var.release_ledger.table_name}"
}

data "aws_iam_policy_document" "state_machine" {
  # Every Task invokes a qualified ARN: a version of the release the execution drew
  # ("<function>:7") or the live alias ("<function>:live"). "<function>:*" covers
  # both; the unqualified function ($LATEST) stays out (Lambda Developer Guide,
  # "Fine-tuning the Resources and Conditions sections of policies": a function
  # action is scoped by function, version or alias ARN).
  statement {
    sid       = "InvokeVersionsAndLive"
    actions   = ["lambda:InvokeFunction"]
    resources = [for f in local.functions : "${aws_lambda_function.this[f].arn}:*"]
  }

  # The routing record, read once per execution (dynamodb:getItem integration; Step
  # Functions Developer Guide, "IAM policies for DynamoDB"), and nothing else of the
  # ledger: LeadingKeys limits the read to the partition "routing" (DynamoDB Developer
  # Guide, "Using IAM policy conditions for fine-grained access control").
  statement {
    sid       = "ReadRoutingRecord"
    actions   = ["dynamodb:GetItem"]
    resources = [local.release_table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = ["routing"]
    }
  }

  # The ledger is encrypted with the traffic-shifting module's key: DynamoDB decrypts
  # with the reader's permission, and only on its behalf (kms:ViaService), as the
  # deploy role is granted (KMS Developer Guide, "How Amazon DynamoDB uses AWS KMS").
  statement {
    sid       = "ReadRoutingRecordKey"
    actions   = ["kms:Decrypt"]
    resources = [var.release_ledger.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
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
