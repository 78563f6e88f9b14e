"""IMDS010 weak-guardrail on real policy documents: the policies ``imds-iac scp`` prints pass,
each weakening of fixtures/guardrails gets its verdict, message, span and fix, the fixed file is
still JSON and scans clean, and a baseline accepts the findings (JSON has no comments to carry
an ``imds-iac: ignore``)."""

from __future__ import annotations

import json
import shutil
from itertools import combinations
from pathlib import Path

import pytest

from imds_iac_checks import guardrails
from imds_iac_checks.formats.policy import read_data
from imds_iac_checks.model import Condition, Policy, Span, Statement, Written
from imds_iac_checks.rules import REGISTRY, Context
from imds_iac_checks.rules.weak_guardrail import Operator
from tests.conftest import FIXTURES

GUARDRAILS = FIXTURES / "guardrails"
RULE = next(rule for rule in REGISTRY.values() if rule.policy is not None)


def judge(
    text: str, hop_limit: int = 1, name: str = "scp.json", type: str = "SERVICE_CONTROL_POLICY"
) -> list:
    """The findings on a document read as a policy of ``type`` (a plain JSON document does not
    say whether it is an SCP: "" judges it as the rule does a plain file)."""
    policies, _, errors = read_data(name, text.encode())
    assert errors == [] and len(policies) == 1
    assert RULE.policy is not None
    return list(RULE.policy(policies[0]._replace(type=type), Context(hop_limit=hop_limit)))


def _requests(names: tuple[str, ...], **options) -> list[guardrails.Request]:
    return [guardrails.Request(statements=names, **options)]


# Every subset of the statements (no-modify and no-opt-out do not go together), merged and
# split, with and without an exempt principal.
_NAMES = tuple(guardrails.STATEMENTS)
_SUBSETS = [
    combo
    for n in range(1, len(_NAMES) + 1)
    for combo in combinations(_NAMES, n)
    if not {"no-modify", "no-opt-out"} <= set(combo)
]


@pytest.mark.parametrize("names", _SUBSETS, ids=lambda names: "+".join(names))
def test_every_scp_output_passes(names: tuple[str, ...]) -> None:
    for options in (
        {},
        {"split": True},
        {"exempt": ("arn:aws:iam::*:role/break-glass",)},
        {"hop_limit": 2},
    ):
        request = guardrails.Request(statements=names, **options)  # type: ignore[arg-type]
        for policy in guardrails.build(request):
            text = guardrails.document_text(policy.document)
            assert judge(text, hop_limit=request.hop_limit) == [], (names, options)


def test_scp_command_output_scans_clean(cli, tmp_path: Path) -> None:
    run = cli("scp")
    assert run.code == 0
    (tmp_path / "imdsv2-guardrails.json").write_text(run.out)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["findings"] == []
    assert doc["summary"]["policies"] == 1
    text = cli("check", ".", cwd=tmp_path).out
    assert "(1 file, 0 targets, 1 policy scanned)" in text


def test_the_fixture_copies_imds_iac_scp() -> None:
    printed = guardrails.build(guardrails.Request())[0].document
    assert json.loads((GUARDRAILS / "imdsv2-guardrails.json").read_text()) == printed


