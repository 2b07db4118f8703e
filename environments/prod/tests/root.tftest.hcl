# The prod root with its terraform.tfvars and deployer.yaml, against a mocked provider:
# what is this root's own is that the two agree with the choices in main.tf (the plan
# fails otherwise, naming the field). terraform/modules/workload-account tests the rest.

mock_provider "aws" {
  # The few ARNs the deploy role reads from resources, in this account, at plan time.
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "333333333333" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:333333333333:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:333333333333:table/etl-prod-releases" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:333333333333:stateMachine:etl-prod-etl" }
  }
}

run "plans_with_its_deployer_yaml_and_tfvars" {
  command = plan

  assert {
    condition     = output.deployer_settings == "environments/prod/deployer.yaml"
    error_message = "deployer.yaml names what this root creates"
  }
  assert {
    condition     = output.environment.account_id == "333333333333" && output.environment.deployment_config_name == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    error_message = "the prod account, shifting with CodeDeployDefault.LambdaCanary10Percent5Minutes"
  }
  assert {
    condition     = output.github_subject == "repo:acme/serverless-etl-delivery:environment:prod"
    error_message = "GitHub jobs bound to the prod environment, and no other, may assume the deploy role"
  }
  assert {
    condition     = alltrue([for mode in values(output.environment.tracing.functions) : mode == "Active"]) && output.environment.tracing.state_machine
    error_message = "X-Ray traces every function and the state machine in a real environment"
  }
}
