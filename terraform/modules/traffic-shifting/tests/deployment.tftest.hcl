# How the module shifts traffic: deployment groups, their alarms and rollback, the
# deployment configuration, the hooks' contract, and values that must fail at plan
# time. Against a mocked provider (no cloud).

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
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:111111111111:table/etl-test-releases" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/etl-test-hook" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111111111111:role/etl-test" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-hook" }
  }
  # The assertions read each document's statements; its rendered JSON only has to parse.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name_prefix = "etl-test"
  functions = {
    extract = {
      function_name = "etl-test-extract"
      alarm_names   = ["etl-test-extract-errors", "etl-test-extract-throttles"]
      hook_events   = ["{\"run_date\":\"2026-01-01\",\"dry_run\":true,\"inject_failure\":null}"]
    }
    load = {
      function_name   = "etl-test-load"
      alarm_names     = ["etl-test-load-errors"]
      hook_events     = ["{\"run_id\":\"shadow-orders-2026-01-01\",\"run_date\":\"2026-01-01\",\"execution_id\":\"check\",\"dry_run\":true,\"results\":[]}"]
      max_duration_ms = 8000
      max_errors      = 1
    }
  }
}

run "every_group_watches_its_functions_alarms_and_rolls_back" {
  command = plan

  assert {
    condition     = aws_codedeploy_app.this.name == "etl-test" && aws_codedeploy_app.this.compute_platform == "Lambda"
    error_message = "the application is named after the environment and deploys Lambda"
  }
  assert {
    condition     = toset(keys(aws_codedeploy_deployment_group.this)) == toset(["extract", "load"])
    error_message = "one deployment group per function"
  }
  assert {
    condition     = alltrue([for k, f in var.functions : aws_codedeploy_deployment_group.this[k].deployment_group_name == f.function_name])
    error_message = "a deployment group is named after its function"
  }
  assert {
    condition = alltrue([for k, f in var.functions :
      aws_codedeploy_deployment_group.this[k].alarm_configuration[0].enabled
      && toset(aws_codedeploy_deployment_group.this[k].alarm_configuration[0].alarms) == toset(f.alarm_names)
      && !aws_codedeploy_deployment_group.this[k].alarm_configuration[0].ignore_poll_alarm_failure
    ])
    error_message = "every group watches exactly its function's alarms, enabled, and an unreadable alarm stops it"
  }
  assert {
    condition = alltrue([for g in aws_codedeploy_deployment_group.this :
      g.auto_rollback_configuration[0].enabled
      && toset(g.auto_rollback_configuration[0].events) == toset(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"])
    ])
    error_message = "every group rolls back on failure and on alarm"
  }
  assert {
    condition = alltrue([for g in aws_codedeploy_deployment_group.this :
      g.deployment_style[0].deployment_type == "BLUE_GREEN" && g.deployment_style[0].deployment_option == "WITH_TRAFFIC_CONTROL"
    ])
    error_message = "Lambda groups shift traffic blue/green"
  }
}

run "a_predefined_config_creates_none" {
  command = plan

  assert {
    condition     = length(aws_codedeploy_deployment_config.this) == 0
    error_message = "a predefined config is used as is"
  }
  assert {
    condition     = alltrue([for g in aws_codedeploy_deployment_group.this : g.deployment_config_name == "CodeDeployDefault.LambdaCanary10Percent5Minutes"])
    error_message = "the default is a 10 % canary for 5 minutes"
  }
  assert {
    condition     = output.deployment_config_name == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    error_message = "the output names the config in use"
  }
}

run "a_custom_canary_creates_its_config" {
  command = plan
  variables {
    deployment_config = { type = "canary", percentage = 10, interval_minutes = 1 }
  }

  assert {
    condition     = aws_codedeploy_deployment_config.this[0].deployment_config_name == "etl-test-canary-10pct-1min" && aws_codedeploy_deployment_config.this[0].compute_platform == "Lambda"
    error_message = "the canary config is named after its settings and is for Lambda"
  }
  assert {
    condition = (aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].type == "TimeBasedCanary"
      && aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].time_based_canary[0].percentage == 10
      && aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].time_based_canary[0].interval == 1
    && length(aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].time_based_linear) == 0)
    error_message = "10 % first, the rest after 1 minute"
  }
  assert {
    condition     = alltrue([for g in aws_codedeploy_deployment_group.this : g.deployment_config_name == "etl-test-canary-10pct-1min"])
    error_message = "every group uses the custom config"
  }
}

