# Placeholders (the local cloud's accounts): replace with the real account ids,
# repository and connection before the first apply. See environments/README.md.
account_id = "444444444444"
workload_accounts = {
  dev  = "111111111111"
  test = "222222222222"
  prod = "333333333333"
}
github_repository   = "acme/serverless-etl-delivery"
connection_arn      = "arn:aws:codeconnections:us-east-1:444444444444:connection/00000000-0000-0000-0000-000000000000"
notification_emails = ["platform-team@example.com"]
