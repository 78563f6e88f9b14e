# Golden images registered by a platform team. An AMI marked imds_support = "v2.0" makes the
# instances launched from it require tokens by default; the others leave IMDSv1 allowed.

resource "aws_ebs_snapshot" "root" {
  volume_id = "vol-0a1b2c3d4e5f60718"
}

resource "aws_ami" "legacy" { # imds-expect: IMDS009@1
  name                = "legacy-2026-11"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"

  ebs_block_device {
    device_name = "/dev/xvda"
    snapshot_id = aws_ebs_snapshot.root.id
    volume_size = 8
  }
}

resource "aws_ami" "golden" {
  name                = "golden-2026-12"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
  imds_support        = "v2.0"

  ebs_block_device {
    device_name = "/dev/xvda"
    snapshot_id = aws_ebs_snapshot.root.id
    volume_size = 8
  }
}

resource "aws_ami" "blank" {
  name                = "blank-2026-12"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
  imds_support        = "" # imds-expect: IMDS009@25

  ebs_block_device {
    device_name = "/dev/xvda"
    snapshot_id = aws_ebs_snapshot.root.id
    volume_size = 8
  }
}

resource "aws_ami_from_instance" "snapshot" { # imds-expect: IMDS009@1
  name               = "builder-snapshot"
  source_instance_id = "i-0a1b2c3d4e5f60718"
}

# A copy keeps its source AMI's ImdsSupport (CopyImage takes none): the source is not read here.
resource "aws_ami_copy" "golden_eu" { # imds-expect: IMDS009@1
  name              = "golden-2026-12-eu"
  description       = "A copy of the golden image for eu-west-1"
  source_ami_id     = "ami-0a1b2c3d4e5f60718"
  source_ami_region = "us-east-1"
  encrypted         = true
}
