variable "name" {
  description = "Name of the pipeline; its CodeBuild projects, roles and log groups are named <name>-<stage> (for example etl-release-promote-prod), which the workload deploy roles trust."
  type        = string
  default     = "etl-release"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name must be 3-40 of a-z, 0-9 and -, starting with a letter (role names add up to 13 characters, IAM allows 64)."
  }
}

variable "connection_arn" {
  description = "ARN of the CodeStar / CodeConnections connection to the source repository (created and authorised once in the console: the handshake with GitHub cannot be done by Terraform)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:connection/[0-9a-f-]{36}$", var.connection_arn))
    error_message = "connection_arn must be a connection ARN such as arn:aws:codeconnections:us-east-1:444444444444:connection/00000000-0000-0000-0000-000000000000 (account 12 digits)."
  }
}

variable "repository" {
  description = "The source repository, \"owner/repo\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be \"owner/repo\" (for example \"acme/serverless-etl-delivery\")."
  }
}

variable "branch" {
  description = "The branch whose every merge runs the pipeline."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,255}$", var.branch)) && !strcontains(var.branch, "..")
    error_message = "branch must be a branch name such as main (letters, digits, ., _, / and -)."
  }
}

variable "artifact_bucket" {
  description = "Name of the artifact store's bucket (the artifact-store module): the pipeline's artifacts go under <name's first 20 characters>/, the deployer's releases under releases/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket)) && !strcontains(var.artifact_bucket, "..")
    error_message = "artifact_bucket must be an S3 bucket name (3-63 of a-z, 0-9, . and -), not an ARN."
  }
}

variable "kms_key_arn" {
  description = "ARN of the artifact store's customer-managed KMS key: it encrypts the pipeline's artifacts and the CodeBuild projects' output."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN with a 12-digit account, such as arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000 (a key, not an alias)."
  }
}

variable "deploy_role_arns" {
  description = "The deploy role of each workload environment, keyed dev, test and prod (the deploy-role module in each account). Each stage's CodeBuild role may assume only the roles its command needs."
  type        = map(string)

  validation {
    condition     = toset(keys(var.deploy_role_arns)) == toset(["dev", "test", "prod"])
    error_message = "deploy_role_arns must have exactly the keys dev, test and prod (got: ${join(", ", keys(var.deploy_role_arns))})."
  }

  validation {
    condition     = alltrue([for arn in values(var.deploy_role_arns) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}$", arn))])
    error_message = "deploy_role_arns: every value must be an IAM role ARN with a 12-digit account, such as arn:aws:iam::111111111111:role/deployer."
  }

  validation {
    condition     = length(distinct([for arn in values(var.deploy_role_arns) : split(":", arn)[4]])) == 3
    error_message = "deploy_role_arns: dev, test and prod must be three different accounts."
  }
}

variable "buildspecs" {
  description = "Per stage, the buildspec's path in the repository (package, deploy_dev, promote_test, promote_prod)."
  type        = map(string)
  default = {
    package      = "pipelines/codepipeline/buildspec-package.yml"
    deploy_dev   = "pipelines/codepipeline/buildspec-deploy-dev.yml"
    promote_test = "pipelines/codepipeline/buildspec-promote-test.yml"
    promote_prod = "pipelines/codepipeline/buildspec-promote-prod.yml"
  }

  validation {
    condition     = toset(keys(var.buildspecs)) == toset(["package", "deploy_dev", "promote_test", "promote_prod"])
    error_message = "buildspecs must have exactly the keys package, deploy_dev, promote_test and promote_prod."
  }

  validation {
    condition     = alltrue([for p in values(var.buildspecs) : can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\\.ya?ml$", p)) && !strcontains(p, "..")])
    error_message = "buildspecs: every value must be a relative .yml / .yaml path inside the repository, such as pipelines/codepipeline/buildspec-package.yml."
  }
}

variable "build_image" {
  description = "CodeBuild image of every project. The default builds arm64 Lambdas natively."
  type        = string
  default     = "aws/codebuild/amazonlinux-aarch64-standard:3.0"

  validation {
    condition     = length(var.build_image) > 0
    error_message = "build_image must name a CodeBuild image."
  }
}

variable "build_environment_type" {
  description = "CodeBuild environment type: ARM_CONTAINER (arm64 image) or LINUX_CONTAINER (x86_64 image)."
  type        = string
  default     = "ARM_CONTAINER"

  validation {
    condition     = contains(["ARM_CONTAINER", "LINUX_CONTAINER"], var.build_environment_type)
    error_message = "build_environment_type must be ARM_CONTAINER or LINUX_CONTAINER."
  }
}

variable "compute_types" {
  description = "Per stage, the CodeBuild compute type. Packaging compiles the workspace; the other stages only run the deployer."
  type        = map(string)
  default = {
    package      = "BUILD_GENERAL1_LARGE"
    deploy_dev   = "BUILD_GENERAL1_SMALL"
    promote_test = "BUILD_GENERAL1_SMALL"
    promote_prod = "BUILD_GENERAL1_SMALL"
  }

  validation {
    condition     = toset(keys(var.compute_types)) == toset(["package", "deploy_dev", "promote_test", "promote_prod"])
    error_message = "compute_types must have exactly the keys package, deploy_dev, promote_test and promote_prod."
  }

  validation {
    condition     = alltrue([for t in values(var.compute_types) : contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"], t)])
    error_message = "compute_types: every value must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE."
  }
}

variable "build_timeout_minutes" {
  description = "How long a stage may run (5-2160 minutes). A deploy waits for every canary step, the hooks and the alarms: the default, 3 hours, covers the longest predefined deployment (LambdaLinear10PercentEvery10Minutes, 100 minutes) with both hooks at Lambda's 15-minute limit."
  type        = number
  default     = 180

  validation {
    condition     = var.build_timeout_minutes >= 5 && var.build_timeout_minutes <= 2160 && floor(var.build_timeout_minutes) == var.build_timeout_minutes
    error_message = "build_timeout_minutes must be a whole number between 5 and 2160."
  }
}

variable "notification_emails" {
  description = "Addresses subscribed to the notification topic (each confirms by mail): failed executions and approvals waiting."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails: every entry must be an e-mail address."
  }
}

variable "log_retention_days" {
  description = "Retention of the CodeBuild log groups, in days (a value CloudWatch Logs accepts). They record who released what: a year by default."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module's own key (logs, notifications) is deleted (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
