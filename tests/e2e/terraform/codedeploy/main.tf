# Test fixture: the CodeDeploy resources the traffic-shifting module will use,
# applied to the local cloud by tests/e2e/tests/terraform.rs. The alarms are named,
# not created here: aws_cloudwatch_metric_alarm still sees a permanent diff on the
# local cloud until localcloud owns CloudWatch alarms.
terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "111111111111"
  secret_key                  = "localcloud"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
}

resource "aws_codedeploy_app" "this" {
  name             = "etl"
  compute_platform = "Lambda"
  tags             = { team = "platform" }
}

resource "aws_codedeploy_deployment_config" "canary" {
  deployment_config_name = "Canary20Percent3Minutes"
  compute_platform       = "Lambda"

  traffic_routing_config {
    type = "TimeBasedCanary"
    time_based_canary {
      percentage = 20
      interval   = 3
    }
  }
}

resource "aws_codedeploy_deployment_group" "this" {
  app_name               = aws_codedeploy_app.this.name
  deployment_group_name  = "extract"
  service_role_arn       = "arn:aws:iam::111111111111:role/codedeploy"
  deployment_config_name = aws_codedeploy_deployment_config.canary.id

  deployment_style {
    deployment_type   = "BLUE_GREEN"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  alarm_configuration {
    enabled = true
    alarms  = ["extract-live-errors", "extract-live-throttles"]
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  tags = { function = "extract" }
}