run "a_custom_linear_creates_its_config" {
  command = plan
  variables {
    deployment_config = { type = "linear", percentage = 25, interval_minutes = 2 }
  }

  assert {
    condition = (aws_codedeploy_deployment_config.this[0].deployment_config_name == "etl-test-linear-25pct-every-2min"
      && aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].type == "TimeBasedLinear"
      && aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].time_based_linear[0].percentage == 25
    && aws_codedeploy_deployment_config.this[0].traffic_routing_config[0].time_based_linear[0].interval == 2)
    error_message = "25 % more every 2 minutes"
  }
}

run "hooks_carry_each_functions_checks" {
  command = plan

  assert {
    condition     = aws_lambda_function.this["pre_traffic"].function_name == "etl-test-pre-traffic" && aws_lambda_function.this["post_traffic"].function_name == "etl-test-post-traffic"
    error_message = "the hooks are named after the environment"
  }
  assert {
    condition = alltrue([for h in aws_lambda_function.this :
      h.runtime == "provided.al2023" && h.handler == "bootstrap" && one(h.architectures) == "arm64" && h.timeout == 300 && h.memory_size == 256
    ])
    error_message = "the hooks are Rust bootstraps on provided.al2023"
  }
  assert {
    condition     = alltrue([for h in aws_lambda_function.this : endswith(h.filename, "/placeholder/bootstrap.zip") && !h.publish])
    error_message = "the hooks are created from the module's placeholder and publish no version"
  }
  assert {
    condition = alltrue([for h in aws_lambda_function.this :
      toset(keys(jsondecode(h.environment[0].variables["HOOK_CHECKS"]))) == toset(["etl-test-extract", "etl-test-load"])
    ])
    error_message = "HOOK_CHECKS is keyed by the full function name"
  }
  assert {
    condition = (jsondecode(aws_lambda_function.this["pre_traffic"].environment[0].variables["HOOK_CHECKS"])["etl-test-load"] == {
      events               = [{ run_id = "shadow-orders-2026-01-01", run_date = "2026-01-01", execution_id = "check", dry_run = true, results = [] }]
      max_duration_ms      = 8000
      alarm_names          = ["etl-test-load-errors"]
      max_errors           = 1
      error_window_seconds = 300
    })
    error_message = "a function's checks carry its decoded events, limits and alarms"
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this["pre_traffic"].environment[0].variables), "SMOKE_STATE_MACHINE_ARN")
    error_message = "only post-traffic runs the smoke test"
  }
  assert {
    condition = alltrue([for v in ["SMOKE_STATE_MACHINE_ARN", "SMOKE_INPUT", "SMOKE_TIMEOUT_SECONDS"] :
    aws_lambda_function.this["post_traffic"].environment[0].variables[v] == ""])
    error_message = "without smoke_test, the smoke settings are empty: the smoke test is off"
  }
}

run "the_smoke_test_goes_to_post_traffic" {
  command = plan
  variables {
    smoke_test = {
      state_machine_arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-test-etl"
      input             = "{\"run_date\":\"2026-01-01\",\"dry_run\":true,\"inject_failure\":null}"
    }
  }

  assert {
    condition = (aws_lambda_function.this["post_traffic"].environment[0].variables["SMOKE_STATE_MACHINE_ARN"] == "arn:aws:states:us-east-1:111111111111:stateMachine:etl-test-etl"
      && jsondecode(aws_lambda_function.this["post_traffic"].environment[0].variables["SMOKE_INPUT"]).dry_run
    && aws_lambda_function.this["post_traffic"].environment[0].variables["SMOKE_TIMEOUT_SECONDS"] == "120")
    error_message = "post-traffic gets the state machine, the dry-run input and the default timeout"
  }
}

