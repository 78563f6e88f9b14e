"""IMDS008 end to end: `imds-iac check` reports old SDK pins at the version, `fix
--unsafe-fixes` bumps them, and user data ties an install line to its instance."""

from pathlib import Path


def test_check_reports_the_pin_and_fix_bumps_it(cli, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.31.0\nboto3==1.9.0\n")
    (tmp_path / "go.mod").write_text("module x\n\nrequire github.com/aws/aws-sdk-go v1.20.0\n")
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    found = sorted(
        (f["path"], f["line"], f["column"], f["severity"], f["fix"])
        for f in doc["findings"]
        if f["rule_id"] == "IMDS008"
    )
    assert found == [
        ("go.mod", 3, 35, "warning", "unsafe"),
        ("requirements.txt", 2, 8, "warning", "unsafe"),
    ]
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (tmp_path / "requirements.txt").read_text() == "requests==2.31.0\nboto3==1.10.25\n"
    assert "aws-sdk-go v1.25.38\n" in (tmp_path / "go.mod").read_text()
    again = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert [f for f in again["findings"] if f["rule_id"] == "IMDS008"] == []


def test_user_data_install_on_an_instance_that_requires_tokens_is_an_error(
    cli, tmp_path: Path
) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "worker" {\n'
        '  ami           = "ami-0c55b159cbfafe1f0"\n'
        '  instance_type = "t3.micro"\n'
        "  metadata_options {\n"
        '    http_tokens = "required"\n'
        "  }\n"
        "  user_data = <<-EOT\n"
        "    #!/bin/bash\n"
        "    pip3 install boto3==1.9.0\n"
        "  EOT\n"
        "}\n"
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    [finding] = [f for f in doc["findings"] if f["rule_id"] == "IMDS008"]
    assert (finding["line"], finding["column"], finding["severity"]) == (9, 25, "error")
    assert "aws_instance.worker" in finding["message"]
