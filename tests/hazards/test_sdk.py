"""IMDS008's analyser: SDK pins in manifests, lock files and shell install commands
(imds_iac_checks/hazards/sdk.py, imds_iac_checks/formats/manifests.py)."""

from __future__ import annotations

import json
import time

import pytest

from imds_iac_checks.formats.manifests import payloads
from imds_iac_checks.hazards import sdk
from imds_iac_checks.model import Payload, Piece, Span


def _payload(name: str, text: str) -> Payload:
    found, errors = payloads(name, text.encode("utf-8"))
    assert errors == [] and len(found) == 1
    return found[0]


def _found(name: str, text: str) -> list[tuple[str, str, tuple]]:
    payload = _payload(name, text)
    return [(payload.text[f.start : f.end], f.what, f.edits) for f in sdk.find(payload)]


def _fixed(text: str, found) -> str:
    edits = sorted({e for f in found for e in f.edits}, reverse=True)
    for start, end, new in edits:
        text = text[:start] + new + text[end:]
    return text


# (file name, text, the version texts reported, a text that must not be reported)
CASES = [
    (
        "requirements.txt",
        "# app\nrequests==2.31.0\nboto3==1.9.0  # old\nbotocore>=1.4,<1.10 ; python_version > '3'\n"
        "awscli>=1.10\nboto3[crt]~=1.9.0 \\\n    --hash=sha256:abc\n-r base.txt\n",
        ["1.9.0", "1.10", "1.9.0"],
    ),
    (
        "requirements-dev.txt",
        "boto3>=1.9\nbotocore==1.13.25\nawscli==1.16.289\nboto3!=1.9.1\n",
        [],
    ),
    (
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = ["boto3==1.9.0", "requests"]\n'
        '[project.optional-dependencies]\naws = ["botocore<1.13", "awscli>=1"]\n'
        '[tool.poetry.dependencies]\npython = "^3.8"\nboto3 = "^1.9"\n'
        'botocore = {version = "~1.12.0", optional = true}\nawscli = "1.16.0"\n',
        ["1.9.0", "1.13", "1.12.0", "1.16.0"],
    ),
    (
        "poetry.lock",
        '[[package]]\nname = "boto3"\nversion = "1.9.0"\ndescription = ""\n\n'
        '[[package]]\nname = "botocore"\nversion = "1.20.0"\n',
        ["1.9.0"],
    ),
    (
        "uv.lock",
        'version = 1\n\n[[package]]\nname = "botocore"\nversion = "1.12.200"\n'
        'source = { registry = "https://pypi.org/simple" }\n',
        ["1.12.200"],
    ),
    (
        "Pipfile.lock",
        json.dumps(
            {
                "_meta": {},
                "default": {"boto3": {"hashes": [], "version": "==1.9.0"}},
                "develop": {"botocore": {"version": "==1.20.0"}},
            },
            indent=4,
        ),
        ["1.9.0"],
    ),
    (
        "package.json",
        '{"name": "x", "dependencies": {"aws-sdk": "2.400.0", "@aws-sdk/client-s3": "3.0.0"},'
        ' "devDependencies": {"aws-sdk": "^2.400.0"},'
        ' "optionalDependencies": {"aws-sdk": "~2.400.0"}}',
        ["2.400.0", "2.400.0"],
    ),
    (
        "package-lock.json",
        '{"lockfileVersion": 3, "packages": {"": {"dependencies": {"aws-sdk": "2.400.0"}},'
        ' "node_modules/aws-sdk": {"version": "2.400.0"},'
        ' "node_modules/a/node_modules/aws-sdk": {"version": "2.800.0"}}}',
        ["2.400.0"],
    ),
    (
        "package-lock.json",
        '{"lockfileVersion": 1, "dependencies": {"aws-sdk": {"version": "2.574.0"},'
        ' "x": {"version": "1.0.0", "dependencies": {"aws-sdk": {"version": "2.100.0"}}}}}',
        ["2.574.0", "2.100.0"],
    ),
    (
        "yarn.lock",
        '# yarn lockfile v1\n\naws-sdk@^2.400.0, aws-sdk@~2.401.0:\n  version "2.401.0"\n'
        '  resolved "https://registry.yarnpkg.com/aws-sdk/-/aws-sdk-2.401.0.tgz"\n\n'
        '"@aws-sdk/client-s3@^3":\n  version "3.1.0"\n',
        ["2.401.0"],
    ),
    (
        "yarn.lock",
        '__metadata:\n  version: 6\n\n"aws-sdk@npm:^2.500.0":\n  version: 2.500.0\n'
        '  resolution: "aws-sdk@npm:2.500.0"\n',
        ["2.500.0"],
    ),
    (
        "go.mod",
        "module x\n\ngo 1.13\n\nrequire (\n\tgithub.com/aws/aws-sdk-go v1.20.0 // indirect\n"
        "\tgithub.com/aws/aws-sdk-go-v2 v0.18.0\n)\nrequire github.com/pkg/errors v0.9.1\n",
        ["v1.20.0", "v0.18.0"],
    ),
    (
        "go.mod",
        "module x\n\nrequire github.com/aws/aws-sdk-go v1.20.0\n\n"
        "replace github.com/aws/aws-sdk-go => github.com/aws/aws-sdk-go v1.44.0\n",
        [],
    ),
    (
        "pom.xml",
        '<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "<properties>\n  <aws.version>1.11.500</aws.version>\n</properties>\n"
        "<dependencyManagement><dependencies><dependency><groupId>software.amazon.awssdk"
        "</groupId><artifactId>bom</artifactId><version>2.5.0</version><type>pom</type>"
        "<scope>import</scope></dependency></dependencies></dependencyManagement>\n"
        "<dependencies>\n<dependency>\n  <groupId>com.amazonaws</groupId>\n"
        "  <artifactId>aws-java-sdk-s3</artifactId>\n  <version>${aws.version}</version>\n"
        "</dependency>\n<dependency><groupId>com.amazonaws</groupId><artifactId>"
        "aws-java-sdk-core</artifactId><version>1.12.1</version></dependency>\n"
        "<dependency><groupId>com.amazonaws</groupId><artifactId>aws-lambda-java-core"
        "</artifactId><version>1.0.0</version></dependency>\n</dependencies>\n</project>\n",
        ["1.11.500", "2.5.0"],
    ),
    (
        "build.gradle",
        "ext.awsVersion = '1.11.500'\ndependencies {\n"
        "  implementation 'com.amazonaws:aws-java-sdk-s3:1.11.100' // old\n"
        '  implementation "com.amazonaws:aws-java-sdk-ec2:$awsVersion"\n'
        "  implementation platform('software.amazon.awssdk:bom:2.10.0')\n"
        "  implementation group: 'com.amazonaws', name: 'aws-java-sdk-sqs', version: '1.11.1'\n"
        "  implementation 'com.amazonaws:aws-java-sdk-sns:1.11.+'\n"
        "  implementation 'com.amazonaws:aws-java-sdk-kms:1.10.+'\n"
        "  // implementation 'com.amazonaws:aws-java-sdk-iam:1.0.0'\n"
        "  /* implementation 'com.amazonaws:aws-java-sdk-sts:1.0.0' */\n}\n",
        ["1.11.500", "1.11.100", "2.10.0", "1.11.1", "1.10.+"],
    ),
    (
        "build.gradle.kts",
        'val awsSdk = "2.9.0"\ndependencies {\n'
        '    implementation(platform("software.amazon.awssdk:bom:$awsSdk"))\n'
        '    implementation("software.amazon.awssdk:s3:2.20.0")\n}\n',
        ["2.9.0"],
    ),
    (
        "Gemfile.lock",
        "GEM\n  remote: https://rubygems.org/\n  specs:\n    aws-sdk-core (3.50.0)\n"
        "      aws-eventstream (~> 1.0, >= 1.0.2)\n    aws-sdk-s3 (1.30.0)\n"
        "      aws-sdk-core (~> 3, >= 3.48.2)\n    aws-sdk (2.11.401)\n\nPLATFORMS\n  ruby\n",
        ["3.50.0"],
    ),
    (
        "Gemfile.lock",
        "GEM\n  specs:\n    aws-sdk-core (2.10.0)\n\nDEPENDENCIES\n  aws-sdk-core (= 2.10.0)\n",
        ["2.10.0"],
    ),
    (
        "composer.lock",
        '{"packages": [{"name": "aws/aws-sdk-php", "version": "3.100.0"},'
        ' {"name": "guzzlehttp/guzzle", "version": "6.0.0"}], "packages-dev": []}',
        ["3.100.0"],
    ),
    (
        "app.csproj",
        '<Project Sdk="Microsoft.NET.Sdk">\n  <ItemGroup>\n'
        '    <PackageReference Include="AWSSDK.Core" Version="3.3.100.1" />\n'
        '    <PackageReference Include="AWSSDK.S3" Version="3.3.100" />\n'
        '    <PackageReference Include="AWS.Tools.Common" Version="[4.0,5.0)" />\n'
        '    <PackageReference Include="AWSPowerShell"><Version>3.3.0.0</Version>'
        "</PackageReference>\n  </ItemGroup>\n</Project>\n",
        ["3.3.100.1", "3.3.0.0"],
    ),
    (
        "packages.lock.json",
        '{"version": 1, "dependencies": {"net6.0": {"AWSSDK.Core": {"type": "Transitive",'
        ' "resolved": "3.3.100.1", "contentHash": "x"}, "AWSSDK.S3": {"type": "Direct",'
        ' "resolved": "3.7.0", "contentHash": "y"}}}}',
        ["3.3.100.1"],
    ),
]