# fixture -> (severity, words of the message, line:column, text the fix writes or None)
VERDICTS = {
    "require-imdsv2-string-equals.json": (
        "error",
        [
            "StringEquals required",
            "lets launches that omit HttpTokens and launches with HttpTokens optional through",
            "denies launches that require tokens",
        ],
        (10, 9),
        '"StringNotEquals": {',
    ),
    "deny-optional-tokens.json": (
        "error",
        [
            "StringEquals optional",
            "lets launches that omit HttpTokens through",
            "a condition on an absent key is false",
        ],
        (10, 9),
        '"ec2:MetadataHttpTokens": "required"',
    ),
    # A plain document may be an SCP or an identity policy: the Allow is reported, never
    # turned into a Deny (in an identity policy it is the least-privilege grant).
    "allow-imdsv2-launches.json": (
        "warning",
        [
            "Effect Allow: in an SCP or RCP an Allow never denies",
            "in an identity policy it is a grant",
        ],
        (6, 17),
        None,
    ),
    "require-imdsv2-any-resource.json": (
        "error",
        ["Resource * also matches the launch's image, volume", "denies every launch"],
        (8, 19),
        '"Resource": "arn:aws:ec2:*:*:instance/*"',
    ),
    "max-hop-limit-volume.json": (
        "error",
        ["does not match the instance", "denies no launch"],
        (8, 19),
        '"Resource": "arn:aws:ec2:*:*:instance/*"',
    ),
    "max-hop-limit-3.json": (
        "error",
        ["NumericGreaterThan 3", "lets launches with hop limits 2 to 3 through"],
        (11, 50),
        '"ec2:MetadataHttpPutResponseHopLimit": "1"',
    ),
    "max-hop-limit-if-exists.json": (
        "warning",
        ["denies launches that do not set the hop limit", "...IfExists is true then"],
        (10, 9),
        '"NumericGreaterThan": {',
    ),
    "role-delivery-string.json": (
        "error",
        ["compares ec2:RoleDelivery, which is a number", "with a string operator"],
        (10, 9),
        '"NumericLessThan": {\n          "ec2:RoleDelivery": "2.0"',
    ),
    "role-delivery-threshold.json": (
        "error",
        ["NumericLessThan 1.0", "lets calls signed with role credentials IMDSv1 delivered"],
        (11, 31),
        '"ec2:RoleDelivery": "2.0"',
    ),
    "role-delivery-if-exists.json": (
        "error",
        ["denies every request not signed with instance-role credentials"],
        (10, 9),
        '"NumericLessThan": {',
    ),
    "role-delivery-ec2-only.json": (
        "error",
        ["Action ec2:*", "still call every other one"],
        (7, 17),
        '"Action": "*"',
    ),
    "deny-opt-out-current-setting.json": (
        "error",
        ["is the instance's current setting", "ec2:Attribute/HttpTokens"],
        (11, 11),
        '"ec2:Attribute/HttpTokens": "required"',
    ),
    "imdsv2-launch-combined.json": (
        "error",
        ["conditions are ANDed"],
        (4, 5),
        None,
    ),
    "deny-any-resource-optional-tokens.json": (
        "error",
        ["StringEquals optional", "lets launches that omit HttpTokens through"],
        (10, 9),
        '"Resource": "arn:aws:ec2:*:*:instance/*"',
    ),
    "require-imdsv2-launch-and-modify.json": (
        "error",
        ["also covers actions on existing instances", "the migration itself"],
        (8, 9),
        None,
    ),
    "max-hop-limit-exempt-everyone.json": (
        "error",
        ["ArnNotLike aws:PrincipalArn arn:aws:iam::*:*", "the statement denies nothing"],
        (13, 9),
        None,
    ),
    "require-imdsv2-when-set.json": (
        "error",
        ["StringNotEquals required and Null false", "lets launches that omit HttpTokens"],
        (10, 9),
        None,
    ),
}


def test_every_weakening_fixture_has_a_verdict() -> None:
    silent = {
        "imdsv2-guardrails.json",
        "deny-imdsv1-opt-out.json",
        "require-imdsv2-if-exists.json",
        "deny-optional-tokens-if-exists.json",
    }
    names = {p.name for p in GUARDRAILS.glob("*.json")}
    assert names == set(VERDICTS) | silent
    for name in silent:
        assert judge((GUARDRAILS / name).read_text(), name=name) == [], name


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_weakening_verdict_and_fix(cli, tmp_path: Path, name: str) -> None:
    severity, words, (line, column), written = VERDICTS[name]
    shutil.copy(GUARDRAILS / name, tmp_path / name)
    doc = cli("check", "--format", "json", name, cwd=tmp_path).json()
    (finding,) = doc["findings"]
    assert (finding["rule_id"], finding["severity"]) == (RULE.id, severity)
    assert (finding["line"], finding["column"]) == (line, column)
    assert finding["message"].startswith(f"[{name} statement ")
    for word in words:
        assert word in finding["message"]
    assert finding["fixable"] is (written is not None)
    before = (tmp_path / name).read_bytes()
    run = cli("fix", "--unsafe-fixes", name, cwd=tmp_path)
    after = (tmp_path / name).read_text()
    if written is None:
        assert (tmp_path / name).read_bytes() == before
        assert finding["fix_note"]  # says why there is no fix
        return
    assert run.code == 0, run.out + run.err
    json.loads(after)  # still a policy document
    assert written in after
    again = cli("check", "--format", "json", name, cwd=tmp_path).json()
    assert again["findings"] == [] and again["summary"]["policies"] == 1


def test_a_plain_fix_refuses_without_unsafe_fixes(cli, tmp_path: Path) -> None:
    name = "deny-optional-tokens.json"
    shutil.copy(GUARDRAILS / name, tmp_path / name)
    cli("fix", name, cwd=tmp_path)
    assert (tmp_path / name).read_bytes() == (GUARDRAILS / name).read_bytes()


def test_a_baseline_accepts_the_findings(cli, tmp_path: Path) -> None:
    for name in ("deny-optional-tokens.json", "role-delivery-if-exists.json"):
        shutil.copy(GUARDRAILS / name, tmp_path / name)
    assert cli("check", ".", cwd=tmp_path).code == 1
    assert cli("check", "--write-baseline", "baseline.json", ".", cwd=tmp_path).code == 0
    run = cli("check", "--format", "json", "--baseline", "baseline.json", ".", cwd=tmp_path)
    assert run.code == 0
    doc = run.json()
    assert {f["suppressed"] for f in doc["findings"]} == {"baseline"}
    # a new weakening is not in the baseline
    shutil.copy(GUARDRAILS / "max-hop-limit-3.json", tmp_path / "max-hop-limit-3.json")
    assert cli("check", "--baseline", "baseline.json", ".", cwd=tmp_path).code == 1


