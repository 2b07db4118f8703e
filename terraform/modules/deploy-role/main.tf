# The role the deployer assumes in one workload account: trusted only by the tooling
# account's pipeline roles and by GitHub OIDC tokens of one repository and one
# environment, allowed exactly the calls the deployer makes (deployer/src/cloud.rs,
# deployer/src/ledger.rs) on exactly this environment's functions, hooks, deployment
# groups, alarms and release ledger. No wildcard action; a wildcard resource only for
# the actions IAM authorizes on nothing else (tests/e2e/iam checks every grant against
# the Service Authorization Reference and the calls in the source).

data "aws_caller_identity" "this" {}
data "aws_region" "this" {}
data "aws_partition" "this" {}

locals {
  account   = data.aws_caller_identity.this.account_id
  region    = data.aws_region.this.name
  partition = data.aws_partition.this.partition
  tags      = merge(var.tags, { module = "deploy-role" })

  # "<arn>:*" is every qualified form of a function: its numbered versions and its
  # live alias. The unqualified ARN is the function itself ($LATEST).
  function_versions       = [for arn in var.function_arns : "${arn}:*"]
  function_and_qualifiers = flatten([for arn in var.function_arns : [arn, "${arn}:*"]])

  codedeploy             = "arn:${local.partition}:codedeploy:${local.region}:${local.account}"
  application_arn        = "${local.codedeploy}:application:${var.application_name}"
  deployment_group_arns  = [for g in var.deployment_group_names : "${local.codedeploy}:deploymentgroup:${var.application_name}/${g}"]
  deployment_config_arns = [for c in var.deployment_config_names : "${local.codedeploy}:deploymentconfig:${c}"]

  github_subject = var.oidc_provider_arn == null ? null : "repo:${var.github_repository}:environment:${var.github_environment}"

  role_arn = "arn:${local.partition}:iam::${local.account}:role/${var.name}"

  # A state machine ARN's name is its 7th field; its executions are
  # arn:...:execution:<name>:<execution>.
  workflow_executions = var.workflow == null ? null : "arn:${local.partition}:states:${local.region}:${local.account}:execution:${split(":", var.workflow.state_machine_arn)[6]}:*"

  # The differential shadow run's reads (null: not granted): the curated and the
  # quarantine bucket of the etl-workflow module.
  curated_bucket_arn    = try(var.workflow.curated_bucket_arn, null)
  quarantine_bucket_arn = try(var.workflow.quarantine_bucket_arn, null)

  # Every resource the policy names, for the same-account check below (IAM roles and
  # dashboards are global: their ARNs carry no region).
  review_arns = var.review == null ? [] : [var.review.state_machine_arn, var.review.run_ledger_arn, var.review.release_log_group_arn]
  global_arns = var.review == null ? [] : concat([var.review.dashboard_arn], var.review.role_arns)
  granted_arns = concat(
    var.function_arns, var.hook_function_arns, var.alarm_arns, [var.release_table_arn], var.kms_key_arns,
    var.workflow == null ? [] : [var.workflow.state_machine_arn, var.workflow.data_key_arn],
    local.review_arns,
  )
  foreign_arns = concat(
    [for arn in local.granted_arns : arn if split(":", arn)[4] != local.account || split(":", arn)[3] != local.region],
    [for arn in local.global_arns : arn if split(":", arn)[4] != local.account],
  )
}

# --- who may assume it ------------------------------------------------------------

