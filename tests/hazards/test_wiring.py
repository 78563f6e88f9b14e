"""How hazards found in user data reach findings: tied to the instances the code runs on (the
target whose user data it is, and those that launch from it), error where tokens are already
required, warning where IMDSv1 still answers; a token fix on such instances is unsafe and says
where the call is. The analyser is a stand-in (tests/hazards/fake_analyser.py): the real ones
are tested on their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imds_iac_checks import hazards, scan
from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.engine import Context
from imds_iac_checks.formats.terraform.kinds import KINDS
from imds_iac_checks.model import TOKENS, Payload, Piece, Span, Target, Value
from tests.test_engine import literal, target

TEMPLATE = KINDS["aws_launch_template"]
SCRIPT = "#!/bin/bash\nCALL http://169.254.169.254/latest/meta-data/instance-id\n"


@pytest.fixture(autouse=True)
def fake_language() -> Iterator[None]:
    hazards.ANALYSERS["fake"] = ("tests.hazards.fake_analyser",)
    yield
    del hazards.ANALYSERS["fake"]


def user_data(owner: str) -> Payload:
    """The script written as is at byte 500 of main.tf, line 20."""
    span = Span("main.tf", 500, 500 + len(SCRIPT), 20, 5, 22, 1)
    return Payload(
        SCRIPT, (Piece(0, len(SCRIPT), span, "raw"),), span, "user data", "fake", "", owner
    )


def template(tokens: Value | None) -> Target:
    settings = {TOKENS: [tokens]} if tokens is not None else {}
    t = target(TEMPLATE, **settings)
    return t._replace(
        address="aws_launch_template.web",
        template_keys=("aws_launch_template.web",),
        user_data=(user_data("aws_launch_template.web"),),
    )


def instance() -> Target:
    t = target(block=None)
    ref = Value(True, "aws_launch_template.web", "aws_launch_template.web", "", ())
    return t._replace(address="aws_instance.app", template_ref=ref)


def evaluate(members: list[Target]) -> tuple[list[Target], list, list]:
    errors: list = []
    found: list = []
    by_file: dict[str, list[Target]] = {}
    group = [(t, Context(), tuple(scan.REGISTRY)) for t in members]
    findings = [f for _, _, f in scan._evaluate_group(group, errors, by_file, found)]
    assert errors == []
    return by_file["main.tf"], findings, found


def test_a_call_in_a_templates_user_data_runs_on_the_template_and_its_users() -> None:
    linked, _, found = evaluate([template(literal(TEMPLATE, TOKENS, "optional", 5)), instance()])
    assert len(found) == 1
    hazard = found[0]
    assert hazard.span.line == 21 and hazard.span.column == 1  # the CALL line, in main.tf
    assert [(h.address, h.state) for h in hazard.hosts] == [
        ("aws_launch_template.web", "allowed"),
        ("aws_instance.app", "allowed"),  # it inherits the template's tokens
    ]
    assert all(t.blocked_by == ("main.tf:21",) for t in linked)
    at = 500 + len("#!/bin/bash\n")  # the start of the CALL line, in main.tf
    assert hazard.edits == (("main.tf", at, at, b"TOKEN "),)


def test_the_token_fix_on_a_blocked_target_is_unsafe_and_says_where_the_call_is() -> None:
    _, findings, _ = evaluate([template(literal(TEMPLATE, TOKENS, "optional", 5)), instance()])
    tokens = [f for f in findings if f.setting == TOKENS]
    assert tokens and all(f.fix == "unsafe" for f in tokens)
    assert tokens[0].fix_note == (
        "requiring tokens would break the IMDSv1 call at main.tf:21; fix that first"
    )


def test_severity_follows_the_hosts() -> None:
    resolver = Resolver(Overrides())
    for tokens, severity, tail in (
        ("required", "error", "which requires tokens: this call fails there"),
        ("optional", "warning", "which still allows IMDSv1: requiring tokens will break this call"),
    ):
        _, _, found = evaluate([template(literal(TEMPLATE, TOKENS, tokens, 5))])
        (finding,) = scan._judge_hazards(found, resolver, "/nonexistent")
        assert finding.rule_id == "IMDS007" and finding.severity == severity
        assert finding.message == (
            "[aws_launch_template.web] CALL http://169.254.169.254/latest/meta-data/instance-id "
            "without a session token; this user data runs on aws_launch_template.web "
            f"(main.tf:1), {tail}"
        )
        assert finding.fix == "unsafe" and finding.edits


def test_a_hazard_found_twice_is_judged_once_with_every_host() -> None:
    _, _, first = evaluate([template(literal(TEMPLATE, TOKENS, "required", 5))])
    other = first[0]._replace(hosts=(first[0].hosts[0]._replace(address="module.b.x"),))
    (finding,) = scan._judge_hazards([first[0], other], Resolver(Overrides()), "/nonexistent")
    assert "aws_launch_template.web (main.tf:1), module.b.x (main.tf:1), which requires" in (
        finding.message
    )


def test_a_script_tied_to_no_instance_is_a_warning() -> None:
    payload = user_data("")._replace(what="script")
    found = list(scan.hazards_of(payload, ()))
    (finding,) = scan._judge_hazards(found, Resolver(Overrides()), "/nonexistent")
    assert finding.severity == "warning" and finding.label is None
    assert finding.message.endswith("this script is tied to no instance in the files scanned")


def test_an_analyser_that_fails_costs_its_payload_not_the_scan(monkeypatch) -> None:
    def broken(payload: Payload) -> Iterator[object]:
        raise RuntimeError("boom")

    from tests.hazards import fake_analyser

    monkeypatch.setattr(fake_analyser, "find", broken)
    errors: list = []
    t = template(literal(TEMPLATE, TOKENS, "required", 5))
    out = scan._user_data_hazards([t], errors, [])
    assert out == [t]
    assert [e.message for e in errors] == [
        "internal error while reading user data: RuntimeError: boom"
    ]


def test_a_nested_payload_of_many_lines_is_placed_in_linear_time() -> None:
    """A 1 MB block scalar of 25,000 lines in a cloud-config document: each line is a run of
    the nested payload, placed through the parent's one piece (counted from the previous run,
    not from the piece's start: this took 30 s when it was quadratic)."""
    import time

    from imds_iac_checks.hazards import cloudinit

    lines = "\n".join(f"      echo line {i}" for i in range(25000))
    text = "#cloud-config\nruncmd:\n  - |\n" + lines + "\n"
    span = Span("f", 0, len(text.encode()), 1, 1, 25004, 1)
    parent = Payload(text, (Piece(0, len(text), span, "raw"),), span, "user data", "cloud-config")
    started = time.perf_counter()
    (nested,) = cloudinit.find(parent)
    assert time.perf_counter() - started < 5
    assert isinstance(nested, Payload)
    last = nested.pieces[-1]
    assert (
        text.encode()[last.span.start_byte : last.span.end_byte].decode()
        == (nested.text[last.start : last.end])
    )
    assert last.span.line == 25003


