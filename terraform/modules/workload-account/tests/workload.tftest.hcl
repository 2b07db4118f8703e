# The composition of one workload account against a mocked provider: the names
# deployer.yaml expects, the traffic shifting per environment, the deploy role's trust,
# the deployer.yaml check, and values that must fail at plan time. The leaf modules'
# own properties are tested in their folders.

mock_provider "aws" {
  # Mocked values are known at plan time, as the ARNs built from names are.
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "111111111111" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  # Resources get ARN-shaped values, as the provider and the modules validate them.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::etl-dev-bucket" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:111111111111:table/etl-dev-releases" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:111111111111:etl-dev-alerts" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111111111111:log-group:etl-dev" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111111111111:role/etl-dev" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-dev", version = "1" }
  }
  mock_resource "aws_lambda_alias" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-dev:live" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev-etl" }
  }
}

variables {
  environment                = "dev"
  account_id                 = "111111111111"
  tooling_account_id         = "444444444444"
  trusted_tooling_role_names = ["etl-release-deploy-dev", "github-actions-dev"]
  github_repository          = "acme/serverless-etl-delivery"
  deployment_config          = { predefined = "CodeDeployDefault.LambdaAllAtOnce" }
  require_alarms             = false
  allow_fault_injection      = true
}

run "one_dashboard_shows_records_runs_versions_alarms_and_the_current_release" {
  command = plan

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "etl-dev" && output.environment.dashboard_name == "etl-dev"
    error_message = "the environment's dashboard is named like its prefix, which deployer review reads"
  }
  assert {
    condition = alltrue([for needles in [
      ["\"ETL\"", "RecordsOut", "\"load\""],
      ["\"ETL\"", "RecordsQuarantined"],
      ["AWS/States", "ExecutionsSucceeded", "ExecutionsFailed", "arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev-etl"],
      ["AWS/States", "ExecutionTime"],
      ] : anytrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
        alltrue([for n in needles : strcontains(jsonencode(w.properties), n)])
    ])])
    error_message = "the dashboard shows records curated and quarantined per run (namespace ETL), and the runs' outcome and duration"
  }
  assert {
    condition = alltrue(flatten([for f in ["extract", "transform", "load", "compensate"] : [for metric in ["Errors", "Duration"] :
      anytrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
        strcontains(jsonencode(w.properties), "FunctionName=\\\"etl-dev-${f}\\\"") && strcontains(jsonencode(w.properties), "ExecutedVersion") && strcontains(jsonencode(w.properties), metric)
    ])]]))
    error_message = "every function's errors and duration are shown per executed version"
  }
  assert {
    condition = anytrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      w.type == "log" && strcontains(try(w.properties.query, ""), "SOURCE '/etl-dev/releases'") && strcontains(try(w.properties.query, ""), "status = \"succeeded\"")
    ])
    error_message = "the current release is the newest succeeded event of the release log /etl-dev/releases"
  }
  assert {
    condition = anytrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      w.type == "alarm" && length(try(w.properties.alarms, [])) == 12
    ])
    error_message = "the twelve live-alias alarms are on the dashboard"
  }
  assert {
    condition     = output.environment.release_log == "/etl-dev/releases"
    error_message = "the release log is named after the environment"
  }
}

run "names_everything_after_the_environment" {
  command = plan

  assert {
    condition     = output.environment.function_names == { for s in ["extract", "transform", "load", "compensate"] : s => "etl-dev-${s}" }
    error_message = "the functions are etl-dev-<step>"
  }
  assert {
    condition     = output.environment.application_name == "etl-dev" && output.environment.release_table_name == "etl-dev-releases"
    error_message = "the CodeDeploy application is etl-dev and the release ledger etl-dev-releases"
  }
  assert {
    condition     = output.environment.hook_function_names == { pre_traffic = "etl-dev-pre-traffic", post_traffic = "etl-dev-post-traffic" }
    error_message = "the hooks are etl-dev-pre-traffic and etl-dev-post-traffic"
  }
  assert {
    condition     = output.environment.deployment_group_names == output.environment.function_names
    error_message = "one deployment group per function, named after it"
  }
  assert {
    condition     = output.environment.deployment_config_name == "CodeDeployDefault.LambdaAllAtOnce"
    error_message = "the deployment config is the one given"
  }
  assert {
    condition     = alltrue([for s, names in output.environment.alarm_names : length(names) == 3 && alltrue([for n in names : startswith(n, "etl-dev-${s}-")])])
    error_message = "every function has its errors, throttles and p99 duration alarms"
  }
  assert {
    condition     = output.environment.account_id == "111111111111" && output.etl.state_machine_arn == output.environment.state_machine_arn
    error_message = "the environment output names the account and the state machine"
  }
}

