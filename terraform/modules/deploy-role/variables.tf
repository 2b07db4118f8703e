variable "name" {
  description = "Name of the role the deployer assumes in this workload account (deploy_role in environments/<env>/deployer.yaml)."
  type        = string
  default     = "deployer"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -."
  }
}

variable "function_arns" {
  description = "Unqualified ARNs of the functions the deployer releases (arn:aws:lambda:REGION:ACCOUNT:function:NAME). The role may update their code, publish versions, move and read their live alias, and prune old versions."
  type        = list(string)

  validation {
    condition     = length(var.function_arns) > 0
    error_message = "function_arns must name at least one function."
  }

  validation {
    condition     = alltrue([for arn in var.function_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$", arn))])
    error_message = "function_arns: every entry must be an unqualified Lambda function ARN with a 12-digit account, such as arn:aws:lambda:us-east-1:111111111111:function:etl-dev-extract (no :version or :alias)."
  }
}

variable "hook_function_arns" {
  description = "Unqualified ARNs of the pre- and post-traffic hook functions, whose code the deployer updates before the deployments that run them."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.hook_function_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$", arn))])
    error_message = "hook_function_arns: every entry must be an unqualified Lambda function ARN with a 12-digit account, such as arn:aws:lambda:us-east-1:111111111111:function:etl-dev-pre-traffic."
  }
}

variable "hook_role_arns" {
  description = "ARNs of the hooks' roles, whose policies `deployer doctor` simulates (iam:SimulatePrincipalPolicy) besides this role's own."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.hook_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}$", arn))])
    error_message = "hook_role_arns: every entry must be an IAM role ARN with a 12-digit account, such as arn:aws:iam::111111111111:role/etl-dev-pre-traffic."
  }
}

variable "application_name" {
  description = "The CodeDeploy application (compute platform Lambda) whose deployment groups the deployer deploys to, for example \"etl-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._+=,@-]{1,100}$", var.application_name))
    error_message = "application_name must be a CodeDeploy application name: 1-100 of A-Z a-z 0-9 . _ + = , @ -."
  }
}

variable "deployment_group_names" {
  description = "The application's deployment groups (one per function, named after it)."
  type        = list(string)

  validation {
    condition     = length(var.deployment_group_names) > 0 && alltrue([for g in var.deployment_group_names : can(regex("^[A-Za-z0-9._+=,@-]{1,100}$", g))])
    error_message = "deployment_group_names must list at least one group, each 1-100 of A-Z a-z 0-9 . _ + = , @ -."
  }
}

variable "deployment_config_names" {
  description = "The deployment configurations the groups use, which the deployer reads to show the schedule: a CodeDeployDefault.Lambda* name or the traffic-shifting module's custom one."
  type        = list(string)

  validation {
    condition     = length(var.deployment_config_names) > 0 && alltrue([for c in var.deployment_config_names : can(regex("^[A-Za-z0-9._+=,@-]{1,100}$", c))])
    error_message = "deployment_config_names must list at least one configuration name, each 1-100 of A-Z a-z 0-9 . _ + = , @ - (a name, not an ARN)."
  }
}

variable "alarm_arns" {
  description = "ARNs of the alarms the deployer watches while traffic shifts (the deployment groups' alarms)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_arns : can(regex("^arn:aws[a-z-]*:cloudwatch:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:alarm:.{1,255}$", arn))])
    error_message = "alarm_arns: every entry must be a CloudWatch alarm ARN with a 12-digit account, such as arn:aws:cloudwatch:us-east-1:111111111111:alarm:etl-dev-extract-errors."
  }
}

variable "release_table_arn" {
  description = "ARN of the environment's release ledger and lock (the traffic-shifting module's DynamoDB table)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.release_table_arn))
    error_message = "release_table_arn must be a DynamoDB table ARN with a 12-digit account, such as arn:aws:dynamodb:us-east-1:111111111111:table/etl-dev-releases."
  }
}

