# Placeholders (the local cloud's accounts): replace with the real account ids and
# repository before the first apply. See environments/README.md.
account_id         = "222222222222"
tooling_account_id = "444444444444"
github_repository  = "acme/serverless-etl-delivery"

# promote --to test (pipeline, GitHub "test"); promote --to prod reads test's ledger
# (pipeline, GitHub "prod").
trusted_tooling_role_names = [
  "etl-release-promote-test",
  "etl-release-promote-prod",
  "github-actions-test",
  "github-actions-prod",
]