data "aws_iam_policy_document" "trust" {
  dynamic "statement" {
    for_each = length(var.trusted_role_arns) > 0 ? [true] : []
    content {
      sid     = "ToolingPipelineRoles"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = var.trusted_role_arns
      }
    }
  }

  dynamic "statement" {
    for_each = var.oidc_provider_arn == null ? [] : [true]
    content {
      sid     = "GitHubEnvironment"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [var.oidc_provider_arn]
      }
      # A token minted for AWS STS ...
      condition {
        test     = "StringEquals"
        variable = "token.actions.githubusercontent.com:aud"
        values   = ["sts.amazonaws.com"]
      }
      # ... by a job of this repository bound to this GitHub environment, exactly: no
      # branch, pull request or other environment of the repository matches.
      condition {
        test     = "StringEquals"
        variable = "token.actions.githubusercontent.com:sub"
        values   = [local.github_subject]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "Assumed by the deployer to release ${var.application_name}: tooling pipeline roles${var.oidc_provider_arn == null ? "" : " and GitHub environment ${var.github_environment}"}."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration_seconds
  tags                 = local.tags
}

# --- what it may do ---------------------------------------------------------------

data "aws_iam_policy_document" "this" {
  # deploy / promote / rollback / status: read the function and its live alias, upload
  # code to $LATEST, publish a version, move the alias back on rollback, list versions.
  statement {
    sid = "ReleaseFunctions"
    actions = [
      "lambda:GetAlias",
      "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionCode",
      "lambda:PublishVersion",
      "lambda:UpdateAlias",
      "lambda:ListVersionsByFunction",
    ]
    resources = local.function_and_qualifiers
  }

  # prune deletes old numbered versions, always with a qualifier. Granted on the
  # qualified ARNs only, so the role cannot delete a function itself; Lambda refuses to
  # delete a version an alias points to, and DeleteFunction does not delete aliases.
  statement {
    sid       = "PruneVersions"
    actions   = ["lambda:DeleteFunction"]
    resources = local.function_versions
  }

  # The hooks run the release's checks, so the deployer ships their code first. No
  # version is published: CodeDeploy invokes $LATEST.
  statement {
    sid       = "UpdateHooks"
    actions   = ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode"]
    resources = var.hook_function_arns
  }

  # A deployment a hook failed: the deployer reads the hook's verdict on it from the
  # hook's log group, since CodeDeploy records only that the hook reported Failed. The
  # group's ARN is granted in both forms IAM may evaluate it in (with and without the
  # ":*" that DescribeLogGroups appends).
  statement {
    sid     = "HookVerdicts"
    actions = ["logs:FilterLogEvents"]
    resources = flatten([for arn in var.hook_function_arns : [
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${split(":", arn)[6]}",
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${split(":", arn)[6]}:*",
    ]])
  }

  # `deployer doctor` asks IAM whether this role and the hooks' roles may make every
  # call they make: the simulator on those roles only (a role ARN is the resource).
  statement {
    sid       = "Doctor"
    actions   = ["iam:SimulatePrincipalPolicy"]
    resources = concat(["arn:${local.partition}:iam::${local.account}:role/${var.name}"], var.hook_role_arns)
  }

  # One deployment per changed function; watch it and find deployments still running
  # in a group.
  statement {
    sid = "Deployments"
    actions = [
      "codedeploy:GetDeploymentGroup",
      "codedeploy:CreateDeployment",
      "codedeploy:GetDeployment",
      "codedeploy:ListDeployments",
    ]
    resources = local.deployment_group_arns
  }

  # Find a deployment's target and read it, stop the deployment (roll back). The
  # Service Authorization Reference lists no resource type for these actions, so IAM
  # authorizes them only on "*"; CodeDeploy's own permissions reference gives a
  # deployment group ARN for them. "*" is right under both readings (it covers the
  # group), so they stand apart here. Deployment ids are not guessable and belong to
  # this account's groups only.
  statement {
    sid       = "DeploymentsWithoutResourceLevelPermissions"
    actions   = ["codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget", "codedeploy:StopDeployment"]
    resources = ["*"]
  }

  statement {
    sid       = "DeploymentConfigs"
    actions   = ["codedeploy:GetDeploymentConfig"]
    resources = local.deployment_config_arns
  }

  # CreateDeployment with an inline AppSpec registers it as an application revision.
  statement {
    sid       = "Revisions"
    actions   = ["codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"]
    resources = [local.application_arn]
  }

  dynamic "statement" {
    for_each = length(var.alarm_arns) > 0 ? [true] : []
    content {
      sid       = "WatchAlarms"
      actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"]
      resources = var.alarm_arns
    }
  }

  # Each canary or linear step's evidence: the old and the new version's invocations,
  # errors and durations. GetMetricData has no resource-level permission (the Service
  # Authorization Reference lists no resource type for it): "*".
  statement {
    sid       = "StepEvidence"
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  # The evidence traffic: dry runs of the workflow pinned to the new release (replay)
  # and, for the judge's pairs, the same input pinned to the old one, on the newest raw
  # partitions or on a synthetic one the role writes. The definition says which state
  # runs which function; a pair's histories give each side's times and answers.
  dynamic "statement" {
    for_each = var.workflow == null ? [] : [true]
    content {
      sid       = "ReplayRuns"
      actions   = ["states:StartExecution", "states:DescribeStateMachine"]
      resources = [var.workflow.state_machine_arn]
    }
  }

  dynamic "statement" {
    for_each = var.workflow == null ? [] : [true]
    content {
      sid       = "WatchReplayRuns"
      actions   = ["states:DescribeExecution", "states:GetExecutionHistory"]
      resources = [local.workflow_executions]
    }
  }

  # Which days the raw bucket holds: the top-level dt= prefixes only, never a listing
  # of the objects themselves.
  dynamic "statement" {
    for_each = var.workflow == null ? [] : [true]
    content {
      sid       = "ListRawPartitions"
      actions   = ["s3:ListBucket"]
      resources = [var.workflow.raw_bucket_arn]
      condition {
        test     = "StringEquals"
        variable = "s3:prefix"
        values   = ["dt="]
      }
      condition {
        test     = "StringEquals"
        variable = "s3:delimiter"
        values   = ["/"]
      }
    }
  }

  # Synthetic traffic's input: one partition on a date no real run has
  # (deployer/src/engine/replay.rs, SYNTHETIC_DATE).
  dynamic "statement" {
    for_each = var.workflow == null ? [] : [true]
    content {
      sid       = "WriteSyntheticPartition"
      actions   = ["s3:PutObject"]
      resources = ["${var.workflow.raw_bucket_arn}/dt=2000-01-01/*"]
    }
  }

  # The raw bucket's key, only as S3 uses it to encrypt the synthetic partition.
  dynamic "statement" {
    for_each = var.workflow == null ? [] : [true]
    content {
      sid       = "SyntheticPartitionKey"
      actions   = ["kms:GenerateDataKey"]
      resources = [var.workflow.data_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  # The differential shadow run: before traffic moves, the deployer runs the workflow
  # in dry-run (pinned to the new release) for the day of the last real run, then
  # compares what the dry run wrote under shadow/ with what production wrote that day
  # (functions/etl-functions/src/layout.rs). It only reads both: no statement here
  # writes, deletes or lists anything else in these buckets.

  # Curated partitions: the newest day (prefix dt=, delimiter /: "dt=*" matches "dt="
  # itself, as * matches nothing too), then that day's production objects (dt=<day>/)
  # and the dry run's (shadow/dt=<day>/). A listing without one of these prefixes (the
  # whole bucket, staging-like keys) is refused.
  dynamic "statement" {
    for_each = local.curated_bucket_arn == null ? [] : [local.curated_bucket_arn]
    content {
      sid       = "ShadowDiffListCurated"
      actions   = ["s3:ListBucket"]
      resources = [statement.value]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["dt=*", "shadow/dt=*"]
      }
    }
  }

  # The curated part-NNNNN.jsonl files and _SUCCESS markers of both, read to compare.
  dynamic "statement" {
    for_each = local.curated_bucket_arn == null ? [] : [local.curated_bucket_arn]
    content {
      sid       = "ShadowDiffReadCurated"
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/dt=*", "${statement.value}/shadow/dt=*"]
    }
  }

  # Quarantined batches of the day: production's (quarantine/dt=<day>/) and the dry
  # run's (shadow/quarantine/dt=<day>/), listed without a delimiter.
  dynamic "statement" {
    for_each = local.quarantine_bucket_arn == null ? [] : [local.quarantine_bucket_arn]
    content {
      sid       = "ShadowDiffListQuarantine"
      actions   = ["s3:ListBucket"]
      resources = [statement.value]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["quarantine/dt=*", "shadow/quarantine/dt=*"]
      }
    }
  }

  # The quarantined batch-NNNNN.jsonl files of both, read to compare.
  dynamic "statement" {
    for_each = local.quarantine_bucket_arn == null ? [] : [local.quarantine_bucket_arn]
    content {
      sid       = "ShadowDiffReadQuarantine"
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/quarantine/dt=*", "${statement.value}/shadow/quarantine/dt=*"]
    }
  }

  # The curated and quarantine buckets are SSE-KMS with the workflow's data key (the
  # etl-workflow module's one key): reading their objects needs kms:Decrypt, only as S3
  # uses it on the role's behalf. No GenerateDataKey: the shadow diff writes nothing.
  dynamic "statement" {
    for_each = local.curated_bucket_arn == null && local.quarantine_bucket_arn == null ? [] : [var.workflow.data_key_arn]
    content {
      sid       = "ShadowDiffKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  # The release ledger and lock: records, history, the conditional lock item.
  statement {
    sid = "ReleaseLedger"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
    ]
    resources = [var.release_table_arn]
  }

  # `deployer review`, read only: the functions' resource policies (nobody outside
  # may invoke them), the workflow's definition, the dashboard, the run ledger's
  # table, and the policies of the workload's roles and of this one.
  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReviewFunctions"
      actions   = ["lambda:GetPolicy"]
      resources = var.function_arns
    }
  }

  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReviewWorkflow"
      actions   = ["states:DescribeStateMachine"]
      resources = [statement.value.state_machine_arn]
    }
  }

  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReviewDashboard"
      actions   = ["cloudwatch:GetDashboard"]
      resources = [statement.value.dashboard_arn]
    }
  }

  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReviewRunLedger"
      actions   = ["dynamodb:DescribeTable"]
      resources = [statement.value.run_ledger_arn]
    }
  }

  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReviewRoles"
      actions   = ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"]
      resources = distinct(concat(statement.value.role_arns, [local.role_arn]))
    }
  }

  # Log groups' retention. The Service Authorization Reference lists no resource type
  # for logs:DescribeLogGroups, so IAM authorizes it only on "*"; it reads names and
  # settings, never events.
  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReviewLogGroups"
      actions   = ["logs:DescribeLogGroups"]
      resources = ["*"]
    }
  }

  # One event per finished release, on the release log's own stream.
  dynamic "statement" {
    for_each = var.review == null ? [] : [var.review]
    content {
      sid       = "ReleaseLog"
      actions   = ["logs:PutLogEvents"]
      resources = ["${statement.value.release_log_group_arn}:log-stream:${statement.value.release_log_stream}"]
    }
  }

  # The ledger's key, only as DynamoDB uses it on the role's behalf.
  statement {
    sid       = "ReleaseLedgerKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = var.kms_key_arns
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "deployer"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json

  lifecycle {
    precondition {
      condition     = length(local.foreign_arns) == 0
      error_message = "The deploy role grants only resources of its own account and region (${local.account}, ${local.region}); these are elsewhere: ${join(", ", local.foreign_arns)}."
    }
  }
}
