# The deploy role's safety properties, against a mocked provider (no cloud): who may
# assume it, that it grants no wildcard, and that bad input fails at plan time.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "333333333333" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::333333333333:role/deployer" }
  }
  # The assertions read each document's statements; its rendered JSON only has to parse.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  function_arns = [
    "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-extract",
    "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-load",
  ]
  hook_function_arns = [
    "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-pre-traffic",
    "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-post-traffic",
  ]
  application_name        = "etl-prod"
  deployment_group_names  = ["etl-prod-extract", "etl-prod-load"]
  deployment_config_names = ["CodeDeployDefault.LambdaCanary10Percent5Minutes"]
  alarm_arns = [
    "arn:aws:cloudwatch:us-east-1:333333333333:alarm:etl-prod-extract-errors",
    "arn:aws:cloudwatch:us-east-1:333333333333:alarm:etl-prod-load-errors",
  ]
  release_table_arn = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-releases"
  kms_key_arns      = ["arn:aws:kms:us-east-1:333333333333:key/00000000-0000-0000-0000-000000000000"]
  trusted_role_arns = [
    "arn:aws:iam::444444444444:role/etl-release-promote-prod",
    "arn:aws:iam::444444444444:role/github-actions-prod",
  ]
  oidc_provider_arn  = "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com"
  github_repository  = "acme/serverless-etl-delivery"
  github_environment = "prod"
}

run "no_wildcard_action_and_no_wildcard_resource" {
  command = plan

  assert {
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.this.statement : [
      for a in s.actions : a != "*" && !endswith(a, ":*") && !strcontains(a, "*")
    ]]))
    error_message = "no statement grants a wildcard action (\"*\", \"service:*\" or a pattern)"
  }
  assert {
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.this.statement : [
      for r in s.resources : r != "*" || (s.sid == "DeploymentsWithoutResourceLevelPermissions" && s.actions == toset(["codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget", "codedeploy:StopDeployment"])) || (s.sid == "StepEvidence" && s.actions == toset(["cloudwatch:GetMetricData"]))
    ]]))
    error_message = "\"*\" only for ListDeploymentTargets, GetDeploymentTarget, StopDeployment and GetMetricData, which IAM authorizes on nothing narrower"
  }
  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.this.statement : tolist(s.actions)])) == toset([
      "lambda:GetAlias", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:PublishVersion",
      "lambda:UpdateAlias", "lambda:ListVersionsByFunction", "lambda:DeleteFunction",
      "codedeploy:GetDeploymentGroup", "codedeploy:CreateDeployment", "codedeploy:GetDeployment",
      "codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget", "codedeploy:StopDeployment", "codedeploy:ListDeployments",
      "codedeploy:GetDeploymentConfig", "codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision",
      "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory", "cloudwatch:GetMetricData",
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
      "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
      "iam:SimulatePrincipalPolicy", "logs:FilterLogEvents",
    ])
    error_message = "the role grants exactly the calls the deployer makes"
  }
}

run "each_action_on_exactly_its_resources" {
  command = plan

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "PruneVersions" && s.resources == toset([
      "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-extract:*",
      "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-load:*",
    ])])
    error_message = "DeleteFunction is granted on qualified ARNs (versions) only, never on a function itself"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "UpdateHooks" && s.resources == toset([
      "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-pre-traffic",
      "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-post-traffic",
    ]) && s.actions == toset(["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode"])])
    error_message = "the hooks' code may be read and updated, nothing else"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "HookVerdicts" && s.resources == toset([
      "arn:aws:logs:us-east-1:333333333333:log-group:/aws/lambda/etl-prod-pre-traffic",
      "arn:aws:logs:us-east-1:333333333333:log-group:/aws/lambda/etl-prod-pre-traffic:*",
      "arn:aws:logs:us-east-1:333333333333:log-group:/aws/lambda/etl-prod-post-traffic",
      "arn:aws:logs:us-east-1:333333333333:log-group:/aws/lambda/etl-prod-post-traffic:*",
    ]) && s.actions == toset(["logs:FilterLogEvents"])])
    error_message = "the hooks' verdicts are read from their own log groups only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "Deployments" && s.resources == toset([
      "arn:aws:codedeploy:us-east-1:333333333333:deploymentgroup:etl-prod/etl-prod-extract",
      "arn:aws:codedeploy:us-east-1:333333333333:deploymentgroup:etl-prod/etl-prod-load",
    ])])
    error_message = "deployments are started, read and listed in this application's groups only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "DeploymentConfigs" && s.resources == toset([
      "arn:aws:codedeploy:us-east-1:333333333333:deploymentconfig:CodeDeployDefault.LambdaCanary10Percent5Minutes",
    ])])
    error_message = "the deployment config is read by its ARN"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "Revisions" && s.resources == toset([
      "arn:aws:codedeploy:us-east-1:333333333333:application:etl-prod",
    ])])
    error_message = "revisions are registered in this application only"
  }
  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "WatchAlarms" && s.actions == toset(["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"]) && s.resources == toset(var.alarm_arns)])
    error_message = "the alarms are read by ARN"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ReleaseLedgerKey" && s.resources == toset(var.kms_key_arns) && anytrue([
      for c in s.condition : c.test == "StringEquals" && c.variable == "kms:ViaService" && toset(c.values) == toset(["dynamodb.us-east-1.amazonaws.com"])
    ])])
    error_message = "the ledger's key is usable only through DynamoDB"
  }
}

