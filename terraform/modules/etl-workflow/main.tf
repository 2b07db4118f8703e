# The ETL workflow of one account: four Rust Lambda functions behind `live` aliases,
# a Step Functions saga over them that runs one release per execution, its buckets,
# run ledger, alert topic, logs and the per-function alarms the deployment groups watch.

data "aws_caller_identity" "this" {}
data "aws_region" "this" {}
data "aws_partition" "this" {}

locals {
  account   = data.aws_caller_identity.this.account_id
  region    = data.aws_region.this.name
  partition = data.aws_partition.this.partition
  functions = toset(["extract", "transform", "load", "compensate"])
  # Every function is created from this placeholder, which fails any invocation with
  # "not released yet: run deployer"; the deployer ships the real code. It is part of
  # the module, so a plan needs no build (placeholder/bootstrap is its source).
  placeholder = "${path.module}/placeholder/bootstrap.zip"
  buckets     = toset(["raw", "staging", "curated", "quarantine"])
  tags        = merge(var.tags, { workload = "etl", module = "etl-workflow" })
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
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
    }
  }

  statement {
    sid       = "AlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # In a key policy, "*" is this key.
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: ETL data, ledger, alerts and logs."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-etl"
  target_key_id = aws_kms_key.this.key_id
}

# --- buckets ----------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV2_AWS_62:Nothing reacts to objects landing: a run is started by date (schedule or on demand) and lists raw/dt=<date>/ itself.
  #checkov:skip=CKV_AWS_18:Object access is audited with CloudTrail data events (the organization trail), which name the caller; server access logs would need a log bucket per account and are best effort.
  #checkov:skip=CKV_AWS_144:Single-region workload: functions, state machine and ledgers live in one region, so a replica alone would not keep the workflow running in a regional outage; versioning guards against deletion and overwrite.
  for_each = local.buckets

  bucket        = "${var.name_prefix}-${each.key}-${local.account}"
  force_destroy = var.force_destroy_buckets
  tags          = merge(local.tags, { data = each.key })
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.tls_only[each.key].json
}