def test_ignore_turns_the_rule_off(cli, tmp_path: Path) -> None:
    shutil.copy(GUARDRAILS / "deny-optional-tokens.json", tmp_path / "scp.json")
    doc = cli("check", "--format", "json", "--ignore", RULE.id, "scp.json", cwd=tmp_path).json()
    assert doc["findings"] == []


def test_hop_limit_comes_from_the_configuration(cli, tmp_path: Path) -> None:
    shutil.copy(GUARDRAILS / "max-hop-limit-3.json", tmp_path / "scp.json")
    assert cli("check", "--hop-limit", "3", "scp.json", cwd=tmp_path).code == 0
    (tmp_path / ".imds-iac.toml").write_text("hop-limit = 2\n")
    doc = cli("check", "--format", "json", "scp.json", cwd=tmp_path).json()
    (finding,) = doc["findings"]
    assert "lets launches with hop limit 3 through" in finding["message"]
    assert "NumericGreaterThan 2" in finding["message"]


# --- IAM semantics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "holds"),
    [
        ("StringNotEquals", ("required",), None, True),  # negated: true when absent
        ("StringEquals", ("optional",), None, False),  # false when absent
        ("StringEqualsIfExists", ("optional",), None, True),  # IfExists: true when absent
        ("StringNotEqualsIfExists", ("required",), "required", False),
        ("stringnotequals", ("required",), "optional", True),  # operator names in any case
        ("StringNotEquals", ("required", "optional"), "optional", False),  # NOR
        ("StringEquals", ("required", "optional"), "optional", True),  # OR
        ("StringLike", ("opt*",), "optional", True),
        ("StringNotEqualsIgnoreCase", ("REQUIRED",), "required", False),
        ("NumericGreaterThan", ("1",), None, False),
        ("NumericGreaterThanIfExists", ("1",), None, True),
        ("NumericLessThan", ("2.0",), "1.0", True),
        ("NumericLessThan", ("1.0",), "1.0", False),
        ("NumericNotEquals", ("1",), None, True),
        ("Null", ("true",), None, True),
        ("Null", ("false",), None, False),
        ("ForAllValues:StringEquals", ("required",), None, True),
        ("ForAnyValue:StringNotEquals", ("required",), None, False),
    ],
)
def test_operator_semantics(operator, values, request_value, holds) -> None:
    op = Operator(operator)
    assert op.known
    assert op.holds(values, request_value) is holds


def test_a_made_up_operator_is_reported() -> None:
    text = (GUARDRAILS / "require-imdsv2-string-equals.json").read_text()
    (finding,) = judge(text.replace('"StringEquals"', '"StringEqualz"'))
    assert "StringEqualz is not an IAM condition operator" in finding.message


def test_keys_are_case_insensitive() -> None:
    text = (GUARDRAILS / "deny-optional-tokens.json").read_text()
    (finding,) = judge(text.replace("ec2:MetadataHttpTokens", "EC2:metadatahttptokens"))
    assert "lets launches that omit HttpTokens through" in finding.message


def test_endpoint_condition_false_when_absent() -> None:
    document = json.loads((GUARDRAILS / "imdsv2-guardrails.json").read_text())
    document["Statement"][1]["Condition"]["StringEquals"] = {"ec2:MetadataHttpEndpoint": "enabled"}
    (finding,) = judge(json.dumps(document, indent=2))
    assert "denies none of those launches" in finding.message and not finding.fixable
    document["Statement"][1]["Condition"]["StringEquals"] = {}
    document["Statement"][1]["Condition"]["StringNotEquals"]["ec2:MetadataHttpEndpoint"] = (
        "disabled"
    )
    assert judge(json.dumps(document, indent=2)) == []


def test_a_grant_of_modify_is_not_a_guardrail() -> None:
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ImdsAdmins",
                "Effect": "Allow",
                "Action": ["ec2:ModifyInstanceMetadataOptions", "ec2:DescribeInstances"],
                "Resource": "*",
            }
        ],
    }
    assert judge(json.dumps(grant)) == []


def test_half_a_correction_is_never_offered() -> None:
    # An Allow whose NotResource cannot be rewritten: writing Deny over it while keeping
    # StringEquals "required" would deny the secure launches, so no finding has a fix.
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowImdsV2",
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "NotResource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "required"}},
            }
        ],
    }
    found = judge(json.dumps(document, indent=2))
    assert len(found) == 2
    assert not any(f.fixable or f.edits for f in found)
    assert all(f.fix_note for f in found)


def _w(value: str | None, expression: str = "") -> Written:
    return Written(value, Span("main.tf", 0, 1, 1, 1, 1, 2), None, expression)


