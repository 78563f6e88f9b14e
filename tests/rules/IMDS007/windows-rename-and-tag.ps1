# Windows Server bootstrap run by EC2Launch: names the computer after the instance and writes
# the availability zone for the app. Every request is IMDSv1 (no token header).
$ErrorActionPreference = "Stop"
$instanceId = Invoke-RestMethod -Uri "http://169.254.169.254/latest/meta-data/instance-id"  # imds-expect: IMDS007@15
$az = (Invoke-WebRequest -UseBasicParsing -Uri http://169.254.169.254/latest/meta-data/placement/availability-zone).Content  # imds-expect: IMDS007@8
$ip = irm http://169.254.169.254/latest/meta-data/local-ipv4  # imds-expect: IMDS007@7
$mac = (iwr -UseBasicParsing "http://169.254.169.254/latest/meta-data/mac").Content  # imds-expect: IMDS007@9
Set-Content -Path "C:\app\placement.txt" -Value "$az $ip $mac"
Rename-Computer -NewName ($instanceId -replace "^i-", "web-") -Force -Restart
