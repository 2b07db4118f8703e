output "pipeline_name" {
  description = "The pipeline's name."
  value       = aws_codepipeline.this.name
}

output "pipeline_arn" {
  description = "The pipeline's ARN."
  value       = aws_codepipeline.this.arn
}

output "codebuild_role_arns" {
  description = "Per stage (package, deploy_dev, promote_test, promote_prod), the CodeBuild role; the workload deploy roles trust the ones that assume them."
  value       = { for k, r in aws_iam_role.codebuild : k => r.arn }
}

output "deploy_role_assumers" {
  description = "Per workload environment, the names of the CodeBuild roles (in this account) that assume its deploy role: that account's deploy role must trust them."
  value = { for env in ["dev", "test", "prod"] : env => [
    for k, s in local.stages : aws_iam_role.codebuild[k].name if contains(s.assumes, env)
  ] }
}

output "codebuild_project_names" {
  description = "Per stage, the CodeBuild project."
  value       = { for k, p in aws_codebuild_project.this : k => p.name }
}

output "notification_topic_arn" {
  description = "The SNS topic for failed executions and approvals waiting (KMS-encrypted); subscribe chat or paging here."
  value       = aws_sns_topic.this.arn
}

output "kms_key_arn" {
  description = "The module's own key: build logs and notifications."
  value       = aws_kms_key.this.arn
}