run "the_deploy_role_trusts_the_tooling_roles_and_one_github_environment" {
  command = plan

  assert {
    condition     = output.github_subject == "repo:acme/serverless-etl-delivery:environment:dev"
    error_message = "GitHub jobs bound to the dev environment, and no other, may assume the deploy role"
  }
  assert {
    condition     = output.github_oidc_provider_arn == "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    error_message = "the account's own OIDC provider is created and trusted"
  }
  assert {
    condition     = module.deploy_role.role_name == "deployer"
    error_message = "the role the deployer assumes is named deployer"
  }
}

run "a_custom_canary_gets_its_own_config" {
  command = plan
  variables {
    environment       = "test"
    deployment_config = { type = "canary", percentage = 10, interval_minutes = 1 }
  }

  assert {
    condition     = output.environment.deployment_config_name == "etl-test-canary-10pct-1min"
    error_message = "a custom canary of 10 % for a minute is etl-test-canary-10pct-1min"
  }
}

run "prod_requires_alarms_and_plans_without_a_smoke_test" {
  command = plan
  variables {
    environment           = "prod"
    deployment_config     = { predefined = "CodeDeployDefault.LambdaCanary10Percent5Minutes" }
    require_alarms        = true
    smoke_test            = false
    allow_fault_injection = false
  }

  assert {
    condition     = output.github_subject == "repo:acme/serverless-etl-delivery:environment:prod"
    error_message = "prod's deploy role trusts GitHub jobs bound to prod"
  }
  assert {
    condition     = output.environment.deployment_config_name == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    error_message = "prod shifts with the predefined 10 % canary for five minutes"
  }
}

run "uses_an_existing_oidc_provider" {
  command = plan
  variables {
    github_oidc_provider_arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
  }

  assert {
    condition     = output.github_oidc_provider_arn == "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    error_message = "the deploy role trusts the provider given"
  }
}

run "passes_when_deployer_yaml_agrees" {
  command = plan
  variables {
    deployer_settings      = yamldecode(file("../../../environments/dev/deployer.yaml"))
    deployer_settings_file = "environments/dev/deployer.yaml"
  }

  assert {
    condition     = output.deployer_settings == "environments/dev/deployer.yaml"
    error_message = "deployer.yaml names what this module creates"
  }
}

run "fails_when_deployer_yaml_names_another_state_machine" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      workflow = { state_machine = "etl-dev-workflow", raw_bucket = "etl-dev-raw-111111111111" }
    })
  }

  expect_failures = [output.deployer_settings]
}

run "fails_when_deployer_yaml_names_another_raw_bucket" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      workflow = { state_machine = "etl-dev-etl", raw_bucket = "etl-dev-raw" }
    })
  }

  expect_failures = [output.deployer_settings]
}

run "the_deploy_role_reads_the_curated_and_quarantine_buckets_for_the_shadow_diff" {
  command = plan

  assert {
    condition     = local.deploy_role_workflow.curated_bucket_arn == "arn:aws:s3:::etl-dev-curated-111111111111" && local.deploy_role_workflow.quarantine_bucket_arn == "arn:aws:s3:::etl-dev-quarantine-111111111111"
    error_message = "the deploy role is given the etl-workflow module's curated and quarantine buckets, by ARN"
  }
  assert {
    condition     = local.deploy_role_workflow.data_key_arn == module.etl.kms_key_arn && local.deploy_role_workflow.raw_bucket_arn == "arn:aws:s3:::etl-dev-raw-111111111111"
    error_message = "the data key is the etl-workflow module's, the one that encrypts the raw, curated and quarantine buckets"
  }
}

run "passes_when_deployer_yaml_names_the_curated_and_quarantine_buckets" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      workflow = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).workflow, {
        curated_bucket = "etl-dev-curated-111111111111", quarantine_bucket = "etl-dev-quarantine-111111111111"
      })
    })
  }

  assert {
    condition     = length(local.settings_mismatches) == 0
    error_message = "workflow.curated_bucket and workflow.quarantine_bucket name what the module creates"
  }
}

run "fails_when_deployer_yaml_names_another_curated_bucket" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      workflow = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).workflow, { curated_bucket = "etl-dev-curated" })
    })
  }

  expect_failures = [output.deployer_settings]
}

run "fails_when_deployer_yaml_names_another_quarantine_bucket" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      workflow = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).workflow, { quarantine_bucket = "etl-dev-curated-111111111111" })
    })
  }

  expect_failures = [output.deployer_settings]
}

run "the_evidence_rule_reaches_the_hooks_as_deployer_yaml_says" {
  command = plan
  variables {
    # prod's rule on dev's names (the mocked account is dev's).
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      evidence = yamldecode(file("../../../environments/prod/deployer.yaml")).evidence
    })
  }

  assert {
    condition     = local.min_invocations == { extract = 50, transform = 50, load = 50, compensate = 0 } && local.evidence_required
    error_message = "prod's rule: every function needs 50 invocations of its new version, required, but compensate (min_invocations 0) is exempt"
  }
  assert {
    condition     = output.deployer_settings == "deployer.yaml"
    error_message = "deployer.yaml, workflow included, names what the module creates"
  }
}