@pytest.mark.parametrize(("name", "text", "reported"), CASES, ids=[c[0] for c in CASES])
def test_manifest_pins(name: str, text: str, reported: list[str]) -> None:
    payload = _payload(name, text)
    found = sorted(sdk.find(payload), key=lambda f: f.start)
    assert [payload.text[f.start : f.end] for f in found] == reported
    assert all(f.kind == sdk.KIND and ("older than" in f.what) for f in found)
    # Each edit replaces exactly the reported version; applied, the file reads clean.
    fixable = [f for f in found if f.edits]
    for f in fixable:
        assert f.edits[0][:2] == (f.start, f.end)
        assert f.change.startswith("bumps ")
    fixed = _fixed(payload.text, fixable)
    again = list(sdk.find(_payload(name, fixed)))
    assert len(again) == len(found) - len(fixable)
    assert all(not f.edits and f.no_fix for f in again)


def test_a_manifest_without_an_sdk_is_not_parsed() -> None:
    assert _found("requirements.txt", "requests==2.0\nflask<1\n") == []
    assert _found("package-lock.json", "{ not json") == []
    assert _found("pom.xml", "<project><dependency>") == []


def test_messages_and_fixes() -> None:
    [(version, what, edits)] = _found("requirements.txt", "boto3==1.9.0\n")
    assert version == "1.9.0"
    assert what == (
        "boto3==1.9.0 is older than 1.10.25, the first boto3 that fetches IMDSv2 session tokens"
    )
    assert edits == ((7, 12, "1.10.25"),)
    [(version, what, edits)] = _found("requirements.txt", "botocore>=1.4,<1.10\n")
    assert version == "1.10" and edits == ()
    assert "allows only versions older than 1.13.25" in what
    [(version, what, edits)] = _found(
        "go.mod", "module x\nrequire github.com/aws/aws-sdk-go v1.20.0\n"
    )
    assert edits[0][2] == "v1.25.38"  # Go versions keep their v
    [(version, what, _)] = _found("requirements.txt", "boto==2.49.0\n")
    assert "never fetches IMDSv2 tokens" in what