def test_what_could_not_be_read_is_said_not_passed() -> None:
    span = Span("main.tf", 0, 1, 1, 1, 1, 2)
    condition = Condition(
        _w("StringNotEquals"), _w("ec2:MetadataHttpTokens"), (_w(None, "var.tokens"),)
    )
    statement = Statement(
        span,
        "RequireImdsV2",
        _w("Deny"),
        (_w("ec2:RunInstances"),),
        (_w(guardrails.INSTANCES),),
        (condition,),
        label="statement RequireImdsV2",
    )
    policy = Policy(
        "aws_organizations_policy.imds",
        "main.tf",
        span,
        "service control policy",
        "terraform",
        (statement,),
    )
    assert RULE.policy is not None
    (finding,) = RULE.policy(policy, Context())
    assert finding.severity == "warning" and not finding.fixable
    assert "could not be judged" in finding.message and "var.tokens" in finding.message
    unknown = statement._replace(conditions=(), unknown='a dynamic "statement" block')
    other = Statement(span, "", _w("Deny"), (_w("ec2:RunInstances"),), (_w("*"),), ())
    (finding,) = RULE.policy(
        policy._replace(
            statements=(
                statement._replace(conditions=(condition._replace(values=(_w("required"),)),)),
                unknown,
                other,
            )
        ),
        Context(),
    )
    assert 'a dynamic "statement" block' in finding.message


def test_the_instance_resource_is_the_guardrails() -> None:
    from imds_iac_checks.rules import weak_guardrail

    assert weak_guardrail.INSTANCES == guardrails.INSTANCES


# --- the verdict table of rules/IMDS010.toml, row by row -----------------------------------------


