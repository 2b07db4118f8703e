# The provider and the per-environment roles, against a mocked provider: audience and
# subject pinned, each role scoped to what its environment's job does.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::444444444444:role/github-actions" }
  }
  # The assertions read each document's statements; its rendered JSON only has to parse.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  github_repository    = "acme/serverless-etl-delivery"
  artifact_bucket_arn  = "arn:aws:s3:::artifacts-444444444444-us-east-1"
  artifact_kms_key_arn = "arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000"
  roles = {
    dev  = { assume_role_arns = ["arn:aws:iam::111111111111:role/deployer"], artifact_access = "read-write" }
    test = { assume_role_arns = ["arn:aws:iam::111111111111:role/deployer", "arn:aws:iam::222222222222:role/deployer"], artifact_access = "read" }
    prod = { assume_role_arns = ["arn:aws:iam::222222222222:role/deployer", "arn:aws:iam::333333333333:role/deployer"], artifact_access = "read" }
  }
}

run "the_provider_is_githubs_for_sts" {
  command = plan

  assert {
    condition     = aws_iam_openid_connect_provider.this[0].url == "https://token.actions.githubusercontent.com"
    error_message = "the provider is GitHub Actions' token issuer"
  }
  assert {
    condition     = toset(aws_iam_openid_connect_provider.this[0].client_id_list) == toset(["sts.amazonaws.com"])
    error_message = "the only audience is AWS STS"
  }
  assert {
    condition     = length(aws_iam_openid_connect_provider.this[0].thumbprint_list) == 2
    error_message = "GitHub's published thumbprints by default"
  }
}

run "every_role_trusts_one_repository_and_one_environment" {
  # Mocked: the provider's ARN is known only after an apply, which costs nothing here.
  command = apply

  assert {
    condition = alltrue([for env, d in data.aws_iam_policy_document.trust : anytrue([for s in d.statement : anytrue([
      for c in s.condition : c.test == "StringEquals" && c.variable == "token.actions.githubusercontent.com:sub" && toset(c.values) == toset(["repo:acme/serverless-etl-delivery:environment:${env}"])
    ])])])
    error_message = "each role's OIDC subject is exactly repo:acme/serverless-etl-delivery:environment:<its environment>"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.trust : alltrue([for s in d.statement : anytrue([
      for c in s.condition : c.test == "StringEquals" && c.variable == "token.actions.githubusercontent.com:aud" && toset(c.values) == toset(["sts.amazonaws.com"])
    ])])])
    error_message = "each role requires the audience sts.amazonaws.com"
  }
  assert {
    condition = alltrue(flatten([for d in data.aws_iam_policy_document.trust : [for s in d.statement : [
      s.actions == toset(["sts:AssumeRoleWithWebIdentity"]),
      [for p in s.principals : p.type == "Federated" && p.identifiers == toset(["arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"])],
      [for c in s.condition : c.test == "StringEquals"],
    ]]]))
    error_message = "only web identities of the GitHub provider, and no StringLike (wildcard) condition"
  }
  assert {
    condition     = aws_iam_role.this["prod"].name == "github-actions-prod" && aws_iam_role.this["prod"].max_session_duration >= (100 + 2 * 15) * 60
    error_message = "roles are named <prefix>-<environment>; a release job's session outlasts the longest predefined deployment (100 minutes) and both hooks (15 minutes each)"
  }
}