run "groups_without_alarms_when_not_required" {
  command = plan
  variables {
    require_alarms = false
    functions = {
      extract = { function_name = "etl-test-extract", alarm_names = [] }
    }
  }

  assert {
    condition     = length(aws_codedeploy_deployment_group.this["extract"].alarm_configuration) == 0
    error_message = "no alarm configuration without alarms"
  }
}

run "rejects_an_unknown_predefined_config" {
  command = plan
  variables {
    deployment_config = { predefined = "CodeDeployDefault.LambdaCanary50Percent5Minutes" }
  }
  expect_failures = [var.deployment_config]
}

run "rejects_a_percentage_of_100" {
  command = plan
  variables {
    deployment_config = { type = "canary", percentage = 100, interval_minutes = 5 }
  }
  expect_failures = [var.deployment_config]
}

run "rejects_an_interval_of_0" {
  command = plan
  variables {
    deployment_config = { type = "linear", percentage = 10, interval_minutes = 0 }
  }
  expect_failures = [var.deployment_config]
}

run "rejects_an_unknown_type" {
  command = plan
  variables {
    deployment_config = { type = "blue-green", percentage = 10, interval_minutes = 5 }
  }
  expect_failures = [var.deployment_config]
}

run "rejects_both_predefined_and_custom" {
  command = plan
  variables {
    deployment_config = { predefined = "CodeDeployDefault.LambdaAllAtOnce", type = "canary", percentage = 10, interval_minutes = 5 }
  }
  expect_failures = [var.deployment_config]
}

run "rejects_a_function_without_alarms_when_required" {
  command = plan
  variables {
    require_alarms = true
    functions = {
      extract = { function_name = "etl-test-extract", alarm_names = [] }
    }
  }
  expect_failures = [var.functions]
}

run "rejects_more_than_10_alarms" {
  command = plan
  variables {
    functions = {
      extract = { function_name = "etl-test-extract", alarm_names = [for i in range(11) : "alarm-${i}"] }
    }
  }
  expect_failures = [var.functions]
}

run "rejects_a_hook_event_that_is_not_json" {
  command = plan
  variables {
    functions = {
      extract = { function_name = "etl-test-extract", alarm_names = ["a"], hook_events = ["run_date=2026-01-01"] }
    }
  }
  expect_failures = [var.functions]
}

run "rejects_a_function_arn_for_a_name" {
  command = plan
  variables {
    functions = {
      extract = { function_name = "arn:aws:lambda:us-east-1:111111111111:function:etl-test-extract", alarm_names = ["a"] }
    }
  }
  expect_failures = [var.functions]
}

run "rejects_hook_events_that_outrun_the_hook" {
  command = plan
  variables {
    hook_timeout_seconds = 12
    functions = {
      extract = { function_name = "etl-test-extract", alarm_names = ["a"], hook_events = ["{}"], max_duration_ms = 5000 }
    }
  }
  expect_failures = [var.functions]
}

run "rejects_a_bad_name_prefix" {
  command = plan
  variables {
    name_prefix = "ETL_Dev"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_a_smoke_test_input_that_is_not_an_object" {
  command = plan
  variables {
    smoke_test = {
      state_machine_arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-test-etl"
      input             = "[1, 2]"
    }
  }
  expect_failures = [var.smoke_test]
}

run "rejects_a_smoke_timeout_beyond_the_hook_timeout" {
  command = plan
  variables {
    smoke_test = {
      state_machine_arn = "arn:aws:states:us-east-1:111111111111:stateMachine:etl-test-etl"
      input             = "{}"
      timeout_seconds   = 600
    }
  }
  expect_failures = [var.smoke_test]
}

run "rejects_an_unknown_architecture" {
  command = plan
  variables {
    architecture = "sparc"
  }
  expect_failures = [var.architecture]
}

run "rejects_an_unsupported_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_a_short_key_deletion_window" {
  command = plan
  variables {
    kms_deletion_window_days = 5
  }
  expect_failures = [var.kms_deletion_window_days]
}