variable "kms_key_arns" {
  description = "ARNs of the KMS keys that encrypt the release ledger (the traffic-shifting module's key). The role may use them only through DynamoDB."
  type        = list(string)

  validation {
    condition     = length(var.kms_key_arns) > 0 && alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$", arn))])
    error_message = "kms_key_arns must list at least one KMS key ARN with a 12-digit account, such as arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000 (a key, not an alias)."
  }
}

variable "workflow" {
  description = <<-EOT
    The workflow the functions serve, for the evidence traffic (deployer.yaml: workflow, evidence.traffic). The role may start the state machine's executions, read them and their histories, and read its definition (the replay's dry runs and the judge's pairs), list the raw bucket's dt= partitions, and write the synthetic partition (dt=2000-01-01/) with the data key through S3. With curated_bucket_arn and quarantine_bucket_arn, the differential shadow run may also read, never write, a day's production output and the dry run's under shadow/, to compare them. null: no replay, synthetic traffic or shadow diff.
    - state_machine_arn: the etl-workflow module's state machine.
    - raw_bucket_arn: its raw bucket (arn:aws:s3:::NAME).
    - data_key_arn: the KMS key that encrypts the raw bucket (and the curated and quarantine buckets: the module has one data key).
    - curated_bucket_arn (optional): its curated bucket (arn:aws:s3:::NAME). The role may list and read dt=<day>/ and shadow/dt=<day>/, and decrypt them with data_key_arn through S3. null: no curated reads.
    - quarantine_bucket_arn (optional): its quarantine bucket (arn:aws:s3:::NAME). The role may list and read quarantine/dt=<day>/ and shadow/quarantine/dt=<day>/, and decrypt them with data_key_arn through S3. null: no quarantine reads.
  EOT
  type = object({
    state_machine_arn     = string
    raw_bucket_arn        = string
    data_key_arn          = string
    curated_bucket_arn    = optional(string)
    quarantine_bucket_arn = optional(string)
  })
  default = null

  validation {
    condition     = var.workflow == null ? true : can(regex("^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.workflow.state_machine_arn))
    error_message = "workflow.state_machine_arn must be a Step Functions state machine ARN with a 12-digit account, such as arn:aws:states:us-east-1:111111111111:stateMachine:etl-dev-etl (no version or alias)."
  }

  validation {
    condition     = var.workflow == null ? true : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.workflow.raw_bucket_arn))
    error_message = "workflow.raw_bucket_arn must be an S3 bucket ARN, such as arn:aws:s3:::etl-dev-raw-111111111111 (the bucket, not an object)."
  }

  validation {
    condition     = var.workflow == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$", var.workflow.data_key_arn))
    error_message = "workflow.data_key_arn must be a KMS key ARN with a 12-digit account (a key, not an alias)."
  }

  validation {
    condition     = try(var.workflow.curated_bucket_arn, null) == null ? true : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.workflow.curated_bucket_arn))
    error_message = "workflow.curated_bucket_arn must be an S3 bucket ARN, such as arn:aws:s3:::etl-dev-curated-111111111111 (the bucket, not an object or a prefix), or null."
  }

  validation {
    condition     = try(var.workflow.quarantine_bucket_arn, null) == null ? true : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.workflow.quarantine_bucket_arn))
    error_message = "workflow.quarantine_bucket_arn must be an S3 bucket ARN, such as arn:aws:s3:::etl-dev-quarantine-111111111111 (the bucket, not an object or a prefix), or null."
  }
}

variable "trusted_role_arns" {
  description = "Roles in the tooling account that may assume this role: the pipeline's CodeBuild roles and the per-environment GitHub Actions roles. Role ARNs only, never an account root: trusting a root would let every principal its administrators allow deploy."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}$", arn))])
    error_message = "trusted_role_arns: every entry must be an IAM role ARN with a 12-digit account, such as arn:aws:iam::444444444444:role/etl-release-deploy-dev (not :root, not a user, not \"*\")."
  }

  validation {
    condition     = length(var.trusted_role_arns) > 0 || var.oidc_provider_arn != null
    error_message = "Nobody could assume the role: set trusted_role_arns (the tooling account's pipeline roles), oidc_provider_arn (GitHub Actions), or both."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider in this account (the github-oidc module). null: no GitHub trust."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be the GitHub Actions OIDC provider's ARN, arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com (ACCOUNT 12 digits), or null."
  }
}

