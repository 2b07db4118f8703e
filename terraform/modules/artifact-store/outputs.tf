output "bucket" {
  description = "The artifact bucket's name."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "The artifact bucket's ARN."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "The customer-managed key that encrypts the artifacts."
  value       = aws_kms_key.this.arn
}
