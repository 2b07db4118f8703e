output "provider_arn" {
  description = "The GitHub Actions OIDC provider's ARN (created or given), for the deploy-role module's oidc_provider_arn."
  value       = local.provider_arn
}

output "role_arns" {
  description = "Per GitHub environment, the role its jobs assume (role-to-assume of aws-actions/configure-aws-credentials)."
  value       = { for env, r in aws_iam_role.this : env => r.arn }
}

output "role_names" {
  description = "Per GitHub environment, the role's name."
  value       = { for env, r in aws_iam_role.this : env => r.name }
}

output "subjects" {
  description = "Per GitHub environment, the only OIDC subject its role trusts."
  value       = local.subjects
}