def test_ruby_has_two_safe_lines() -> None:
    text = "GEM\n  specs:\n    aws-sdk-core (2.11.500)\n    aws-sdk-core (2.11.100)\n"
    [(version, _what, edits)] = _found("Gemfile.lock", text)
    assert version == "2.11.100" and edits[0][2] == "2.11.401"


@pytest.mark.parametrize(
    ("constraint", "admits"),
    [
        ("^1.9", True),
        ("^0.19", False),
        ("~1.12", False),
        ("~1", True),
        ("1.9.*", False),
        (">=1.0,<1.13", False),
        ("<1.10 || >=1.20", True),
        ("*", True),
    ],
)
def test_poetry_constraints(constraint: str, admits: bool) -> None:
    pin = sdk.Pin("pypi", "botocore", "poetry", constraint, 0, len(constraint))
    allows = sdk.allows_of(pin)
    assert allows is not None
    mentioned = [
        v for part in sdk.poetry_to_pep440(constraint) for _o, v, _s, _e in sdk.pep440_parts(part)
    ]
    assert sdk.admits_safe(sdk.SDKS[("pypi", "botocore")], allows, mentioned) is admits


@pytest.mark.parametrize(
    ("syntax", "constraint", "admits"),
    [
        ("npm", "^2.400.0", True),
        ("npm", "~2.400.0", False),
        ("npm", "2.400.0 - 2.574.9", False),
        ("npm", ">=2.0.0 <2.575.0 || >=2.700.0", True),
        ("npm", "1.x", False),
        ("interval", "[1.11.0,1.11.600)", False),
        ("interval", "[1.11.0,)", True),
        ("nuget", "3.3.100", False),
        ("nuget", "3.3.*", True),
        ("ruby", "~> 3.50", True),
        ("ruby", "~> 3.50.0", False),
        ("pep440", "==1.13.*", True),
        ("pep440", "==1.12.*", False),
    ],
)
def test_ranges(syntax: str, constraint: str, admits: bool) -> None:
    names = {
        "npm": ("npm", "aws-sdk"),
        "interval": ("maven", "com.amazonaws:aws-java-sdk-s3"),
        "nuget": ("nuget", "AWSSDK.Core"),
        "ruby": ("rubygems", "aws-sdk-core"),
        "pep440": ("pypi", "botocore"),
    }
    ecosystem, name = names[syntax]
    pin = sdk.Pin(ecosystem, name, syntax, constraint, 0, len(constraint))
    text = constraint
    payload = Payload(
        text,
        (Piece(0, len(text), Span("x", 0, len(text), 1, 1, 1, len(text) + 1)),),
        Span("x", 0, len(text), 1, 1, 1, len(text) + 1),
        "t",
    )
    assert (sdk.judge(pin, payload) is None) is admits