def _statement(
    effect: str, action, resource, condition: dict | None, sid: str = "Guardrail"
) -> str:
    statement = {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


INSTANCE = guardrails.INSTANCES
TOKENS = "ec2:MetadataHttpTokens"
HOP = "ec2:MetadataHttpPutResponseHopLimit"
ROLE = "ec2:RoleDelivery"
RUN = "ec2:RunInstances"
MODIFY = "ec2:ModifyInstanceMetadataOptions"


@pytest.mark.parametrize(
    ("document", "hop_limit", "verdicts"),
    [
        # (severity, words) per finding; [] = no finding
        (
            _statement("Deny", RUN, INSTANCE, {"StringNotEqualsIfExists": {TOKENS: "required"}}),
            1,
            [],
        ),
        (_statement("Deny", RUN, INSTANCE, {"StringEqualsIfExists": {TOKENS: "optional"}}), 1, []),
        (
            _statement(
                "Deny", RUN, INSTANCE, {"ForAllValues:StringNotEquals": {TOKENS: "required"}}
            ),
            1,
            [],
        ),
        (
            _statement("Deny", RUN, INSTANCE, {"StringNotEquals": {TOKENS: "optional"}}),
            1,
            [("error", "lets launches with HttpTokens optional through")],
        ),
        (
            _statement("Deny", RUN, INSTANCE, {"StringNotEquals": {TOKENS: "Required"}}),
            1,
            [("error", "denies launches that require tokens")],
        ),
        (
            _statement(
                "Deny",
                ["ec2:Run*", "ec2:CreateFleet"],
                INSTANCE,
                {"StringNotEquals": {TOKENS: "required"}},
            ),
            1,
            [],
        ),
        (
            _statement(
                "Deny",
                "ec2:CreateLaunchTemplate",
                INSTANCE,
                {"StringNotEquals": {TOKENS: "required"}},
            ),
            1,
            [("error", "does not apply to ec2:RunInstances")],
        ),
        (
            _statement("Deny", RUN, "arn:aws:ec2:*:*:*", {"StringNotEquals": {TOKENS: "required"}}),
            1,
            [("error", "denies every launch")],
        ),
        (_statement("Deny", RUN, "*", {"NumericGreaterThan": {HOP: "1"}}), 1, []),
        (
            _statement("Deny", RUN, "*", {"NumericGreaterThanIfExists": {HOP: "1"}}),
            1,
            [("error", "denies every launch"), ("warning", "do not set the hop limit")],
        ),
        (_statement("Deny", RUN, INSTANCE, {"NumericGreaterThanEquals": {HOP: "2"}}), 1, []),
        (
            _statement("Deny", RUN, INSTANCE, {"NumericGreaterThan": {HOP: "1"}}),
            2,
            [("warning", "denies launches with hop limit 2")],
        ),
        (
            _statement("Deny", RUN, INSTANCE, {"StringEquals": {HOP: "2"}}),
            1,
            [("error", "with a string operator")],
        ),
        (_statement("Deny", "*", "*", {"NumericLessThanEquals": {ROLE: "1.0"}}), 1, []),
        (
            _statement("Deny", "*", "*", {"NumericNotEquals": {ROLE: "2.0"}}),
            1,
            [("error", "denies every request not signed with instance-role credentials")],
        ),
        (
            _statement("Deny", "*", INSTANCE, {"NumericLessThan": {ROLE: "2.0"}}),
            1,
            [("error", "denied only on these resources")],
        ),
        (
            _statement("Allow", "*", "*", {"NumericGreaterThanEquals": {ROLE: "2.0"}}),
            1,
            [("error", "an Allow never denies")],
        ),
        (_statement("Deny", MODIFY, "*", None), 1, []),
        (
            _statement(
                "Deny",
                MODIFY,
                "*",
                {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/imds-admins"}},
            ),
            1,
            [],
        ),
        (
            _statement(
                "Deny", MODIFY, INSTANCE, {"StringEquals": {"ec2:Attribute/HttpTokens": "optional"}}
            ),
            1,
            [],
        ),
        (
            _statement(
                "Deny", MODIFY, INSTANCE, {"StringEquals": {"ec2:Attribute/HttpTokens": "required"}}
            ),
            1,
            [("error", "lets changes of HttpTokens to optional (an opt-out of IMDSv2) through")],
        ),
        (
            _statement("Deny", MODIFY, "arn:aws:ec2:*:*:volume/*", None),
            1,
            [("error", "denies no change")],
        ),
        (_statement("Allow", [MODIFY], "*", None), 1, []),  # a grant, not a guardrail
        (
            _statement(
                "Deny", RUN, INSTANCE, {"StringEquals": {"ec2:MetadataHttpEndpoint": "disabled"}}
            ),
            1,
            [],  # the guardrail has no endpoint statement: not judged
        ),
    ],
)
def test_verdict_table(document: str, hop_limit: int, verdicts: list) -> None:
    found = judge(document, hop_limit=hop_limit)
    got = sorted((f.severity, f.message) for f in found)
    assert len(got) == len(verdicts), got
    for (severity, message), (want, words) in zip(got, sorted(verdicts), strict=True):
        assert severity == want and words in message, message
    if found and all(f.fixable for f in found):
        # the corrected statement is what the guardrail means: apply the edits and judge again
        data = document.encode()
        for _, start, end, text in sorted({e for f in found for e in f.edits}, reverse=True):
            data = data[:start] + text + data[end:]
        assert judge(data.decode(), hop_limit=hop_limit) == []


def test_the_cases_fix_in_json_and_yaml(cli, tmp_path: Path) -> None:
    """A YAML policy document and a multi-statement JSON one: every fix is made in one run,
    both files still parse, and a second scan is clean."""
    from ruamel.yaml import YAML

    cases = Path(__file__).parent / "rules" / RULE.id
    for name in ("guardrails.yaml", "landing-zone-imds.json"):
        shutil.copy(cases / name, tmp_path / name)
    run = cli("fix", "--unsafe-fixes", "--hop-limit", "2", ".", cwd=tmp_path)
    assert run.code == 0, run.out + run.err
    assert "Fixed 4 findings in 2 files; no findings left." in run.out
    document = YAML(typ="safe").load((tmp_path / "guardrails.yaml").read_text())
    tokens = document["Statement"][0]["Condition"]
    assert tokens == {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}
    policy = json.loads((tmp_path / "landing-zone-imds.json").read_text())
    assert policy["Statement"][1]["Resource"] == [guardrails.INSTANCES] * 2
    doc = cli("check", "--format", "json", "--hop-limit", "2", ".", cwd=tmp_path).json()
    assert doc["findings"] == [] and doc["summary"]["policies"] == 2


def test_an_effect_that_is_neither_allow_nor_deny() -> None:
    document = _statement("Block", RUN, INSTANCE, {"StringNotEquals": {TOKENS: "required"}})
    (finding,) = judge(document)
    assert "Effect Block: an Effect is Allow or Deny" in finding.message
    assert finding.edits == (
        ("scp.json", document.index("Block"), document.index("Block") + 5, b"Deny"),
    )


def test_an_allow_on_the_current_setting_is_corrected_into_no_opt_out() -> None:
    document = _statement("Allow", MODIFY, INSTANCE, {"StringEquals": {TOKENS: "required"}})
    found = judge(document)
    assert len(found) == 2 and all(f.fixable for f in found)
    data = document.encode()
    for _, start, end, text in sorted({e for f in found for e in f.edits}, reverse=True):
        data = data[:start] + text + data[end:]
    condition = json.loads(data)["Statement"][0]["Condition"]
    assert condition == {"StringNotEquals": {"ec2:Attribute/HttpTokens": "required"}}
    assert judge(data.decode()) == []


def test_a_yaml_policy_takes_an_ignore_comment_and_its_audit(cli, tmp_path: Path) -> None:
    """YAML has comments: an ``imds-iac: ignore`` on the finding's line suppresses it, and one
    that suppresses nothing is reported as unused (the policy file's comments are judged)."""
    case = (Path(__file__).parent / "rules" / RULE.id / "guardrails.yaml").read_text()
    reviewed = "# imds-iac: ignore[{}] accounts default to required"
    (tmp_path / "scp.yaml").write_text(
        case.replace("# imds-expect: IMDS010@7", reviewed.format(RULE.id))
    )
    doc = cli("check", "--format", "json", "scp.yaml", cwd=tmp_path).json()
    assert [(f["rule_id"], f["suppressed"]) for f in doc["findings"]] == [
        (RULE.id, "imds-iac: ignore: accounts default to required")
    ]
    (tmp_path / "scp.yaml").write_text(
        case.replace("# imds-expect: IMDS010@7", reviewed.format("IMDS003"))
    )
    doc = cli("check", "--format", "json", "scp.yaml", cwd=tmp_path).json()
    unused = [f for f in doc["findings"] if f["rule_id"] != RULE.id]
    assert [f["message"] for f in unused] == ["unused suppression IMDS003: no IMDS003 finding here"]


# --- review 18: statements not read, parts not read, time, corrected statements, kinds ---------


def _check(cli, directory: Path) -> list[dict]:
    return cli("check", "--format", "json", ".", cwd=directory).json()["findings"]


def test_a_policy_whose_statements_could_not_be_read_is_not_passed(cli, tmp_path: Path) -> None:
    # One policy per OU from a map: the content is only known at plan time.
    (tmp_path / "scps.tf").write_text(
        """variable "policies" {
  type = map(object({ content = string, target = string }))
}

resource "aws_organizations_policy" "this" {
  for_each = var.policies

  name    = each.key
  type    = "SERVICE_CONTROL_POLICY"
  content = each.value.content # require ec2:MetadataHttpTokens per OU
}
"""
    )
    (found,) = _check(cli, tmp_path)
    assert found["severity"] == "warning" and "could not be judged" in found["message"]
    assert "each.value.content" in found["message"] and not found["fixable"]


def test_a_condition_that_is_not_a_mapping_is_not_judged_but_reported(cli, tmp_path: Path) -> None:
    (tmp_path / "scp.json").write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": RUN,
                        "Resource": INSTANCE,
                        "Condition": [{"StringNotEquals": {TOKENS: "required"}}],
                    }
                ],
            },
            indent=2,
        )
    )
    (found,) = _check(cli, tmp_path)
    assert found["severity"] == "warning" and "could not be judged" in found["message"]
    assert "not a mapping" in found["message"]


