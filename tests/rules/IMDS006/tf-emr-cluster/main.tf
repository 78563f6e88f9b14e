# EMR clusters take their IMDS settings from their security configuration; without one, EMR's
# default (IMDS version 1) leaves IMDSv1 allowed.
resource "aws_emr_security_configuration" "imdsv2" {
  name = "imdsv2"
  configuration = jsonencode({
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 1
    }
  })
}

resource "aws_emr_cluster" "with_configuration" {
  name                   = "analytics"
  release_label          = "emr-7.1.0"
  service_role           = "arn:aws:iam::123456789012:role/EMR_DefaultRole"
  security_configuration = aws_emr_security_configuration.imdsv2.name

  master_instance_group {
    instance_type = "m5.xlarge"
  }
}

resource "aws_emr_cluster" "default" { # imds-expect: IMDS006@1
  name          = "scratch"
  release_label = "emr-7.1.0"
  service_role  = "arn:aws:iam::123456789012:role/EMR_DefaultRole"

  master_instance_group {
    instance_type = "m5.xlarge"
  }
}
