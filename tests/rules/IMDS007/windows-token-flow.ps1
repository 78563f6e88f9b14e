# The same bootstrap with IMDSv2: a token from PUT /latest/api/token, sent in -Headers.
$ErrorActionPreference = "Stop"
$token = Invoke-RestMethod -Method PUT -Uri "http://169.254.169.254/latest/api/token" -Headers @{"X-aws-ec2-metadata-token-ttl-seconds" = "21600"}
$headers = @{"X-aws-ec2-metadata-token" = $token}
$instanceId = Invoke-RestMethod -Headers $headers -Uri "http://169.254.169.254/latest/meta-data/instance-id"
$az = (Invoke-WebRequest -UseBasicParsing -Headers $headers -Uri http://169.254.169.254/latest/meta-data/placement/availability-zone).Content
$ip = irm -Headers @{"X-aws-ec2-metadata-token" = $token} http://169.254.169.254/latest/meta-data/local-ipv4
Set-Content -Path "C:\app\placement.txt" -Value "$az $ip"
Rename-Computer -NewName ($instanceId -replace "^i-", "web-") -Force -Restart
