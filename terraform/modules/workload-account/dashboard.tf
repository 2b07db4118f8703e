# One CloudWatch dashboard per environment, named like its prefix (etl-<env>): the
# business's counts (records curated and quarantined per run, from the functions'
# EMF metrics in namespace ETL; dry runs go to ETL/DryRun and are left out), the runs'
# outcome and duration (Step Functions), each function's errors and p99 duration per
# version (Lambda's ExecutedVersion dimension, which an alias's invocations carry, so
# a canary shows beside the stable version), the alarms, and the current release
# (the newest event the deployer wrote to the release log). `deployer review` reads
# it back as OPS 1's evidence.

locals {
  dashboard_period = 300
  state_machine    = module.etl.state_machine_arn
  release_log      = module.traffic.release_log.name

  # A function's metric per executed version: one line per version the alias ran.
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html
  per_version = { for step, name in module.etl.function_names : step => {
    errors   = "SEARCH('{AWS/Lambda,FunctionName,Resource,ExecutedVersion} MetricName=\"Errors\" FunctionName=\"${name}\"', 'Sum', ${local.dashboard_period})"
    duration = "SEARCH('{AWS/Lambda,FunctionName,Resource,ExecutedVersion} MetricName=\"Duration\" FunctionName=\"${name}\"', 'p99', ${local.dashboard_period})"
  } }
  steps = ["extract", "transform", "load", "compensate"]

  dashboard_widgets = concat(
    [
      {
        type = "text", x = 0, y = 0, width = 24, height = 2
        properties = {
          markdown = "## ${local.name_prefix}: runs, records and releases\nRuns are Step Functions executions of `${local.name_prefix}-etl`; records come from the functions' EMF metrics (namespace `ETL`, real runs only); per-version lines follow the `live` alias through a canary. The current release is the newest verdict the deployer wrote to `${local.release_log}`."
        }
      },
      {
        type = "log", x = 0, y = 2, width = 12, height = 4
        properties = {
          title  = "Current release"
          region = var.region
          view   = "table"
          query  = "SOURCE '${local.release_log}' | fields @timestamp, release_id, kind, source_environment, git_commit | filter status = \"succeeded\" | sort @timestamp desc | limit 1"
        }
      },
      {
        type = "log", x = 12, y = 2, width = 12, height = 4
        properties = {
          title  = "Release verdicts"
          region = var.region
          view   = "table"
          query  = "SOURCE '${local.release_log}' | fields @timestamp, release_id, kind, status, reason | sort @timestamp desc | limit 10"
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 8, height = 6
        properties = {
          title  = "Records per run: curated and quarantined"
          region = var.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 3600
          metrics = [
            ["ETL", "RecordsOut", "Function", "load", { label = "curated" }],
            ["ETL", "RecordsQuarantined", "Function", "load", { label = "quarantined" }],
          ]
        }
      },
      {
        type = "metric", x = 8, y = 6, width = 8, height = 6
        properties = {
          title  = "Runs: outcome"
          region = var.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 3600
          metrics = [
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", local.state_machine, { label = "succeeded" }],
            ["AWS/States", "ExecutionsFailed", "StateMachineArn", local.state_machine, { label = "failed" }],
            ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", local.state_machine, { label = "timed out" }],
            ["AWS/States", "ExecutionsAborted", "StateMachineArn", local.state_machine, { label = "aborted" }],
          ]
        }
      },
      {
        type = "metric", x = 16, y = 6, width = 8, height = 6
        properties = {
          title  = "Runs: duration"
          region = var.region
          view   = "timeSeries"
          period = 3600
          metrics = [
            ["AWS/States", "ExecutionTime", "StateMachineArn", local.state_machine, { stat = "Maximum", label = "longest (ms)" }],
            ["AWS/States", "ExecutionTime", "StateMachineArn", local.state_machine, { stat = "Average", label = "average (ms)" }],
          ]
        }
      },
      {
        type = "alarm", x = 0, y = 12, width = 24, height = 3
        properties = {
          title  = "Alarms of the live aliases (they stop and roll back a release)"
          alarms = [for a in flatten(values(module.etl.alarm_names)) : "${local.alarm}:${a}"]
        }
      },
    ],
    flatten([for i, step in local.steps : [
      {
        type = "metric", x = 0, y = 15 + 6 * i, width = 12, height = 6
        properties = {
          title   = "${step}: errors by version"
          region  = var.region
          view    = "timeSeries"
          period  = local.dashboard_period
          metrics = [[{ expression = local.per_version[step].errors, id = "errors", label = "" }]]
        }
      },
      {
        type = "metric", x = 12, y = 15 + 6 * i, width = 12, height = 6
        properties = {
          title   = "${step}: p99 duration by version (ms)"
          region  = var.region
          view    = "timeSeries"
          period  = local.dashboard_period
          metrics = [[{ expression = local.per_version[step].duration, id = "duration", label = "" }]]
        }
      },
    ]]),
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.name_prefix
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
