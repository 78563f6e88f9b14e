"""The PowerShell analyser: Invoke-RestMethod/-WebRequest, aliases, WebClient; the fix."""
# ruff: noqa: E501  (realistic script lines)

from __future__ import annotations

import time

import pytest

from imds_iac_checks.hazards import powershell
from imds_iac_checks.model import METADATA_CALL
from tests.hazards.shell_helpers import apply, found

TOKEN = (
    '$token = Invoke-RestMethod -Method PUT -Uri "http://169.254.169.254/latest/api/token" '
    '-Headers @{"X-aws-ec2-metadata-token-ttl-seconds" = "21600"}\n'
)
H = '-Headers @{"X-aws-ec2-metadata-token" = $token}'

POSITIVE = [
    ("irm", "$region = irm http://169.254.169.254/latest/meta-data/placement/region\n"),
    (
        "invoke-restmethod-uri",
        '$id = Invoke-RestMethod -Uri "http://169.254.169.254/latest/meta-data/instance-id"\n',
    ),
    (
        "iwr-basic",
        "$doc = (Invoke-WebRequest -UseBasicParsing -Uri 'http://169.254.169.254/latest/dynamic/instance-identity/document').Content\n",
    ),
    ("iwr-alias", "$ud = (iwr http://169.254.169.254/latest/user-data -UseBasicParsing).Content\n"),
    ("curl-alias", "$h = curl http://169.254.169.254/latest/meta-data/hostname -UseBasicParsing\n"),
    (
        "variable",
        '$imds = "http://169.254.169.254/latest"\n$az = Invoke-RestMethod "$imds/meta-data/placement/availability-zone"\n',
    ),
    (
        "headers-hashtable",
        '$r = Invoke-RestMethod -Uri http://169.254.169.254/latest/meta-data/iam/info -Headers @{"Accept" = "application/json"}\n',
    ),
]
NEGATIVE = [
    (
        "irm",
        TOKEN + f"$region = irm {H} http://169.254.169.254/latest/meta-data/placement/region\n",
    ),
    (
        "invoke-restmethod-uri",
        TOKEN
        + f'$id = Invoke-RestMethod -Uri "http://169.254.169.254/latest/meta-data/instance-id" {H}\n',
    ),
    (
        "headers-variable",
        TOKEN
        + '$headers = @{"X-aws-ec2-metadata-token" = $token}\n$id = Invoke-RestMethod -Uri "http://169.254.169.254/latest/meta-data/instance-id" -Headers $headers\n',
    ),
    (
        "headers-added",
        TOKEN
        + '$hd = @{}\n$hd["X-aws-ec2-metadata-token"] = $token\niwr -UseBasicParsing http://169.254.169.254/latest/user-data -Headers $hd\n',
    ),
    (
        "webclient-header",
        TOKEN
        + '$wc = New-Object System.Net.WebClient\n$wc.Headers.Add("X-aws-ec2-metadata-token", $token)\n$ud = $wc.DownloadString("http://169.254.169.254/latest/user-data")\n',
    ),
    (
        "ecs-and-others",
        "irm http://169.254.170.2/v2/metadata\niwr https://example.com/x\n$r = Get-EC2InstanceMetadata -Category Region\n",
    ),
]


@pytest.mark.parametrize(("name", "text"), POSITIVE, ids=[p[0] for p in POSITIVE])
def test_positive_and_fix(name: str, text: str) -> None:
    script = (
        "<powershell>\n$ErrorActionPreference = 'Stop'\n"
        + text
        + "</powershell>\n<persist>true</persist>\n"
    )
    (f,) = found(powershell, script, "powershell")
    assert f.kind == METADATA_CALL and "169.254.169.254" in dict(f.details)["url"]
    assert f.what.endswith("without a session token")
    fixed = apply(script, [f])
    assert powershell.check_syntax(fixed) is None, fixed
    assert found(powershell, fixed, "powershell") == [], fixed
    assert fixed.count("/latest/api/token") == 1
    assert fixed.index("api/token") > fixed.index("$ErrorActionPreference")
    assert apply(fixed, found(powershell, fixed, "powershell")) == fixed


@pytest.mark.parametrize(("name", "text"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_token_flow_negative(name: str, text: str) -> None:
    assert found(powershell, text, "powershell") == []


def test_fix_text_and_hashtable_entry() -> None:
    text = POSITIVE[6][1]
    (f,) = found(powershell, text, "powershell")
    assert apply(text, [f]) == TOKEN + (
        "$r = Invoke-RestMethod -Uri http://169.254.169.254/latest/meta-data/iam/info "
        '-Headers @{"Accept" = "application/json"; "X-aws-ec2-metadata-token" = $token}\n'
    )


def test_reuses_token_and_shares_line() -> None:
    text = TOKEN + POSITIVE[0][1]
    (f,) = found(powershell, text, "powershell")
    assert len(f.edits) == 1 and "$token" in f.edits[0][2]
    both = POSITIVE[0][1] + POSITIVE[1][1]
    a, b = found(powershell, both, "powershell")
    assert a.edits[0] == b.edits[0]


def test_no_fix_cases() -> None:
    text = (
        "$h = @{Accept = 'text/plain'}\n"
        "Invoke-RestMethod -Uri http://169.254.169.254/latest/meta-data/ami-id -Headers $h\n"
        "$ud = (New-Object Net.WebClient).DownloadString('http://169.254.169.254/latest/user-data')\n"
        '$x = [System.Net.WebClient]::new().DownloadString("http://169.254.169.254/latest/meta-data/")\n'
        "curl -s http://169.254.169.254/latest/meta-data/ami-id\n"
    )
    founds = found(powershell, text, "powershell")
    assert len(founds) == 4
    assert all(f.no_fix and not f.edits for f in founds)


def test_only_inside_powershell_tags() -> None:
    text = "<script>\ncurl http://169.254.169.254/latest/meta-data/ami-id\n</script>\n<powershell>\nWrite-Host hi\n</powershell>\n"
    assert found(powershell, text, "powershell") == []


def test_name_taken() -> None:
    text = "$token = Get-Content C:\\token.txt\n" + POSITIVE[0][1]
    (f,) = found(powershell, text, "powershell")
    fixed = apply(text, [f])
    assert "$imdsToken = Invoke-RestMethod -Method PUT" in fixed and "= $imdsToken}" in fixed


def test_hostile_many_calls() -> None:
    text = "irm http://169.254.169.254/latest/meta-data/ami-id\n" * 5000
    start = time.perf_counter()
    founds = found(powershell, text, "powershell")
    assert time.perf_counter() - start < 20
    assert len(founds) == 5000 and len({f.edits[0] for f in founds}) == 1


def test_hostile_recursive_variables() -> None:
    text = '$a = "$b/x"\n$b = "$a/y"\nirm "$a/meta-data"\nirm "http://169.254.169.254/$a"\n'
    (f,) = found(powershell, text, "powershell")
    assert dict(f.details)["url"].startswith("http://169.254.169.254/")