variable "github_repository" {
  description = "The repository, \"owner/repo\", whose workflow jobs bound to github_environment may assume the role through GitHub OIDC. Required with oidc_provider_arn."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null ? true : can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be \"owner/repo\" (for example \"acme/serverless-etl-delivery\"): an owner of letters, digits and -, a repository of letters, digits, ., _ and -. No wildcard."
  }

  validation {
    condition     = var.oidc_provider_arn == null || var.github_repository != null
    error_message = "github_repository is required with oidc_provider_arn: the GitHub trust is pinned to one repository."
  }
}

variable "github_environment" {
  description = "The GitHub environment (for example \"prod\") a job must be bound to for its OIDC token to be trusted: the subject is exactly repo:<github_repository>:environment:<github_environment>. Required with oidc_provider_arn."
  type        = string
  default     = null

  validation {
    condition     = var.github_environment == null ? true : can(regex("^[A-Za-z0-9._-]{1,255}$", var.github_environment))
    error_message = "github_environment must be a GitHub environment name of letters, digits, ., _ and - (for example \"prod\"). No wildcard."
  }

  validation {
    condition     = var.oidc_provider_arn == null || var.github_environment != null
    error_message = "github_environment is required with oidc_provider_arn: the GitHub trust is pinned to one environment."
  }
}

variable "max_session_duration_seconds" {
  description = "The longest session of the role, in seconds (1-12 hours). A session the deployer gets by role chaining (from a tooling role) lasts at most one hour whatever this says, so the deployer renews it as it runs; a GitHub job that assumes this role directly (status, rollback, prune) gets up to this. The default, 3 hours, covers the longest predefined deployment (LambdaLinear10PercentEvery10Minutes, 100 minutes) with both hooks at Lambda's 15-minute limit."
  type        = number
  default     = 10800

  validation {
    condition     = var.max_session_duration_seconds >= 3600 && var.max_session_duration_seconds <= 43200 && floor(var.max_session_duration_seconds) == var.max_session_duration_seconds
    error_message = "max_session_duration_seconds must be a whole number of seconds from 3600 (1 hour) to 43200 (12 hours), IAM's limits."
  }
}

variable "review" {
  description = "What `deployer review` reads, read only, and the release log the deployer writes each release's verdict to: the ETL state machine, the environment's dashboard, the run ledger table, the workload's roles (the functions' and the state machine's; the deploy role reads itself), the release log group and its stream. All in this account. null: the role can neither review nor write the release log."
  type = object({
    state_machine_arn     = string
    dashboard_arn         = string
    run_ledger_arn        = string
    role_arns             = list(string)
    release_log_group_arn = string
    release_log_stream    = string
  })
  default = null

  validation {
    condition = var.review == null ? true : alltrue([
      can(regex("^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.review.state_machine_arn)),
      can(regex("^arn:aws[a-z-]*:cloudwatch::[0-9]{12}:dashboard/[A-Za-z0-9_-]{1,255}$", var.review.dashboard_arn)),
      can(regex("^arn:aws[a-z-]*:dynamodb:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.review.run_ledger_arn)),
      alltrue([for r in var.review.role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}$", r))]),
      can(regex("^arn:aws[a-z-]*:logs:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:log-group:[A-Za-z0-9_/.#-]{1,512}$", var.review.release_log_group_arn)),
      can(regex("^[^:*]{1,512}$", var.review.release_log_stream)),
    ])
    error_message = "review: state_machine_arn must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), dashboard_arn a dashboard ARN without region (arn:aws:cloudwatch::ACCOUNT:dashboard/NAME), run_ledger_arn a DynamoDB table ARN, role_arns IAM role ARNs, release_log_group_arn a log group ARN without :* (arn:aws:logs:REGION:ACCOUNT:log-group:NAME), release_log_stream a stream name (no : or *)."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
