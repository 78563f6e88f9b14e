"""Properties of ``imds-iac fix`` on generated files: random valid HCL, CloudFormation YAML and
EC2 JSON around a target, in any indentation and line ending. The fix leaves a file that parses,
that has no IMDS001-IMDS003 left, in which every line without a setting is unchanged and in
order; and a second run changes nothing."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imds_iac_checks.cli import main
from imds_iac_checks.fix import hcl as hcl_fix
from imds_iac_checks.fix.structured import valid

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SETTING_NAMES = (
    "metadata_options",
    "http_tokens",
    "http_endpoint",
    "http_put_response_hop_limit",
    "MetadataOptions",
    "HttpTokens",
    "HttpEndpoint",
    "HttpPutResponseHopLimit",
)


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


def _fix_and_check(name: str, text: str, parses) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, name)
        with open(path, "wb") as fh:
            fh.write(text.encode())
        _run("fix", "--unsafe-fixes", "-q", path)
        with open(path, "rb") as fh:
            fixed = fh.read()
        assert parses(fixed), fixed.decode()
        code, out = _run("check", "--select", "IMDS001,IMDS002,IMDS003", "-q", path)
        assert code == 0, (text, fixed.decode(), out)
        _run("fix", "--unsafe-fixes", "-q", path)
        with open(path, "rb") as fh:
            assert fh.read() == fixed  # idempotent
    nl = "\r\n" if "\r\n" in text else "\n"
    assert ("\r\n" in fixed.decode()) == (nl == "\r\n")
    kept = [line for line in text.split(nl) if not any(s in line for s in SETTING_NAMES)]
    remaining = iter(fixed.decode().split(nl))
    for line in kept:  # every line without a setting survives in order (or only gained text)
        assert any(line == other or _grown(line, other) for other in remaining), (
            line,
            fixed.decode(),
        )


def _grown(old: str, new: str) -> bool:
    rest = iter(new)
    return all(char in rest for char in old)


# --- HCL --------------------------------------------------------------------------------------

indents = st.sampled_from(["  ", "    ", "\t"])
newlines = st.sampled_from(["\n", "\r\n"])
comments = st.sampled_from(["", " # owned by platform", " // legacy"])
tokens = st.sampled_from(['"optional"', '"required"', "null", None])
hops = st.sampled_from(["1", "2", "5", '"2"', None])
endpoints = st.sampled_from(['"enabled"', None])


@st.composite
def hcl_files(draw: st.DrawFn) -> str:
    unit, nl = draw(indents), draw(newlines)
    kind = draw(
        st.sampled_from(["aws_instance", "aws_launch_template", "aws_spot_instance_request"])
    )
    lines = [f'resource "{kind}" "app" {{{draw(comments)}']
    others = draw(
        st.lists(
            st.sampled_from(['ami = "ami-1"', 'instance_type = "t3.micro"', "count = 1", "# note"]),
            unique=True,
            max_size=3,
        )
    )
    lines += [unit + o for o in others]
    if draw(st.booleans()):
        lines.append("")
    block = draw(st.sampled_from(["none", "empty", "full"]))
    settings_: list[tuple[str, str]] = []
    if block == "full":
        for name, value in (
            ("http_endpoint", draw(endpoints)),
            ("http_tokens", draw(tokens)),
            ("http_put_response_hop_limit", draw(hops)),
        ):
            if value is not None:
                settings_.append((name, value))
    if block == "empty" or (block == "full" and not settings_):
        lines.append(unit + "metadata_options {}")
    elif block == "full":
        width = max(len(n) for n, _ in settings_) if draw(st.booleans()) else 0
        lines.append(unit + "metadata_options {")
        for name, value in settings_:
            lines.append(f"{unit * 2}{name.ljust(width)} = {value}{draw(comments)}")
        lines.append(unit + "}")
    if draw(st.booleans()):
        lines += [unit + "root_block_device {", unit * 2 + "volume_size = 8", unit + "}"]
    lines.append("}")
    return nl.join(lines) + nl


@SETTINGS
@given(hcl_files())
def test_hcl_fix_properties(text: str) -> None:
    _fix_and_check("main.tf", text, hcl_fix.valid)


# --- CloudFormation YAML ----------------------------------------------------------------------

yaml_tokens = st.sampled_from(["optional", "'optional'", '"optional"', "required", None])
yaml_hops = st.sampled_from(["1", "3", "'2'", None])


@st.composite
def yaml_templates(draw: st.DrawFn) -> str:
    unit, nl = draw(st.sampled_from(["  ", "    "])), draw(newlines)
    lines = ['AWSTemplateFormatVersion: "2010-09-09"', "Resources:"]
    kind = draw(st.sampled_from(["instance", "template"]))
    lines.append(f"{unit}Node:")
    if kind == "instance":
        lines.append(f"{unit * 2}Type: AWS::EC2::Instance")
        lines.append(f"{unit * 2}Properties:")
        base = unit * 3
    else:
        lines.append(f"{unit * 2}Type: AWS::EC2::LaunchTemplate")
        lines.append(f"{unit * 2}Properties:")
        lines.append(f"{unit * 3}LaunchTemplateData:")
        base = unit * 4
    if draw(st.booleans()):
        lines.append(base + "# the image")
    lines.append(base + "ImageId: ami-0c55b159cbfafe1f0")
    pairs = [
        (k, v)
        for k, v in (
            ("HttpEndpoint", draw(st.sampled_from(["enabled", None]))),
            ("HttpTokens", draw(yaml_tokens)),
            ("HttpPutResponseHopLimit", draw(yaml_hops)),
        )
        if v is not None
    ]
    style = draw(st.sampled_from(["none", "block", "flow"]))
    if style == "flow" or (style == "block" and not pairs):
        inner = ", ".join(f"{k}: {v}" for k, v in pairs)
        lines.append(f"{base}MetadataOptions: {{{inner}}}")
    elif style == "block":
        lines.append(base + "MetadataOptions:")
        lines += [f"{base}{unit}{k}: {v}{draw(st.sampled_from(['', '  # why']))}" for k, v in pairs]
    lines.append(base + "InstanceType: t3.micro")
    return nl.join(lines) + nl


def _yaml_ok(data: bytes) -> bool:
    return valid(data, yaml=True)


@SETTINGS
@given(yaml_templates())
def test_yaml_fix_properties(text: str) -> None:
    _fix_and_check("stack.yaml", text, _yaml_ok)


# --- EC2 API JSON -----------------------------------------------------------------------------


@st.composite
def ec2_requests(draw: st.DrawFn) -> str:
    doc: dict[str, object] = {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1}
    options = {
        k: v
        for k, v in (
            ("HttpEndpoint", draw(st.sampled_from(["enabled", None]))),
            ("HttpTokens", draw(st.sampled_from(["optional", "required", None]))),
            ("HttpPutResponseHopLimit", draw(st.sampled_from([1, 2, 4, None]))),
        )
        if v is not None
    }
    if draw(st.booleans()):
        doc["MetadataOptions"] = options
    doc["SubnetId"] = "subnet-1"
    indent = draw(st.sampled_from([None, 2, 4, "\t"]))
    text = json.dumps(doc, indent=indent)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text + draw(st.sampled_from(["", "\n"]))


def _json_ok(data: bytes) -> bool:
    return valid(data, yaml=False)


@SETTINGS
@given(ec2_requests())
def test_json_fix_properties(text: str) -> None:
    _fix_and_check("run-instances.json", text, _json_ok)
