# The artifact store's safety properties, against a mocked provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "444444444444" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:444444444444:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::artifacts-444444444444" }
  }
}

variables {
  name             = "artifacts-444444444444"
  reader_role_arns = ["arn:aws:iam::111111111111:role/deployer", "arn:aws:iam::222222222222:role/deployer"]
}

run "encrypted_private_versioned_and_tls_only" {
  command = apply

  assert {
    condition     = alltrue([for r in aws_s3_bucket_server_side_encryption_configuration.this.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" && r.apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.this.arn])
    error_message = "artifacts are encrypted with the module's customer-managed key"
  }
  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "the key rotates"
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.block_public_policy && aws_s3_bucket_public_access_block.this.ignore_public_acls && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    error_message = "public access is blocked"
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "artifacts are versioned"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.bucket.statement : s.effect == "Deny" && anytrue([
      for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")
    ])])
    error_message = "requests without TLS are denied"
  }
}

run "workload_deploy_roles_read_and_decrypt_only" {
  command = apply

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.bucket.statement : s.effect == "Deny" || alltrue([
      for a in s.actions : contains(["s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], a)
    ])])
    error_message = "the bucket grants only list, get and (to writers) put"
  }
  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.key.statement : s.sid != "ReadersDecrypt" || (
      toset(s.actions) == toset(["kms:Decrypt", "kms:DescribeKey"]) && toset(one(s.principals).identifiers) == toset(var.reader_role_arns)
    )])
    error_message = "the readers, exactly, may decrypt and nothing more"
  }
  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.bucket.statement : s.sid == "WritersPut"])
    error_message = "no writer statement without writers"
  }
}

run "writers_may_put" {
  command = apply
  variables {
    writer_role_arns = ["arn:aws:iam::444444444444:role/pipeline"]
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.bucket.statement : s.sid == "WritersPut" && contains(one(s.principals).identifiers, "arn:aws:iam::444444444444:role/pipeline")])
    error_message = "the pipeline role may write artifacts"
  }
}

run "rejects_a_malformed_role_arn" {
  command = plan
  variables {
    reader_role_arns = ["arn:aws:iam::1111:role/deployer"]
  }
  expect_failures = [var.reader_role_arns]
}

run "rejects_a_bad_bucket_name" {
  command = plan
  variables {
    name = "Artifacts_Bucket"
  }
  expect_failures = [var.name]
}