run "the_evidence_traffic_runs_the_workflow_and_writes_only_the_synthetic_partition" {
  command = plan

  variables {
    workflow = {
      state_machine_arn = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn    = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn      = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
    }
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ReplayRuns" && s.actions == toset(["states:StartExecution", "states:DescribeStateMachine"]) && s.resources == toset([
      "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl",
    ])])
    error_message = "executions are started, and the definition read, on the workflow's state machine only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "WatchReplayRuns" && s.actions == toset(["states:DescribeExecution", "states:GetExecutionHistory"]) && s.resources == toset([
      "arn:aws:states:us-east-1:333333333333:execution:etl-prod-etl:*",
    ])])
    error_message = "only that state machine's executions are read"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ListRawPartitions" && s.resources == toset(["arn:aws:s3:::etl-prod-raw-333333333333"]) && alltrue([
      for v in ["s3:prefix", "s3:delimiter"] : anytrue([for c in s.condition : c.variable == v && c.test == "StringEquals"])
    ])])
    error_message = "the raw bucket is listed by its dt= prefixes only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "WriteSyntheticPartition" && s.actions == toset(["s3:PutObject"]) && s.resources == toset([
      "arn:aws:s3:::etl-prod-raw-333333333333/dt=2000-01-01/*",
    ])])
    error_message = "objects are written to the synthetic partition only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "SyntheticPartitionKey" && s.actions == toset(["kms:GenerateDataKey"]) && anytrue([
      for c in s.condition : c.variable == "kms:ViaService" && toset(c.values) == toset(["s3.us-east-1.amazonaws.com"])
    ])])
    error_message = "the data key is usable only through S3, to encrypt"
  }
}

run "the_shadow_diff_reads_production_and_shadow_output_and_writes_nothing" {
  command = plan

  variables {
    workflow = {
      state_machine_arn     = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn        = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn          = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
      curated_bucket_arn    = "arn:aws:s3:::etl-prod-curated-333333333333"
      quarantine_bucket_arn = "arn:aws:s3:::etl-prod-quarantine-333333333333"
    }
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ShadowDiffListCurated" && s.actions == toset(["s3:ListBucket"]) && s.resources == toset([
      "arn:aws:s3:::etl-prod-curated-333333333333",
      ]) && length(s.condition) == 1 && alltrue([for c in s.condition : c.test == "StringLike" && c.variable == "s3:prefix" && toset(c.values) == toset(["dt=*", "shadow/dt=*"])])
    ])
    error_message = "the curated bucket is listed under dt= (the days, and a day's production objects) and shadow/dt= (the dry run's) only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ShadowDiffReadCurated" && s.actions == toset(["s3:GetObject"]) && s.resources == toset([
      "arn:aws:s3:::etl-prod-curated-333333333333/dt=*",
      "arn:aws:s3:::etl-prod-curated-333333333333/shadow/dt=*",
    ]) && length(s.condition) == 0])
    error_message = "curated objects are read under dt= and shadow/dt= only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ShadowDiffListQuarantine" && s.actions == toset(["s3:ListBucket"]) && s.resources == toset([
      "arn:aws:s3:::etl-prod-quarantine-333333333333",
      ]) && length(s.condition) == 1 && alltrue([for c in s.condition : c.test == "StringLike" && c.variable == "s3:prefix" && toset(c.values) == toset(["quarantine/dt=*", "shadow/quarantine/dt=*"])])
    ])
    error_message = "the quarantine bucket is listed under quarantine/dt= and shadow/quarantine/dt= only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ShadowDiffReadQuarantine" && s.actions == toset(["s3:GetObject"]) && s.resources == toset([
      "arn:aws:s3:::etl-prod-quarantine-333333333333/quarantine/dt=*",
      "arn:aws:s3:::etl-prod-quarantine-333333333333/shadow/quarantine/dt=*",
    ]) && length(s.condition) == 0])
    error_message = "quarantined batches are read under quarantine/dt= and shadow/quarantine/dt= only"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ShadowDiffKey" && s.actions == toset(["kms:Decrypt"]) && s.resources == toset([
      "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111",
      ]) && length(s.condition) == 1 && alltrue([for c in s.condition : c.test == "StringEquals" && c.variable == "kms:ViaService" && toset(c.values) == toset(["s3.us-east-1.amazonaws.com"])])
    ])
    error_message = "the data key decrypts only through S3 for the shadow diff, and never encrypts"
  }
  assert {
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.this.statement : [
      for r in s.resources : s.actions == toset(["s3:ListBucket"]) || s.actions == toset(["s3:GetObject"]) || s.actions == toset(["kms:Decrypt"])
      if strcontains(r, "etl-prod-curated-") || strcontains(r, "etl-prod-quarantine-")
    ]]))
    error_message = "the curated and quarantine buckets are only listed and read: nothing writes or deletes there"
  }
  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.this.statement : tolist(s.actions) if startswith(s.sid, "ShadowDiff")])) == toset([
      "s3:ListBucket", "s3:GetObject", "kms:Decrypt",
    ])
    error_message = "the shadow diff lists, reads and decrypts, nothing else"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.this.statement : s if startswith(s.sid, "ShadowDiff")]) == 5
    error_message = "five shadow diff statements: list and read each bucket, and the key"
  }
}

