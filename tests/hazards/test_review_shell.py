"""Regressions from the review of the shell and PowerShell analysers (issue 16): the token's
endpoint, cost on large scripts, ec2-metadata options and help, reasons of findings left by
``fix``, Terraform template loops, wget-only scripts, curl.exe in PowerShell, change text."""
# ruff: noqa: E501  (realistic script lines)

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

from imds_iac_checks.cli import main
from imds_iac_checks.hazards import powershell, shell
from tests.hazards.shell_helpers import apply, found, need_bash

MD = "http://169.254.169.254/latest/meta-data"


def run(capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    main(list(args))
    return capsys.readouterr().out


# 1. the IPv6 endpoint is off by default: a fallback to it must not move the token there


def test_token_from_ipv4_when_one_call_uses_ipv6_as_fallback() -> None:
    text = (
        "#!/bin/bash\n"
        f"IID=$(curl -s {MD}/instance-id)\n"
        '[ -n "$IID" ] || IID=$(curl -s "http://[fd00:ec2::254]/latest/meta-data/instance-id")\n'
    )
    fixed = apply(text, found(shell, text))
    assert 'TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token"' in fixed
    assert "[fd00:ec2::254]/latest/api/token" not in fixed


def test_token_from_ipv6_when_every_call_uses_it() -> None:
    text = '#!/bin/bash\ncurl -s "http://[fd00:ec2::254]/latest/meta-data/instance-id"\n'
    assert '"http://[fd00:ec2::254]/latest/api/token"' in apply(text, found(shell, text))


def test_powershell_token_from_ipv4_unless_every_call_uses_ipv6() -> None:
    mixed = (
        f"$a = Invoke-RestMethod {MD}/ami-id\n"
        '$b = Invoke-RestMethod "http://[fd00:ec2::254]/latest/meta-data/ami-id"\n'
    )
    fixed = apply(mixed, found(powershell, mixed, "powershell"))
    assert '-Uri "http://169.254.169.254/latest/api/token"' in fixed
    only6 = '$b = Invoke-RestMethod "http://[fd00:ec2::254]/latest/meta-data/ami-id"\n'
    fixed = apply(only6, found(powershell, only6, "powershell"))
    assert '-Uri "http://[fd00:ec2::254]/latest/api/token"' in fixed


# 2. cost: placing the hazards of one script is linear in its calls


def test_twenty_thousand_calls_in_one_script_through_the_scan(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    lines = [f"X{i}=$(curl -s {MD}/instance-id)\n" for i in range(20_000)]
    (tmp_path / "boot.sh").write_text("#!/bin/bash\n" + "".join(lines))
    start = time.perf_counter()
    out = run(capsys, "check", "--format", "concise", "--exit-zero", str(tmp_path))
    elapsed = time.perf_counter() - start
    print(f"\n20,000 calls in one script: {elapsed:.2f} s")
    assert out.count("IMDS007") == 20_000
    assert elapsed < 20


# 3. options that query nothing are not calls


def test_ec2_metadata_help_and_version_are_not_calls() -> None:
    for option in ("--help", "--version", "-h"):
        text = f"#!/bin/bash\nec2-metadata {option} >/dev/null 2>&1 || echo no\n"
        assert found(shell, text) == [], option
    assert len(found(shell, "#!/bin/bash\nec2-metadata -i\n")) == 1


# 4 and 5. the tool's own advice; each finding's own reason in fix's text output


def test_ec2_metadata_help_line_and_reasons_kept_apart(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.sh").write_text(
        f'#!/bin/bash\ncurl -s {MD}/ami-id\nec2-metadata -i\nbash -c "curl -s {MD}/instance-id"\n'
    )
    out = run(capsys, "check", "--exit-zero", str(tmp_path))
    tool = out[out.index("ec2-metadata calls IMDSv1") :]
    help_line = next(line for line in tool.splitlines() if "help:" in line)
    assert "update ec2-utils to 1.1 or later" in help_line
    # the first call is fixed (lines move: the token line), the other two are left
    text = run(capsys, "fix", "--unsafe-fixes", str(tmp_path))
    reasons = {}
    lines = text.splitlines()
    for line, following in itertools.pairwise(lines):
        if ": IMDS007 " in line and following.strip().startswith("not fixed:"):
            reasons[line.split(":")[1]] = following
    assert set(reasons) == {"4", "5"}, text
    assert "update ec2-utils to 1.1 or later" in reasons["4"]
    assert "bash -c" in reasons["5"] and "bash -c" not in reasons["4"]
    assert (tmp_path / "a.sh").read_text().count("X-aws-ec2-metadata-token: ${TOKEN}") == 1


def test_fix_reasons_kept_apart_when_nothing_is_fixed(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.sh").write_text(
        f'#!/bin/bash\nec2-metadata -i\nbash -c "curl -s {MD}/instance-id"\n'
    )
    data = json.loads(run(capsys, "fix", "--unsafe-fixes", "--format", "json", str(tmp_path)))
    reasons = {f["line"]: f["reason"] for f in data["findings"]}
    assert "update ec2-utils" in reasons[2] and "bash -c" in reasons[3], reasons


# 6. the token line never goes inside a Terraform template's %{ for } / %{ if } region

TEMPLATE = """resource "aws_instance" "web" {
  ami           = "ami-123"
  instance_type = "t3.micro"
  user_data     = <<-EOT
    #!/bin/bash
    echo start
    %{ for k in ["instance-id", "ami-id"] ~}
    curl -s http://169.254.169.254/latest/meta-data/${k}
    %{ endfor ~}
    X=$(curl -s http://169.254.169.254/latest/meta-data/mac)
  EOT
}
"""


def test_token_line_not_inside_template_loop(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "main.tf").write_text(TEMPLATE)
    run(capsys, "fix", "--unsafe-fixes", str(tmp_path))
    fixed = (tmp_path / "main.tf").read_text()
    token = fixed.index("TOKEN=$(curl -s -X PUT")
    assert token < fixed.index("%{ for"), fixed
    assert fixed.count("TOKEN=$(") == 1
    assert '    TOKEN=$(curl -s -X PUT "http://169.254.169.254' in fixed  # heredoc indentation kept
    assert fixed.count('-H "X-aws-ec2-metadata-token: $${TOKEN}"') == 2


def test_directive_kept_as_hole_bounds_the_token_line() -> None:
    text = (
        "#!/bin/bash\necho start\n%{ if fetch }\n"
        f"curl -s {MD}/ami-id\n%{{ endif }}\ncurl -s {MD}/mac\n"
    )
    lo = text.index("%{ if")
    hi = text.index("\n", lo)
    lo2 = text.index("%{ endif")
    hi2 = text.index("\n", lo2)
    from tests.hazards.shell_helpers import payload

    founds = [f for f in shell.find(payload(text, holes=((lo, hi), (lo2, hi2))))]
    edits = {e for f in founds for e in f.edits if e[2].startswith("TOKEN=")}
    assert len(edits) == 1
    ((at, _, _),) = edits
    assert at < lo
    # no statement before the region: no fix, and the reason says why
    text = f"%{{ if fetch }}\ncurl -s {MD}/ami-id\n%{{ endif }}\n"
    hi = text.index("\n")
    lo2 = text.index("%{ endif")
    founds = list(shell.find(payload(text, holes=((0, hi), (lo2, lo2 + 10)))))
    assert founds and all(not f.edits and "%{ for }" in f.no_fix for f in founds)


# 7. wget-only scripts fetch the token with wget


def test_wget_only_script_fetches_token_with_wget() -> None:
    text = f"#!/bin/sh\nID=$(wget -q -O - {MD}/instance-id)\necho $ID\n"
    founds = found(shell, text)
    fixed = apply(text, founds)
    assert (
        'TOKEN=$(wget -q -O - --method=PUT --header="X-aws-ec2-metadata-token-ttl-seconds: 21600" '
        "http://169.254.169.254/latest/api/token)\n"
    ) in fixed
    assert "curl" not in fixed
    assert "needs GNU wget" in founds[0].change
    if need_bash():
        assert shell.check_syntax(fixed) is None
    both = f"#!/bin/bash\ncurl -sO https://example.com/x\nwget -q -O - {MD}/ami-id\n"
    assert "TOKEN=$(curl -s -X PUT" in apply(both, found(shell, both))


# 8. curl.exe / wget.exe in PowerShell


def test_powershell_curl_exe_and_wget_exe() -> None:
    text = f"$h = curl.exe -s {MD}/hostname\n"
    founds = found(powershell, text, "powershell")
    assert [f.what for f in founds] == [f"curl.exe GET {MD}/hostname without a session token"]
    fixed = apply(text, founds)
    assert fixed.startswith("$token = Invoke-RestMethod -Method PUT")
    assert f'curl.exe -H "X-aws-ec2-metadata-token: $token" -s {MD}/hostname' in fixed
    text = f"$h = wget.exe -q -O - {MD}/hostname\n"
    fixed = apply(text, found(powershell, text, "powershell"))
    assert 'wget.exe --header "X-aws-ec2-metadata-token: $token" -q' in fixed
    assert (
        powershell.check_syntax(fixed) is None or "-O -" in fixed
    )  # the grammar cannot read `-O -`
    negative = (
        '$t = curl.exe -s -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 60"\n'
        f'$h = curl.exe -s -H "X-aws-ec2-metadata-token: $t" {MD}/hostname\n'
    )
    assert found(powershell, negative, "powershell") == []


# 9. the change reads as one clause (the fixer adds its own parentheses)


def test_change_text_has_no_parentheses() -> None:
    text = f"#!/bin/bash\ncurl -s {MD}/ami-id\n"
    (f,) = found(shell, text)
    assert f.change == (
        "adds the IMDSv2 session token to this call, fetched once into TOKEN before the first call"
    )
    ps = f"Invoke-RestMethod {MD}/ami-id\n"
    (f,) = found(powershell, ps, "powershell")
    assert "(" not in f.change and ", fetched once into $token" in f.change
