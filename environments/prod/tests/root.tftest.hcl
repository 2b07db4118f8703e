# The prod root against a mocked provider, with terraform.tfvars: the modules (tested on
# their own) stand in with the names they create, so that what is checked here is the
# root's own wiring: validated accounts, the deploy role's trust, deployer.yaml.

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
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

override_module {
  target = module.github_oidc
  outputs = {
    provider_arn = "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com"
  }
}

override_module {
  target = module.etl
  outputs = {
    state_machine_arn = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl"
    function_names    = { for s in ["extract", "transform", "load", "compensate"] : s => "etl-prod-${s}" }
    alarm_names       = { for s in ["extract", "transform", "load", "compensate"] : s => [for k in ["errors", "p99-duration", "throttles"] : "etl-prod-${s}-${k}"] }
  }
}

override_module {
  target = module.traffic
  outputs = {
    application_name       = "etl-prod"
    deployment_group_names = { for s in ["extract", "transform", "load", "compensate"] : s => "etl-prod-${s}" }
    deployment_config_name = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    hook_function_names    = { pre_traffic = "etl-prod-pre-traffic", post_traffic = "etl-prod-post-traffic" }
    release_table_name     = "etl-prod-releases"
    release_table_arn      = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-releases"
    kms_key_arn            = "arn:aws:kms:us-east-1:333333333333:key/00000000-0000-0000-0000-000000000000"
  }
}

run "plans_with_deployer_yaml_and_a_pinned_deploy_role" {
  command = plan

  assert {
    condition     = output.deployer_settings == "environments/prod/deployer.yaml"
    error_message = "deployer.yaml names what this root creates"
  }
  assert {
    condition     = module.deploy_role.github_subject == "repo:acme/serverless-etl-delivery:environment:prod"
    error_message = "GitHub jobs bound to the prod environment, and no other, may assume the deploy role"
  }
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
    tooling_account_id = "333333333333"
  }
  expect_failures = [var.tooling_account_id]
}

run "rejects_a_role_arn_for_a_role_name" {
  command = plan
  variables {
    trusted_tooling_role_names = ["arn:aws:iam::444444444444:role/etl-release-promote-prod"]
  }
  expect_failures = [var.trusted_tooling_role_names]
}

run "fails_when_deployer_yaml_names_another_ledger" {
  command = plan

  override_module {
    target = module.traffic
    outputs = {
      application_name       = "etl-prod"
      deployment_group_names = { for s in ["extract", "transform", "load", "compensate"] : s => "etl-prod-${s}" }
      deployment_config_name = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
      hook_function_names    = { pre_traffic = "etl-prod-pre-traffic", post_traffic = "etl-prod-post-traffic" }
      release_table_name     = "etl-prod-ledger"
      release_table_arn      = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-ledger"
      kms_key_arn            = "arn:aws:kms:us-east-1:333333333333:key/00000000-0000-0000-0000-000000000000"
    }
  }

  expect_failures = [output.deployer_settings]
}