_CFN_SCP = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  AuditAccount:
    Type: String
Resources:
  ImdsScp:
    Type: AWS::Organizations::Policy
    Properties:
      Name: imds-v2-only
      Type: SERVICE_CONTROL_POLICY
      TargetIds: [ou-abcd-11111111]
      Content:
        Version: "2012-10-17"
        Statement:
          - Sid: RequireImdsV2
            Effect: Deny
            Action: ec2:RunInstances
            Resource: RESOURCE
            Condition:
              StringEquals:
                ec2:MetadataHttpTokens: optional
"""


def test_an_operator_problem_is_an_error_whatever_the_resource(cli, tmp_path: Path) -> None:
    # The account is a parameter: the Resource cannot be read, the operator is wrong anyway.
    (tmp_path / "scp.yaml").write_text(
        _CFN_SCP.replace("RESOURCE", '!Sub "arn:aws:ec2:*:${AuditAccount}:instance/*"').replace(
            "${AuditAccount}", "${AuditAccount}"
        )
    )
    (found,) = _check(cli, tmp_path)
    assert found["severity"] == "error"
    assert "lets launches that omit HttpTokens through" in found["message"]
    assert cli("check", ".", cwd=tmp_path).code == 1


def test_a_resource_that_cannot_be_read_withholds_the_fix_and_says_why() -> None:
    base = Span("scp.json", 0, 10, 1, 1, 1, 10)
    statement = Statement(
        base,
        "RequireImdsV2",
        Written("Deny", base, base),
        (Written(RUN, base, base),),
        (Written(None, base, None, "var.launch_resource"),),
        (
            Condition(
                Written("StringEquals", base, base),
                Written(TOKENS, base),
                (Written("optional", base, base),),
            ),
        ),
    )
    policy = Policy(
        "aws_organizations_policy.imds",
        "main.tf",
        base,
        "service control policy",
        "terraform",
        (statement,),
        "SERVICE_CONTROL_POLICY",
    )
    assert RULE.policy is not None
    (found,) = RULE.policy(policy, Context())
    assert found.severity == "error" and "var.launch_resource could not be read" in found.message
    assert not found.fixable and "depends on its Resource" in (found.fix_note or "")


@pytest.mark.parametrize("resource", ["arn:*:ec2:*:*:instance/*", "arn:aws*:ec2:*:*:instance/*"])
def test_a_wildcard_partition_matches_the_instance(resource: str) -> None:
    good = _statement("Deny", RUN, resource, {"StringNotEquals": {TOKENS: "required"}})
    assert judge(good) == []
    (found,) = judge(_statement("Deny", RUN, resource, {"StringEquals": {TOKENS: "optional"}}))
    assert found.fixable


@pytest.mark.slow
def test_time_is_linear_in_values_and_statements() -> None:
    """4,000 statements, a condition of 4,000 values and a list of 20,000 actions (a 1.5 MB
    policy) are judged in time linear in all three: eight times the size takes well under
    eight times three the time."""
    import time

    def timed(n: int) -> float:
        statements = [
            {
                "Sid": f"Hop{i}",
                "Effect": "Deny",
                "Action": RUN,
                "Resource": INSTANCE,
                "Condition": {"NumericGreaterThan": {HOP: "3"}},
            }
            for i in range(n)
        ]
        statements.append(
            {
                "Effect": "Deny",
                "Action": RUN,
                "Resource": INSTANCE,
                "Condition": {"StringEquals": {TOKENS: [f"optional{i}" for i in range(n)]}},
            }
        )
        statements.append(  # a long action list, right as it is: no finding
            {
                "Effect": "Deny",
                "Action": [RUN, *(f"ec2:DescribeThing{i}" for i in range(n * 5))],
                "Resource": INSTANCE,
                "Condition": {"StringNotEquals": {TOKENS: "required"}},
            }
        )
        text = json.dumps({"Version": "2012-10-17", "Statement": statements})
        start = time.perf_counter()
        found = judge(text)
        assert len(found) == n + 1 and all(f.fixable for f in found)
        return time.perf_counter() - start

    small, large = timed(500), timed(4000)
    assert large < 10.0 and large < small * 8 * 3, (small, large)


def _fix_once(cli, directory: Path) -> None:
    run = cli("fix", "--unsafe-fixes", ".", cwd=directory)
    assert run.code == 0, run.out + run.err
    assert _check(cli, directory) == []


def test_a_corrected_operator_takes_the_resource_with_it(cli, tmp_path: Path) -> None:
    (tmp_path / "scp.json").write_text(
        _statement("Deny", RUN, "*", {"StringEquals": {TOKENS: "optional"}})
    )
    (found,) = _check(cli, tmp_path)
    assert found["fixable"] and "-> arn:aws:ec2:*:*:instance/*" in found["fix_note"]
    _fix_once(cli, tmp_path)
    fixed = json.loads((tmp_path / "scp.json").read_text())["Statement"][0]
    assert fixed["Resource"] == INSTANCE
    assert fixed["Condition"] == {"StringNotEquals": {TOKENS: "required"}}


_TERRAFORM_RUN_AND_MODIFY = """data "aws_iam_policy_document" "imdsv2" {
  statement {
    sid    = "RequireImdsV2"
    effect = "Deny"
    actions = [
      "ec2:RunInstances",
      "ec2:ModifyInstanceMetadataOptions",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["optional"]
    }
  }
}

