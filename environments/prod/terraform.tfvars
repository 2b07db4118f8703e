# Placeholders (the local cloud's accounts): replace with the real account ids and
# repository before the first apply. See environments/README.md.
account_id         = "333333333333"
tooling_account_id = "444444444444"
github_repository  = "acme/serverless-etl-delivery"

# promote --to prod only: the pipeline's stage after the approval, and GitHub jobs
# bound to the "prod" environment (protect it with required reviewers).
trusted_tooling_role_names = [
  "etl-release-promote-prod",
  "github-actions-prod",
]