def test_fixes_that_would_break_the_scripts_syntax_are_withdrawn(monkeypatch) -> None:
    """Every fix of a payload is applied to its text and the result checked (bash -n for
    shell): a payload whose fixed text fails keeps its findings, with no fix and the reason."""
    payload = user_data("aws_launch_template.web")
    (ok,) = list(hazards.analyse(payload))
    assert ok[1].edits
    monkeypatch.setitem(hazards._SYNTAX_CHECKS, "fake", lambda text: "TOKEN CALL" not in text)
    (withdrawn,) = list(hazards.analyse(payload))
    assert withdrawn[1].edits == () and "bash -n" in withdrawn[1].no_fix


@pytest.mark.parametrize(
    ("script", "valid"),
    [
        ('TOKEN=$(curl -s -X PUT "http://x/" -H "a: 1")\necho "${TOKEN}"\n', True),
        ('if true; then\n  echo "unterminated\nfi\n', False),
        ("echo ${var.region} %{ if x }\n", True),  # template holes are words to bash -n
    ],
)
def test_shell_syntax_check(script: str, valid: bool) -> None:
    import os
    import shutil

    if os.environ.get("CI"):
        assert shutil.which("bash"), "bash is needed on CI for the shell syntax check"
    assert hazards.shell_valid(script.encode()) is valid