run "without_the_output_buckets_there_is_no_shadow_diff_grant" {
  command = plan

  variables {
    workflow = {
      state_machine_arn = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn    = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn      = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
    }
  }

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.this.statement : startswith(s.sid, "ShadowDiff")])
    error_message = "no shadow diff statement without curated_bucket_arn or quarantine_bucket_arn"
  }
  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.this.statement : contains(s.actions, "s3:GetObject")])
    error_message = "without the output buckets the role reads no object"
  }
  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "ListRawPartitions"])
    error_message = "the rest of the evidence traffic's grants stay"
  }
}

run "without_a_workflow_there_is_no_shadow_diff_grant" {
  command = plan

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.this.statement : startswith(s.sid, "ShadowDiff")])
    error_message = "no shadow diff statement without a workflow"
  }
}

run "the_curated_bucket_alone_is_read_with_the_key_and_no_quarantine_grant" {
  command = plan

  variables {
    workflow = {
      state_machine_arn  = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn     = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn       = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
      curated_bucket_arn = "arn:aws:s3:::etl-prod-curated-333333333333"
    }
  }

  assert {
    condition = toset([for s in data.aws_iam_policy_document.this.statement : s.sid if startswith(s.sid, "ShadowDiff")]) == toset([
      "ShadowDiffListCurated", "ShadowDiffReadCurated", "ShadowDiffKey",
    ])
    error_message = "only the curated bucket's statements and the key's; none for the quarantine bucket"
  }
}

run "the_quarantine_bucket_alone_is_read_with_the_key_and_no_curated_grant" {
  command = plan

  variables {
    workflow = {
      state_machine_arn     = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn        = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn          = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
      quarantine_bucket_arn = "arn:aws:s3:::etl-prod-quarantine-333333333333"
    }
  }

  assert {
    condition = toset([for s in data.aws_iam_policy_document.this.statement : s.sid if startswith(s.sid, "ShadowDiff")]) == toset([
      "ShadowDiffListQuarantine", "ShadowDiffReadQuarantine", "ShadowDiffKey",
    ])
    error_message = "only the quarantine bucket's statements and the key's; none for the curated bucket"
  }
}

run "rejects_a_curated_prefix_for_a_bucket" {
  command = plan

  variables {
    workflow = {
      state_machine_arn  = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn     = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn       = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
      curated_bucket_arn = "arn:aws:s3:::etl-prod-curated-333333333333/dt=*"
    }
  }

  expect_failures = [var.workflow]
}

run "rejects_a_quarantine_bucket_name_for_an_arn" {
  command = plan

  variables {
    workflow = {
      state_machine_arn     = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      raw_bucket_arn        = "arn:aws:s3:::etl-prod-raw-333333333333"
      data_key_arn          = "arn:aws:kms:us-east-1:333333333333:key/11111111-1111-1111-1111-111111111111"
      quarantine_bucket_arn = "etl-prod-quarantine-333333333333"
    }
  }

  expect_failures = [var.workflow]
}

