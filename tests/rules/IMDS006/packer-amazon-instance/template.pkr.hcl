source "amazon-instance" "s3backed" { # imds-expect: IMDS006@1
  ami_name         = "s3backed-{{timestamp}}"
  instance_type    = "m3.medium"
  source_ami       = "ami-0123456789abcdef0"
  ssh_username     = "ec2-user"
  account_id       = "0123-4567-0890"
  s3_bucket        = "packer-images"
  x509_cert_path   = "x509.cert"
  x509_key_path    = "x509.key"
  x509_upload_path = "/tmp"
  imds_support     = "v2.0"

  # accepted, but the amazon-instance builder never sends it
  metadata_options {
    http_tokens = "required"
  }
}