resource "aws_organizations_policy" "imdsv2" {
  name    = "imdsv2"
  type    = "SERVICE_CONTROL_POLICY"
  content = data.aws_iam_policy_document.imdsv2.json
}
"""


def test_a_statement_that_must_be_split_claims_no_fix(cli, tmp_path: Path) -> None:
    (tmp_path / "scp.tf").write_text(_TERRAFORM_RUN_AND_MODIFY)
    found = _check(cli, tmp_path)
    assert found and not any(f["fixable"] for f in found)
    messages = " ".join(f["message"] for f in found)
    assert "the migration itself" in messages
    assert all("the statement must be split" in f["fix_note"] for f in found)
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (tmp_path / "scp.tf").read_text() == _TERRAFORM_RUN_AND_MODIFY
    assert "still there after the edit" not in run.out + run.err


@pytest.mark.parametrize(
    ("action", "fixable"),
    [
        ([RUN, MODIFY], False),
        ("ec2:*", True),
        ("*", True),
    ],
)
def test_launch_keys_on_actions_on_existing_instances(
    cli, tmp_path: Path, action, fixable: bool
) -> None:
    (tmp_path / "scp.json").write_text(
        _statement("Deny", action, INSTANCE, {"StringNotEquals": {TOKENS: "required"}})
    )
    (found,) = _check(cli, tmp_path)
    assert found["severity"] == "error" and found["fixable"] is fixable
    assert "modify-instance-metadata-options --http-tokens required" in found["message"]
    if action != [RUN, MODIFY]:
        assert "ec2:StopInstances" in found["message"]
        _fix_once(cli, tmp_path)
        assert json.loads((tmp_path / "scp.json").read_text())["Statement"][0]["Action"] == RUN


def test_not_action_that_leaves_modify_in_is_reported() -> None:
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "NotAction": "ec2:ModifyInstanceMetadataOptions",
                    "Resource": INSTANCE,
                    "Condition": {"StringNotEquals": {TOKENS: "required"}},
                }
            ],
        }
    )
    (found,) = judge(document)
    assert "ec2:TerminateInstances" in found.message and not found.fixable


_IAM_MANAGED = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  CiLaunchPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Description: CI may launch instances that require IMDSv2
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: LaunchImdsV2Only
            Effect: Allow
            Action: ec2:RunInstances
            Resource: "*"
            Condition:
              StringEquals:
                ec2:MetadataHttpTokens: TOKENS
          - Sid: MigrateInstances
            Effect: Allow
            Action: ec2:ModifyInstanceMetadataOptions
            Resource: "*"
"""


def test_a_grant_of_imdsv2_launches_in_an_identity_policy_is_right(cli, tmp_path: Path) -> None:
    (tmp_path / "ci.yaml").write_text(_IAM_MANAGED.replace("TOKENS", "required"))
    assert _check(cli, tmp_path) == []


