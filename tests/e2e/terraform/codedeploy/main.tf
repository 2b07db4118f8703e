# Test fixture: the CodeDeploy resources the traffic-shifting module will use,
# applied to the local cloud by tests/e2e/tests/terraform.rs, with the alarms that
# gate the deployment group.
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

resource "aws_sns_topic" "alarms" {
  name = "deploy-alarms"
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "extract-live-errors"
  alarm_description   = "Errors of the new version behind extract:live."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  dimensions = {
    FunctionName = "extract"
    Resource     = "extract:live"
  }
  tags = { function = "extract" }
}

resource "aws_cloudwatch_metric_alarm" "duration" {
  alarm_name          = "extract-live-p99-duration"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 5000
  comparison_operator = "GreaterThanThreshold"
  dimensions = {
    FunctionName = "extract"
    Resource     = "extract:live"
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
    alarms  = [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.duration.alarm_name]
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  tags = { function = "extract" }
}
