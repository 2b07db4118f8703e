# The CodeDeploy service role and one least-privilege role per hook. Every resource is
# named; a wildcard resource appears only where the service has no resource-level
# permissions, and each is commented.

locals {
  # A function and its qualified forms (versions, the live alias): "<arn>:*".
  function_and_qualifiers = flatten([for arn in values(local.function_arns) : [arn, "${arn}:*"]])
}

# --- CodeDeploy service role ----------------------------------------------------------

data "aws_iam_policy_document" "codedeploy_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "codedeploy" {
  name               = "${var.name_prefix}-codedeploy"
  description        = "CodeDeploy shifts the live aliases of ${var.name_prefix}'s functions and runs their hooks."
  assume_role_policy = data.aws_iam_policy_document.codedeploy_trust.json
  tags               = local.tags
}

# What AWSCodeDeployRoleForLambdaLimited grants, narrowed to this environment's
# functions, hooks and alarms (the managed policy has Resource "*" and
# CodeDeployHook_*; S3 is left out because the AppSpec is sent inline).
data "aws_iam_policy_document" "codedeploy" {
  statement {
    sid       = "ShiftAliases"
    actions   = ["lambda:GetAlias", "lambda:UpdateAlias"]
    resources = local.function_and_qualifiers
  }

  # Provisioned concurrency is configured on an alias or version only: the reference
  # lists only qualified function ARNs for it.
  statement {
    sid       = "ReadProvisionedConcurrency"
    actions   = ["lambda:GetProvisionedConcurrencyConfig"]
    resources = [for arn in values(local.function_arns) : "${arn}:*"]
  }

  statement {
    sid       = "InvokeHooks"
    actions   = ["lambda:InvokeFunction"]
    resources = values(local.hook_arns)
  }

  dynamic "statement" {
    for_each = length(local.alarm_arns) > 0 ? [true] : []
    content {
      sid       = "ReadAlarms"
      actions   = ["cloudwatch:DescribeAlarms"]
      resources = local.alarm_arns
    }
  }
}

resource "aws_iam_role_policy" "codedeploy" {
  name   = "codedeploy-lambda"
  role   = aws_iam_role.codedeploy.id
  policy = data.aws_iam_policy_document.codedeploy.json
}

# --- hook roles -------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "hook" {
  for_each = local.hooks

  name               = each.value.name
  description        = "Runs the ${each.value.event} hook of ${var.name_prefix}."
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = local.tags
}

locals {
  # What each hook may do beyond logs, tracing, the key and its lifecycle status.
  hook_statements = {
    pre_traffic = [
      # The hook invokes the deployment's target version directly ("<function>:<n>"),
      # which "<function>:*" covers; not the unqualified function, so not $LATEST by
      # name. The qualifier also matches the live alias: invoking that is harmless.
      { sid = "InvokeVersions", actions = ["lambda:InvokeFunction"], resources = [for arn in values(local.function_arns) : "${arn}:*"] },
    ]
    post_traffic = concat(
      [
        { sid = "ReadAliases", actions = ["lambda:GetAlias"], resources = local.function_and_qualifiers },
        # CloudWatch has no resource-level permissions for metric reads.
        { sid = "ReadMetrics", actions = ["cloudwatch:GetMetricStatistics"], resources = ["*"] },
      ],
      length(local.alarm_arns) == 0 ? [] : [
        { sid = "ReadAlarms", actions = ["cloudwatch:DescribeAlarms"], resources = local.alarm_arns },
      ],
      var.smoke_test == null ? [] : [
        { sid = "StartSmokeTest", actions = ["states:StartExecution"], resources = [var.smoke_test.state_machine_arn] },
        {
          sid       = "WatchSmokeTest"
          actions   = ["states:DescribeExecution"]
          resources = ["${replace(var.smoke_test.state_machine_arn, ":stateMachine:", ":execution:")}:*"]
        },
      ],
    )
  }
}

data "aws_iam_policy_document" "hook" {
  for_each = local.hooks

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  dynamic "statement" {
    for_each = var.enable_tracing ? [true] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"] # X-Ray has no resource-level permissions.
    }
  }

  statement {
    sid       = "DecryptSettings"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  # The hook learns the deployment's function, alias and versions from its target
  # (ListDeploymentTargets, GetDeploymentTarget) or from the revision
  # (GetDeployment, GetApplicationRevision), and reports its verdict.
  statement {
    sid       = "ReadDeployments"
    actions   = ["codedeploy:GetDeployment"]
    resources = local.deployment_group_arns
  }

  statement {
    sid       = "ReadRevisions"
    actions   = ["codedeploy:GetApplicationRevision"]
    resources = [local.application_arn]
  }

  # The Service Authorization Reference lists no resource type for these three, so IAM
  # authorizes them only on "*"; CodeDeploy's own permissions reference gives a
  # deployment group ARN. "*" is right under both readings; the deployment and hook
  # execution ids are handed to this hook by CodeDeploy alone.
  statement {
    sid = "DeploymentTargetsAndStatus"
    actions = [
      "codedeploy:ListDeploymentTargets",
      "codedeploy:GetDeploymentTarget",
      "codedeploy:PutLifecycleEventHookExecutionStatus",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.hook_statements[each.key]
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "hook" {
  for_each = local.hooks

  name   = "traffic-hook"
  role   = aws_iam_role.hook[each.key].id
  policy = data.aws_iam_policy_document.hook[each.key].json
}