def _shell(text: str) -> Payload:
    span = Span("boot.sh", 0, len(text.encode()), 1, 1, text.count("\n") + 1, 1)
    return Payload(text, (Piece(0, len(text), span),), span, "script", "shell")


def test_shell_install_commands() -> None:
    text = (
        "#!/bin/bash\n"
        "pip install boto3==1.9.0 requests\n"
        "sudo pip3 install --upgrade 'botocore<1.13'\n"
        'python3 -m pip install -r requirements.txt "awscli==1.16.0"\n'
        "npm install -g aws-sdk@2.600.0 aws-sdk@2.400.0\n"
        "gem install aws-sdk-core -v 3.50.0\n"
        "go get github.com/aws/aws-sdk-go@v1.20.0\n"
        "composer require aws/aws-sdk-php:3.100.0\n"
        "echo pip install boto3==1.0.0\n"
        'pip install boto3>=1.9 "boto3==$VERSION"\n'
    )
    payload = _shell(text)
    found = list(sdk.find(payload))
    assert [text[f.start : f.end] for f in found] == [
        "1.9.0",
        "1.13",
        "1.16.0",
        "2.400.0",
        "3.50.0",
        "v1.20.0",
        "3.100.0",
    ]
    fixed = _fixed(text, found)
    assert "pip install boto3==1.10.25 requests" in fixed
    assert "gem install aws-sdk-core -v 3.79.0" in fixed
    left = [fixed[f.start : f.end] for f in sdk.find(_shell(fixed))]
    assert left == ["1.13"]  # a range: no automatic fix


def test_shell_without_install_is_not_parsed() -> None:
    assert list(sdk.find(_shell("#!/bin/sh\necho hello\n"))) == []


def test_spans_in_a_file_with_a_bom_and_non_ascii() -> None:
    data = "\ufeff# dépendances\nboto3==1.9.0\n".encode()
    [payload], _ = payloads("requirements.txt", data)
    [found] = sdk.find(payload)
    span = payload.located(found.start, found.end)
    assert span is not None
    assert data[span.start_byte : span.end_byte] == b"1.9.0"
    assert (span.line, span.column) == (2, 8)


def test_huge_package_lock_is_read_in_bounded_time() -> None:
    packages = {"": {"name": "big", "dependencies": {}}}
    for i in range(24_000):  # about 5 MB once indented
        packages[f"node_modules/pkg-{i}"] = {
            "version": f"1.{i}.0",
            "resolved": f"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.{i}.0.tgz",
            "integrity": "sha512-" + "a" * 80,
        }
    packages["node_modules/aws-sdk"] = {"version": "2.400.0"}
    text = json.dumps({"lockfileVersion": 3, "packages": packages}, indent=2)
    assert len(text) > 5_000_000
    began = time.perf_counter()
    found = list(sdk.find(_payload("package-lock.json", text)))
    took = time.perf_counter() - began
    assert [f.what.split(" ")[1] for f in found] == ["2.400.0"]
    assert took < 10, took


def test_deep_json_and_entities_are_refused() -> None:
    deep = '{"dependencies": ' * 200 + "{}" + "}" * 200
    assert _found("package.json", deep.replace("{}", '{"aws-sdk": "1.0.0"}')) == []
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aws-java-sdk">]><project><dependencies>'
        "<dependency><groupId>com.amazonaws</groupId><artifactId>&a;</artifactId>"
        "<version>1.0.0</version></dependency></dependencies></project>"
    )
    assert _found("pom.xml", bomb) == []