run "rejects_a_workflow_that_is_not_a_state_machine_and_a_bucket" {
  command = plan

  variables {
    workflow = {
      state_machine_arn = "arn:aws:states:us-east-1:333333333333:execution:etl-prod-etl:x"
      raw_bucket_arn    = "arn:aws:s3:::etl-prod-raw-333333333333/dt=*"
      data_key_arn      = "alias/etl"
    }
  }

  expect_failures = [var.workflow]
}

run "trust_is_pinned_to_the_pipeline_roles_and_one_github_environment" {
  command = plan

  assert {
    condition     = aws_iam_role.this.name == "deployer" && aws_iam_role.this.max_session_duration >= (100 + 2 * 15) * 60
    error_message = "the role is named deployer, and a session it grants directly outlasts the longest predefined deployment (100 minutes) and both hooks (15 minutes each)"
  }
  assert {
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.trust.statement : [
      for p in s.principals : [for id in p.identifiers : id != "*" && !endswith(id, ":root") && !can(regex("^[0-9]{12}$", id))]
    ]]))
    error_message = "no principal is an account root, an account id or \"*\""
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.trust.statement :
      s.actions == toset(["sts:AssumeRole"]) && one(s.principals).type == "AWS" && one(s.principals).identifiers == toset(var.trusted_role_arns)
    ])
    error_message = "exactly the listed tooling roles may assume the role"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.trust.statement :
      s.actions == toset(["sts:AssumeRoleWithWebIdentity"]) && one(s.principals).type == "Federated" && one(s.principals).identifiers == toset([var.oidc_provider_arn])
    ])
    error_message = "GitHub tokens are trusted through this account's OIDC provider"
  }
  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.trust.statement : anytrue([
      for c in s.condition : c.test == "StringEquals" && c.variable == "token.actions.githubusercontent.com:sub" && toset(c.values) == toset(["repo:acme/serverless-etl-delivery:environment:prod"])
    ]) if contains(s.actions, "sts:AssumeRoleWithWebIdentity")])
    error_message = "the OIDC subject is exactly repo:acme/serverless-etl-delivery:environment:prod"
  }
  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.trust.statement : anytrue([
      for c in s.condition : c.test == "StringEquals" && c.variable == "token.actions.githubusercontent.com:aud" && toset(c.values) == toset(["sts.amazonaws.com"])
    ]) if contains(s.actions, "sts:AssumeRoleWithWebIdentity")])
    error_message = "the OIDC audience must be sts.amazonaws.com"
  }
  assert {
    condition     = !anytrue(flatten([for s in data.aws_iam_policy_document.trust.statement : [for c in s.condition : c.test != "StringEquals"]]))
    error_message = "no StringLike (wildcard) condition in the trust"
  }
  assert {
    condition     = output.github_subject == "repo:acme/serverless-etl-delivery:environment:prod"
    error_message = "the subject is exported"
  }
}

run "without_an_oidc_provider_only_the_pipeline_may_assume" {
  command = plan
  variables {
    oidc_provider_arn  = null
    github_repository  = null
    github_environment = null
  }

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.trust.statement : contains(s.actions, "sts:AssumeRoleWithWebIdentity")])
    error_message = "no GitHub trust without a provider"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.trust.statement) == 1
    error_message = "one statement: the tooling roles"
  }
}

run "rejects_a_repository_that_is_not_owner_slash_repo" {
  command = plan
  variables {
    github_repository = "acme"
  }
  expect_failures = [var.github_repository]
}

run "rejects_a_wildcard_repository" {
  command = plan
  variables {
    github_repository = "acme/*"
  }
  expect_failures = [var.github_repository]
}

run "rejects_a_wildcard_environment" {
  command = plan
  variables {
    github_environment = "*"
  }
  expect_failures = [var.github_environment]
}

run "rejects_oidc_without_a_repository" {
  command = plan
  variables {
    github_repository = null
  }
  expect_failures = [var.github_repository]
}

run "rejects_an_account_root_as_trusted_principal" {
  command = plan
  variables {
    trusted_role_arns = ["arn:aws:iam::444444444444:root"]
  }
  expect_failures = [var.trusted_role_arns]
}

run "rejects_an_account_id_that_is_not_12_digits" {
  command = plan
  variables {
    trusted_role_arns = ["arn:aws:iam::44444444444:role/etl-release-promote-prod"]
  }
  expect_failures = [var.trusted_role_arns]
}

run "rejects_a_role_nobody_can_assume" {
  command = plan
  variables {
    trusted_role_arns  = []
    oidc_provider_arn  = null
    github_repository  = null
    github_environment = null
  }
  expect_failures = [var.trusted_role_arns]
}

