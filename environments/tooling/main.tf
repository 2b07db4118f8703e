# The tooling account: the artifact store, GitHub Actions' OIDC provider with one role
# per GitHub environment, and the release pipeline. Every release reaches a workload
# account only by assuming that account's deploy role from here.

locals {
  tags = {
    project     = "serverless-etl-delivery"
    environment = "tooling"
    managed-by  = "terraform"
  }

  deploy_role_arns = { for env, id in var.workload_accounts : env => "arn:aws:iam::${id}:role/${var.deploy_role_name}" }

  # Whose deploy role each GitHub environment's job assumes: its own, and for a
  # promotion the source environment's (to read its ledger).
  github_assumes = { dev = ["dev"], test = ["dev", "test"], prod = ["test", "prod"] }
}

# The deployer's settings (environments/<env>/deployer.yaml) name this bucket.
module "artifacts" {
  source = "../../terraform/modules/artifact-store"

  name = "artifacts-${var.account_id}-${var.region}"
  # The workload deploy roles may read and decrypt releases across accounts. The
  # tooling account's own roles (pipeline, GitHub) are granted by their policies.
  reader_role_arns = values(local.deploy_role_arns)
  tags             = local.tags
}

# A GitHub job bound to an environment assumes that environment's role here, then the
# deployer assumes the deploy roles from it, as the pipeline's stages do: deploy --env
# dev uploads the release; promote reads it and the source environment's ledger.
module "github" {
  source = "../../terraform/modules/github-oidc"

  create_provider      = var.github_oidc_provider_arn == null
  provider_arn         = var.github_oidc_provider_arn
  github_repository    = var.github_repository
  artifact_bucket_arn  = module.artifacts.bucket_arn
  artifact_kms_key_arn = module.artifacts.kms_key_arn
  roles = { for env, assumes in local.github_assumes : env => {
    assume_role_arns = [for e in assumes : local.deploy_role_arns[e]]
    artifact_access  = env == "dev" ? "read-write" : "read"
  } }
  tags = local.tags
}

module "pipeline" {
  source = "../../terraform/modules/pipeline"

  name                = var.pipeline_name
  connection_arn      = var.connection_arn
  repository          = var.github_repository
  artifact_bucket     = module.artifacts.bucket
  kms_key_arn         = module.artifacts.kms_key_arn
  deploy_role_arns    = local.deploy_role_arns
  notification_emails = var.notification_emails
  tags                = local.tags
}
