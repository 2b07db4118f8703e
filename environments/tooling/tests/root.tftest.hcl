# The tooling root against a mocked provider, with terraform.tfvars: validated
# accounts, and who may reach which workload account.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "444444444444" }
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
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::artifacts-444444444444-us-east-1", bucket = "artifacts-444444444444-us-east-1" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::444444444444:role/etl-release" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:444444444444:etl-release-notifications" }
  }
  mock_resource "aws_codepipeline" {
    defaults = { arn = "arn:aws:codepipeline:us-east-1:444444444444:etl-release" }
  }
}

run "plans_with_the_placeholder_accounts" {
  command = plan

  assert {
    condition     = module.artifacts.bucket == "artifacts-444444444444-us-east-1"
    error_message = "the artifact bucket is the one every deployer.yaml names"
  }
  assert {
    condition     = module.github.subjects == { dev = "repo:acme/serverless-etl-delivery:environment:dev", test = "repo:acme/serverless-etl-delivery:environment:test", prod = "repo:acme/serverless-etl-delivery:environment:prod" }
    error_message = "one GitHub role per environment, pinned to its environment"
  }
}

run "names_the_roles_each_deploy_role_must_trust" {
  command = plan

  assert {
    condition = jsonencode(output.deploy_role_trust) == jsonencode({
      dev  = ["etl-release-deploy-dev", "etl-release-promote-test", "github-actions-dev", "github-actions-test"]
      test = ["etl-release-promote-prod", "etl-release-promote-test", "github-actions-prod", "github-actions-test"]
      prod = ["etl-release-promote-prod", "github-actions-prod"]
    })
    error_message = "the workload roots' trusted_tooling_role_names (terraform.tfvars) match what this root creates"
  }
}

run "rejects_an_account_id_that_is_not_12_digits" {
  command = plan
  variables {
    account_id = "4444444444444"
  }
  expect_failures = [var.account_id]
}

run "rejects_a_workload_account_id_that_is_not_12_digits" {
  command = plan
  variables {
    workload_accounts = { dev = "111111111111", test = "22222222222a", prod = "333333333333" }
  }
  expect_failures = [var.workload_accounts]
}

run "rejects_workload_accounts_without_prod" {
  command = plan
  variables {
    workload_accounts = { dev = "111111111111", test = "222222222222" }
  }
  expect_failures = [var.workload_accounts]
}

run "rejects_the_tooling_account_as_a_workload_account" {
  command = plan
  variables {
    workload_accounts = { dev = "444444444444", test = "222222222222", prod = "333333333333" }
  }
  expect_failures = [var.workload_accounts]
}
