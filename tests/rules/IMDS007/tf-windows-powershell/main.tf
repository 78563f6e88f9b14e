# A Windows Server instance whose user data is a <powershell> block run by EC2Launch v2.
resource "aws_instance" "iis" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.large"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  user_data = <<-EOT
    <powershell>
    Install-WindowsFeature -Name Web-Server -IncludeManagementTools
    $instanceId = Invoke-RestMethod -Uri http://169.254.169.254/latest/meta-data/instance-id # imds-expect: IMDS007@19
    Set-Content -Path C:\inetpub\wwwroot\index.html -Value "<h1>$instanceId</h1>"
    </powershell>
    <persist>false</persist>
  EOT
}