run "rejects_a_qualified_function_arn" {
  command = plan
  variables {
    function_arns = ["arn:aws:lambda:us-east-1:333333333333:function:etl-prod-extract:live"]
  }
  expect_failures = [var.function_arns]
}

run "rejects_a_provider_that_is_not_githubs" {
  command = plan
  variables {
    oidc_provider_arn = "arn:aws:iam::333333333333:oidc-provider/example.com"
  }
  expect_failures = [var.oidc_provider_arn]
}

run "rejects_a_kms_alias_for_a_key" {
  command = plan
  variables {
    kms_key_arns = ["arn:aws:kms:us-east-1:333333333333:alias/etl-prod-traffic-shifting"]
  }
  expect_failures = [var.kms_key_arns]
}

run "rejects_resources_of_another_account" {
  command = plan
  variables {
    release_table_arn = "arn:aws:dynamodb:us-east-1:111111111111:table/etl-dev-releases"
  }
  expect_failures = [aws_iam_role_policy.this]
}

run "rejects_a_session_longer_than_iam_allows" {
  command = plan
  variables {
    max_session_duration_seconds = 43201
  }
  expect_failures = [var.max_session_duration_seconds]
}

run "review_reads_exactly_the_workload_and_writes_only_the_release_log" {
  command = plan
  variables {
    review = {
      state_machine_arn     = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      dashboard_arn         = "arn:aws:cloudwatch::333333333333:dashboard/etl-prod"
      run_ledger_arn        = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-runs"
      role_arns             = ["arn:aws:iam::333333333333:role/etl-prod-extract", "arn:aws:iam::333333333333:role/etl-prod-etl-state-machine"]
      release_log_group_arn = "arn:aws:logs:us-east-1:333333333333:log-group:/etl-prod/releases"
      release_log_stream    = "deployer"
    }
  }

  assert {
    condition = jsonencode({ for s in data.aws_iam_policy_document.this.statement : s.sid => [sort(tolist(s.actions)), sort(tolist(s.resources))] if startswith(s.sid, "Review") || s.sid == "ReleaseLog" }) == jsonencode({
      ReviewFunctions = [["lambda:GetPolicy"], ["arn:aws:lambda:us-east-1:333333333333:function:etl-prod-extract", "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-load"]]
      ReviewWorkflow  = [["states:DescribeStateMachine"], ["arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"]]
      ReviewDashboard = [["cloudwatch:GetDashboard"], ["arn:aws:cloudwatch::333333333333:dashboard/etl-prod"]]
      ReviewRunLedger = [["dynamodb:DescribeTable"], ["arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-runs"]]
      ReviewRoles = [
        ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"],
        ["arn:aws:iam::333333333333:role/deployer", "arn:aws:iam::333333333333:role/etl-prod-etl-state-machine", "arn:aws:iam::333333333333:role/etl-prod-extract"],
      ]
      ReviewLogGroups = [["logs:DescribeLogGroups"], ["*"]]
      ReleaseLog      = [["logs:PutLogEvents"], ["arn:aws:logs:us-east-1:333333333333:log-group:/etl-prod/releases:log-stream:deployer"]]
    })
    error_message = "review reads each workload resource by its ARN (DescribeLogGroups on \"*\", which IAM authorizes on nothing narrower) and writes only the release log's stream"
  }
  assert {
    condition = alltrue(flatten([for s in data.aws_iam_policy_document.this.statement : [
      for a in s.actions : !contains(["lambda:AddPermission", "iam:PutRolePolicy", "states:UpdateStateMachine", "cloudwatch:PutDashboard", "logs:DeleteLogGroup"], a)
    ]]))
    error_message = "review changes nothing it reads"
  }
}

run "rejects_a_review_resource_of_another_account" {
  command = plan
  variables {
    review = {
      state_machine_arn     = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      dashboard_arn         = "arn:aws:cloudwatch::111111111111:dashboard/etl-dev"
      run_ledger_arn        = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-runs"
      role_arns             = []
      release_log_group_arn = "arn:aws:logs:us-east-1:333333333333:log-group:/etl-prod/releases"
      release_log_stream    = "deployer"
    }
  }
  expect_failures = [aws_iam_role_policy.this]
}

run "rejects_a_dashboard_arn_with_a_region" {
  command = plan
  variables {
    review = {
      state_machine_arn     = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
      dashboard_arn         = "arn:aws:cloudwatch:us-east-1:333333333333:dashboard/etl-prod"
      run_ledger_arn        = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-runs"
      role_arns             = []
      release_log_group_arn = "arn:aws:logs:us-east-1:333333333333:log-group:/etl-prod/releases"
      release_log_stream    = "deployer"
    }
  }
  expect_failures = [var.review]
}
