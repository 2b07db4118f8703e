# Partial backend configuration: terraform init -backend-config=backend.hcl
# Placeholders: the state bucket is created once, before any root (environments/README.md).
bucket = "terraform-state-444444444444-us-east-1"
key    = "serverless-etl-delivery/prod/terraform.tfstate"
region = "us-east-1"