run "every_role_does_only_what_its_environments_job_does" {
  command = plan

  assert {
    condition = alltrue(flatten([for d in data.aws_iam_policy_document.this : [for s in d.statement : [
      for a in s.actions : !strcontains(a, "*")
    ]]]))
    error_message = "no wildcard action"
  }
  assert {
    condition = alltrue(flatten([for d in data.aws_iam_policy_document.this : [for s in d.statement : [
      for r in s.resources : r != "*"
    ]]]))
    error_message = "no wildcard resource"
  }
  assert {
    condition = alltrue([for env, r in var.roles : anytrue([for s in data.aws_iam_policy_document.this[env].statement :
      s.sid == "AssumeDeployRoles" && s.actions == toset(["sts:AssumeRole"]) && s.resources == toset(r.assume_role_arns)
    ])])
    error_message = "each role may assume exactly its listed deploy roles"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this["dev"].statement :
      s.sid == "ReadWriteReleases" && s.actions == toset(["s3:GetObject", "s3:PutObject"]) && s.resources == toset(["arn:aws:s3:::artifacts-444444444444-us-east-1/releases/*"])
    ])
    error_message = "dev's job uploads releases under releases/ only"
  }
  assert {
    condition = alltrue([for env in ["test", "prod"] : !anytrue([for s in data.aws_iam_policy_document.this[env].statement :
      contains(s.actions, "s3:PutObject") || contains(s.actions, "kms:GenerateDataKey") || contains(s.actions, "kms:Encrypt")
    ])])
    error_message = "promotion jobs read releases and never write them"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.this["dev"].statement :
      s.sid == "ArtifactKey" && s.actions == toset(["kms:Decrypt", "kms:GenerateDataKey"])
    ])
    error_message = "an upload encrypts with kms:GenerateDataKey (S3 SSE-KMS never calls kms:Encrypt)"
  }
  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.this : alltrue([for s in d.statement : anytrue([
      for c in s.condition : c.variable == "kms:ViaService" && toset(c.values) == toset(["s3.us-east-1.amazonaws.com"])
    ]) if s.sid == "ArtifactKey"])])
    error_message = "the artifact key is usable only through S3"
  }
}

run "an_existing_provider_is_used_as_is" {
  command = plan
  variables {
    create_provider = false
    provider_arn    = "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.this) == 0
    error_message = "no second provider"
  }
  assert {
    condition     = output.provider_arn == "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"
    error_message = "the given provider is exported"
  }
}

run "provider_only_for_a_workload_account" {
  command = plan
  variables {
    github_repository    = null
    artifact_bucket_arn  = null
    artifact_kms_key_arn = null
    roles                = {}
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_openid_connect_provider.this) == 1
    error_message = "the provider and no role"
  }
}

run "rejects_a_repository_that_is_not_owner_slash_repo" {
  command = plan
  variables {
    github_repository = "acme/serverless-etl-delivery/extra"
  }
  expect_failures = [var.github_repository]
}

run "rejects_roles_without_a_repository" {
  command = plan
  variables {
    github_repository = null
  }
  expect_failures = [var.github_repository]
}

run "rejects_a_wildcard_environment" {
  command = plan
  variables {
    roles = { "*" = { assume_role_arns = ["arn:aws:iam::111111111111:role/deployer"] } }
  }
  expect_failures = [var.roles]
}

run "rejects_an_account_id_that_is_not_12_digits" {
  command = plan
  variables {
    roles = { dev = { assume_role_arns = ["arn:aws:iam::1111111111111:role/deployer"] } }
  }
  expect_failures = [var.roles]
}

run "rejects_an_unknown_artifact_access" {
  command = plan
  variables {
    roles = { dev = { assume_role_arns = ["arn:aws:iam::111111111111:role/deployer"], artifact_access = "admin" } }
  }
  expect_failures = [var.roles]
}

run "rejects_a_provider_arn_alongside_create_provider" {
  command = plan
  variables {
    provider_arn = "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"
  }
  expect_failures = [var.provider_arn]
}

run "rejects_a_bad_thumbprint" {
  command = plan
  variables {
    thumbprint_list = ["not-a-thumbprint"]
  }
  expect_failures = [var.thumbprint_list]
}

run "rejects_a_session_longer_than_iam_allows" {
  command = plan
  variables {
    max_session_duration_seconds = 43201
  }
  expect_failures = [var.max_session_duration_seconds]
}
