output "role_arn" {
  description = "The role the deployer assumes (deploy_role in environments/<env>/deployer.yaml names it)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "The role's name."
  value       = aws_iam_role.this.name
}

output "github_subject" {
  description = "The only GitHub OIDC subject the role trusts (repo:OWNER/REPO:environment:ENV), or null without GitHub trust."
  value       = local.github_subject
}