# Replaced and deleted versions are kept for noncurrent_version_days, so that an
# overwrite or a delete can be undone, and then expire.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = toset(["raw", "curated", "quarantine"])

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# Staged output is only needed until Load publishes it.
resource "aws_s3_bucket_lifecycle_configuration" "staging" {
  bucket = aws_s3_bucket.this["staging"].id

  rule {
    id     = "expire-staged-output"
    status = "Enabled"
    filter {}
    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# --- run ledger and alerts ---------------------------------------------------------

resource "aws_dynamodb_table" "runs" {
  name         = "${var.name_prefix}-runs"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "run_id"

  attribute {
    name = "run_id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
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

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

# --- functions ---------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "functions" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Step Functions invokes the functions synchronously and handles failure itself (Retry, Catch to Compensate); a dead-letter queue applies only to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs (S3, DynamoDB, SNS) and reach no private network; a VPC would add NAT or endpoints and nothing else.
  #checkov:skip=CKV_AWS_173:The environment holds only resource names and flags, never a secret; Lambda encrypts it at rest with its own key, and a customer key would make every release depend on a KMS grant the deploy role does not hold.
  #checkov:skip=CKV_AWS_272:The deployer publishes the code from a reproducible, checksum-verified release (CodeSha256 checked end to end); there is no signing profile in this system.
  for_each = local.functions

  function_name    = "${var.name_prefix}-${each.key}"
  description      = "ETL ${each.key} (${var.name_prefix})."
  role             = aws_iam_role.function[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [lookup(var.function_architectures, each.key, var.architecture)]
  filename         = local.placeholder
  source_code_hash = filebase64sha256(local.placeholder)
  memory_size      = lookup(var.memory_mb, each.key, 256)
  timeout          = var.timeout_seconds
  # No version behind the deployer's back: the alias starts on $LATEST, and the
  # deployer's first release publishes the real code and points live at it.
  publish = false

  reserved_concurrent_executions = each.key == "transform" ? var.reserved_concurrency : -1

  environment {
    variables = merge(var.environment_variables, {
      RAW_BUCKET            = aws_s3_bucket.this["raw"].bucket
      STAGING_BUCKET        = aws_s3_bucket.this["staging"].bucket
      CURATED_BUCKET        = aws_s3_bucket.this["curated"].bucket
      QUARANTINE_BUCKET     = aws_s3_bucket.this["quarantine"].bucket
      LEDGER_TABLE          = aws_dynamodb_table.runs.name
      ALERT_TOPIC_ARN       = aws_sns_topic.alerts.arn
      BATCH_MAX_BYTES       = tostring(var.batch_max_bytes)
      LOG_LEVEL             = var.log_level
      ALLOW_FAULT_INJECTION = tostring(var.allow_fault_injection)
    })
  }

  tracing_config {
    mode = var.enable_tracing ? "Active" : "PassThrough"
  }

  tags = local.tags

  # The deployer owns the code and the versions after creation. `publish` is not
  # ignored: a function created with publish = true would otherwise keep publishing
  # a version at each configuration change, one `live` never points to.
  lifecycle {
    ignore_changes = [filename, source_code_hash]
  }

  depends_on = [aws_cloudwatch_log_group.functions, aws_iam_role_policy.function]
}

resource "aws_lambda_alias" "live" {
  for_each = local.functions

  name          = "live"
  description   = "What the state machine invokes; the deployer shifts it with CodeDeploy."
  function_name = aws_lambda_function.this[each.key].function_name
  # $LATEST (the placeholder) until the deployer's first release publishes a version
  # and moves the alias to it; from then on only the deployer moves it.
  function_version = aws_lambda_function.this[each.key].version

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

# --- the state machine ---------------------------------------------------------------

resource "aws_cloudwatch_log_group" "state_machine" {
  name              = "/aws/vendedlogs/states/${var.name_prefix}-etl"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_sfn_state_machine" "this" {
  name     = "${var.name_prefix}-etl"
  role_arn = aws_iam_role.state_machine.arn
  type     = "STANDARD"
  # Every Task invokes "<unqualified function ARN>:<qualifier>", the qualifier chosen
  # once per execution from the release ledger's routing record (a version of the
  # release in flight) or "live" when none is (README: "One execution, one release").
  definition = templatefile("${path.module}/state-machine.asl.json", {
    extract         = aws_lambda_function.this["extract"].arn
    transform       = aws_lambda_function.this["transform"].arn
    load            = aws_lambda_function.this["load"].arn
    compensate      = aws_lambda_function.this["compensate"].arn
    release_table   = var.release_ledger.table_name
    max_concurrency = var.map_max_concurrency
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = var.execution_log_level == "ALL"
    level                  = var.execution_log_level
  }

  dynamic "tracing_configuration" {
    for_each = var.enable_state_machine_tracing ? [true] : []
    content {
      enabled = true
    }
  }

  tags = local.tags
}

# --- alarms per function, for the deployment groups --------------------------------------
# The resource keeps the address `live` it had when the alarms watched the live alias
# alone, so that existing state and references stay valid.

locals {
  alarm_kinds = {
    errors       = { metric = "Errors", statistic = "Sum", extended = null, threshold = 1, comparison = "GreaterThanOrEqualToThreshold" }
    throttles    = { metric = "Throttles", statistic = "Sum", extended = null, threshold = 1, comparison = "GreaterThanOrEqualToThreshold" }
    p99-duration = { metric = "Duration", statistic = null, extended = "p99", threshold = var.p99_duration_threshold_ms, comparison = "GreaterThanThreshold" }
  }
  alarms = { for pair in setproduct(local.functions, keys(local.alarm_kinds)) : "${pair[0]}-${pair[1]}" => { function = pair[0], kind = pair[1] } }
}

resource "aws_cloudwatch_metric_alarm" "live" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = "${local.alarm_kinds[each.value.kind].metric} of ${var.name_prefix}-${each.value.function}, every version and alias. Stops and rolls back its deployments."
  namespace           = "AWS/Lambda"
  metric_name         = local.alarm_kinds[each.value.kind].metric
  statistic           = local.alarm_kinds[each.value.kind].statistic
  extended_statistic  = local.alarm_kinds[each.value.kind].extended
  period              = 60
  evaluation_periods  = 1
  threshold           = local.alarm_kinds[each.value.kind].threshold
  comparison_operator = local.alarm_kinds[each.value.kind].comparison
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  # FunctionName alone: Lambda publishes every invocation under it, whatever the
  # qualifier, while Resource = "<function>:live" counts only invokes through the alias
  # (Lambda Developer Guide, "Types of metrics for Lambda functions", dimensions). The
  # state machine invokes the versions of the release it drew ("<function>:7"), so an
  # alarm on the alias alone would never see a canary's workflow traffic.
  dimensions = {
    FunctionName = aws_lambda_function.this[each.value.function].function_name
  }
  tags = local.tags
}