def test_the_account_default_is_not_required_over_code_on_instances_that_take_it(
    cli, tmp_path
) -> None:
    """Instances that set no tokens (nor does their template) take the account's default:
    requiring tokens there breaks their user data's IMDSv1 call as surely as in the template."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_launch_template" "lt" {\n'
        '  name_prefix = "lt-"\n'
        '  user_data   = base64encode(file("user-data.sh"))\n'
        "}\n\n"
        'resource "aws_instance" "from_lt" {\n'
        "  launch_template {\n"
        "    id = aws_launch_template.lt.id\n"
        "  }\n"
        "}\n\n"
        'resource "aws_ec2_instance_metadata_defaults" "acct" {\n'
        '  http_tokens = "optional"\n'
        "}\n"
    )
    (tmp_path / "user-data.sh").write_text(
        "#!/bin/bash\nREGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)\n"
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    (defaults,) = [f for f in doc["findings"] if f["resource"].startswith("aws_ec2_instance_meta")]
    assert defaults["fix"] == "unsafe"
    run = cli("fix", ".", cwd=tmp_path)
    assert 'http_tokens = "optional"' in (tmp_path / "main.tf").read_text()
    assert (
        "not fixed: requiring tokens would break the IMDSv1 call at user-data.sh:2; fix that first "
        "or add --unsafe-fixes"
    ) in run.out
    # With tokens required in the template, the instances no longer take the default.
    text = (
        (tmp_path / "main.tf")
        .read_text()
        .replace(
            '  name_prefix = "lt-"\n',
            '  name_prefix = "lt-"\n  metadata_options {\n    http_tokens = "required"\n  }\n',
        )
    )
    (tmp_path / "main.tf").write_text(text)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    (defaults,) = [f for f in doc["findings"] if f["resource"].startswith("aws_ec2_instance_meta")]
    assert defaults["fix"] == "safe"


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ('TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token -H "a: 1")\n', False),
        ("echo hello\n", False),
        ("curl -s http://169.254.169.254/latest/meta-data/instance-id\n", True),
        ("IMDS=169.254.169.254\ncurl -X PUT http://$IMDS/latest/api/token\n", True),
        ("curl -X PUT 'http://[fd00:ec2::254]/latest/api/token'\n", True),  # bare host too
        ("python3 - <<EOF\nurlopen('http://instance-data/latest/meta-data/')\nEOF\n", True),
        ("pip install boto3==1.9.0\n", True),
        ("ec2-metadata -i\n", True),
    ],
)
def test_only_text_that_names_the_service_beyond_the_token_url_is_parsed(
    text: str, read: bool
) -> None:
    """User data that only fetches a token (the token flow itself) has no call to judge: it is
    not parsed — a cheap look that keeps the 1,600 token-flow heredocs of the benchmark tree
    from costing a parse each."""
    span = Span("f", 0, len(text), 1, 1, 2, 1)
    payload = Payload(text, (Piece(0, len(text), span, "raw"),), span, "user data")
    assert scan._worth_reading(payload) is read


def test_the_token_headers_do_not_look_like_the_ec2_metadata_tool() -> None:
    text = (
        "TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token \\\n"
        '  -H "X-aws-ec2-metadata-token-ttl-seconds: 60")\n'
        'curl -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/api/token\n'
    )
    span = Span("f", 0, len(text), 1, 1, 4, 1)
    payload = Payload(text, (Piece(0, len(text), span, "raw"),), span, "user data")
    assert scan._worth_reading(payload) is False
    assert scan._worth_reading(payload._replace(text=text + "ec2-metadata -i\n")) is True
