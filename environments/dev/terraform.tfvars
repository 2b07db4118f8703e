# Placeholders (the local cloud's accounts): replace with the real account ids and
# repository before the first apply. See environments/README.md.
account_id         = "111111111111"
tooling_account_id = "444444444444"
github_repository  = "acme/serverless-etl-delivery"

# deploy --env dev (pipeline, GitHub "dev"); promote --to test reads dev's ledger
# (pipeline, GitHub "test").
trusted_tooling_role_names = [
  "etl-release-deploy-dev",
  "etl-release-promote-test",
  "github-actions-dev",
  "github-actions-test",
]