run "the_local_evidence_minimum_caps_every_function" {
  command = plan
  variables {
    deployer_local_overrides = true
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      functions = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions, {
        load = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions.load, { min_invocations = 8 })
      })
    })
  }

  assert {
    condition     = local.min_invocations == { extract = 3, transform = 3, load = 3, compensate = 0 } && !local.evidence_required
    error_message = "under local: the local minimum (3) replaces the environment's and caps a function's own; 0 still exempts"
  }
}

run "without_deployer_yaml_no_evidence_is_asked" {
  command = plan

  assert {
    condition     = alltrue([for m in values(local.min_invocations) : m == 0]) && !local.evidence_required
    error_message = "no settings: no evidence rule"
  }
}

run "the_smoke_run_is_pinned_to_the_new_release" {
  command = plan

  assert {
    condition     = jsondecode(local.smoke_input) == { run_date = "2026-01-01", dry_run = true, inject_failure = null, pin = "new" }
    error_message = "the post-traffic smoke run is a dry run of the new release"
  }
}

run "fails_when_deployer_yaml_names_another_ledger" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), { release_table = "etl-dev-ledger" })
  }

  expect_failures = [output.deployer_settings]
}

run "fails_when_deployer_yaml_has_another_deployment_config" {
  command = plan
  variables {
    deployer_settings = yamldecode(file("../../../environments/test/deployer.yaml"))
  }

  expect_failures = [output.deployer_settings]
}

run "rejects_an_account_id_that_is_not_12_digits" {
  command = plan
  variables {
    account_id = "11111111111"
  }
  expect_failures = [var.account_id]
}

run "rejects_the_tooling_account_as_a_workload_account" {
  command = plan
  variables {
    tooling_account_id = "111111111111"
  }
  expect_failures = [var.tooling_account_id]
}

run "rejects_a_role_arn_for_a_role_name" {
  command = plan
  variables {
    trusted_tooling_role_names = ["arn:aws:iam::444444444444:role/etl-release-deploy-dev"]
  }
  expect_failures = [var.trusted_tooling_role_names]
}

run "rejects_a_bad_github_repository" {
  command = plan
  variables {
    github_repository = "acme"
  }
  expect_failures = [var.github_repository]
}

run "the_architecture_is_deployer_yamls" {
  command = plan
  variables {
    deployer_settings = yamldecode(file("../../../environments/dev/deployer.yaml"))
  }

  assert {
    condition     = alltrue([for a in concat(values(output.architectures.functions), values(output.architectures.hooks)) : a == "arm64"])
    error_message = "every function and hook takes deployer.yaml's architecture (arm64)"
  }
}

run "a_function_may_name_its_own_architecture" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      functions = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions, {
        load = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions.load, { architecture = "x86_64" })
      })
    })
  }

  assert {
    condition     = output.architectures.functions["load"] == "x86_64" && output.architectures.functions["extract"] == "arm64"
    error_message = "functions.load.architecture applies to load only"
  }
  assert {
    condition     = alltrue([for a in values(output.architectures.hooks) : a == "arm64"])
    error_message = "the hooks take the environment's architecture"
  }
}

run "the_local_override_wins_as_under_deployer_local" {
  command = plan
  variables {
    deployer_local_overrides = true
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      functions = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions, {
        load = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions.load, { architecture = "arm64" })
      })
    })
  }

  assert {
    condition     = alltrue([for a in concat(values(output.architectures.functions), values(output.architectures.hooks)) : a == "x86_64"])
    error_message = "local.architecture (x86_64) replaces the environment's and every function's, as deployer --local does"
  }
}

run "without_deployer_yaml_lambdas_default" {
  command = plan

  assert {
    condition     = alltrue([for a in concat(values(output.architectures.functions), values(output.architectures.hooks)) : a == "x86_64"])
    error_message = "no settings: Lambda's default, x86_64, as the deployer assumes"
  }
}

run "rejects_an_unknown_architecture" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), { architecture = "arm" })
  }
  expect_failures = [var.deployer_settings]
}

run "rejects_an_unknown_function_architecture" {
  command = plan
  variables {
    deployer_settings = merge(yamldecode(file("../../../environments/dev/deployer.yaml")), {
      functions = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions, {
        load = merge(yamldecode(file("../../../environments/dev/deployer.yaml")).functions.load, { architecture = "aarch64" })
      })
    })
  }
  expect_failures = [var.deployer_settings]
}

run "rejects_an_environment_name_that_cannot_name_resources" {
  command = plan
  variables {
    environment = "Dev Account"
  }
  expect_failures = [var.environment]
}