def test_an_identity_grant_of_imdsv1_launches_is_a_warning_never_a_deny(
    cli, tmp_path: Path
) -> None:
    (tmp_path / "ci.yaml").write_text(_IAM_MANAGED.replace("TOKENS", "optional"))
    (found,) = _check(cli, tmp_path)
    assert found["severity"] == "warning" and not found["fixable"]
    assert "grants launches with HttpTokens optional explicitly" in found["message"]
    assert "no fix turns it into a Deny" in found["fix_note"]


def test_an_allow_in_an_scp_is_corrected_into_the_guardrail(cli, tmp_path: Path) -> None:
    (tmp_path / "scp.yaml").write_text(
        _CFN_SCP.replace("Effect: Deny", "Effect: Allow")
        .replace("RESOURCE", "arn:aws:ec2:*:*:instance/*")
        .replace("optional", "required")
    )
    (found, *_) = _check(cli, tmp_path)
    assert found["fixable"] and "an Allow never denies" in found["message"]
    _fix_once(cli, tmp_path)
    assert "Effect: Deny" in (tmp_path / "scp.yaml").read_text()


@pytest.mark.parametrize("exempt", ["*", "arn:aws:iam::*:*", "arn:*:iam::*:*"])
def test_an_exemption_of_every_principal_denies_nothing(exempt: str) -> None:
    condition = {"NumericGreaterThan": {HOP: "1"}, "ArnNotLike": {"aws:PrincipalArn": exempt}}
    (found,) = judge(_statement("Deny", RUN, INSTANCE, condition))
    assert found.severity == "error" and "denies nothing" in found.message
    assert not found.fixable


def test_narrowing_conditions_are_named_not_judged() -> None:
    from imds_iac_checks.rules.weak_guardrail import narrowed_by

    condition = {
        "StringNotEquals": {TOKENS: "required", "aws:RequestedRegion": "eu-west-1"},
        "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/legacy-*"},
    }
    text = _statement("Deny", RUN, INSTANCE, condition)
    assert judge(text) == []
    policies, _, _ = read_data("scp.json", text.encode())
    assert narrowed_by(policies[0].statements[0]) == ("aws:RequestedRegion", "aws:PrincipalArn")
    plain = _statement("Deny", RUN, INSTANCE, {"StringNotEquals": {TOKENS: "required"}})
    assert narrowed_by(read_data("scp.json", plain.encode())[0][0].statements[0]) == ()


def test_a_shared_value_is_not_edited_and_its_readers_are_named() -> None:
    base = Span("locals.tf", 0, 10, 1, 1, 1, 10)
    shared = "local.imdsv2_only, also used by aws_iam_policy.ci_launch"
    statement = Statement(
        base,
        "RequireImdsV2",
        Written("Deny", base, base),
        (Written(RUN, base, base),),
        (Written(INSTANCE, base, base),),
        (
            Condition(
                Written("StringEquals", base, base, shared=shared),
                Written(TOKENS, base),
                (Written("required", base, base, shared=shared),),
            ),
        ),
    )
    policy = Policy(
        "aws_organizations_policy.imds",
        "main.tf",
        base,
        "service control policy",
        "terraform",
        (statement,),
        "SERVICE_CONTROL_POLICY",
    )
    assert RULE.policy is not None
    (found,) = RULE.policy(policy, Context())
    assert found.severity == "error" and not found.fixable
    assert "aws_iam_policy.ci_launch" in (found.fix_note or "")


@pytest.mark.parametrize(
    ("action", "condition", "words", "absent"),
    [
        (
            RUN,
            {"StringNotEquals": {HOP: "1"}},
            "it is over-broad: it denies launches that do not set the hop limit",
            "go through",
        ),
        (
            "ec2:CreateLaunchTemplate",
            {"StringNotEquals": {TOKENS: "required"}},
            "it denies every ec2:CreateLaunchTemplate request",
            "denies every launch",
        ),
        (RUN, {"StringNotEquals": {TOKENS: []}}, "empty list of values", "  on"),
    ],
)
def test_messages_say_what_the_statement_does(action, condition, words: str, absent: str) -> None:
    found = judge(_statement("Deny", action, "*" if "Launch" in action else INSTANCE, condition))
    assert found and any(words in f.message for f in found), [f.message for f in found]
    assert not any(absent in f.message for f in found)


_SHARED_LOCAL = """locals {
  imdsv2_only = {
    StringEquals = { "ec2:MetadataHttpTokens" = "required" }
  }
}

# Identity policy: the CI role may launch only instances that require IMDSv2.
resource "aws_iam_policy" "ci_launch" {
  name = "ci-launch"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = local.imdsv2_only
    }]
  })
}

resource "aws_organizations_policy" "imds" {
  name = "imds"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = local.imdsv2_only
    }]
  })
}
"""


def test_a_local_the_identity_policy_reads_too_is_not_rewritten(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_SHARED_LOCAL)
    (found,) = _check(cli, tmp_path)
    assert found["severity"] == "error" and not found["fixable"]
    assert "aws_iam_policy.ci_launch" in found["fix_note"]
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (tmp_path / "main.tf").read_text() == _SHARED_LOCAL
    assert "aws_iam_policy.ci_launch" in run.out + run.err
