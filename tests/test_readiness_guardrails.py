"""``imds-iac report``: the section "Account defaults and guardrails" — whether the repository
sets the accounts' instance metadata defaults or writes guardrail policies at all, on trees laid
out as organisation repositories lay them out: a Terraform org repository with
``aws_ec2_instance_metadata_defaults`` per Region, SCPs kept as JSON files beside other SCPs,
and an application repository with neither."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest

from imds_iac_checks import guardrails
from imds_iac_checks.config import Overrides, Resolver, compile_glob
from imds_iac_checks.report import readiness, readiness_guardrails, readiness_html
from imds_iac_checks.report.readiness_guardrails import (
    ALLOWS,
    COVERED,
    DENIES_NOTHING,
    IAM_DENIES,
    IAM_GRANTS,
    MISSING,
    MISSING_UNREAD,
    NARROWED,
    NOT_READ,
    NOTHING,
    REQUIRES,
    UNCHECKED,
    UNKNOWN,
    WEAK,
    StatementRow,
)
from imds_iac_checks.report.readiness_guardrails import (
    OVERRIDDEN as DEFAULT_OVERRIDDEN,
)
from imds_iac_checks.rules import REGISTRY
from imds_iac_checks.scan import ScanResult, scan
from tests import policy_test_rule
from tests.conftest import ROOT, write

# An organisation's account baseline: the defaults set per Region through provider aliases;
# one Region still on optional tokens, one whose value comes from a variable without a default.
ORG_DEFAULTS = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.38"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

provider "aws" {
  alias  = "ap_southeast_2"
  region = "ap-southeast-2"
}

variable "ap_tokens" {
  description = "http_tokens of the ap-southeast-2 defaults"
  type        = string
}

resource "aws_ec2_instance_metadata_defaults" "eu_west_1" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 2
  http_endpoint               = "enabled"
  instance_metadata_tags      = "disabled"
}

resource "aws_ec2_instance_metadata_defaults" "us_east_1" {
  provider                    = aws.us_east_1
  http_tokens                 = "optional"
  http_put_response_hop_limit = 2
}

resource "aws_ec2_instance_metadata_defaults" "ap_southeast_2" {
  provider    = aws.ap_southeast_2
  http_tokens = var.ap_tokens
}
"""

# An application module beside it: no settings of its own, so the defaults decide.
APP = """
resource "aws_instance" "worker" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"
}
"""

# Another SCP of the same repository, with nothing about IMDS: it must not count as a guardrail
# (its Action "*" statement denies everything outside two Regions, not the metadata options).
REGION_SCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyAllOutsideEU",
            "Effect": "Deny",
            "NotAction": ["iam:*", "organizations:*", "support:*"],
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}
            },
        }
    ],
}


def _json(document: object) -> str:
    return json.dumps(document, indent=2) + "\n"


# The guide's merged policy, as `imds-iac scp` prints it, plus a statement of the landing zone
# that has nothing to do with IMDS but denies every action under a condition.
def _guide_policy() -> dict[str, object]:
    document = guardrails.build(guardrails.Request())[0].document
    statements = list(document["Statement"])
    statements.append(
        {
            "Sid": "DenyLeaveOrganization",
            "Effect": "Deny",
            "Action": "organizations:LeaveOrganization",
            "Resource": "*",
        }
    )
    return {"Version": document["Version"], "Statement": statements}


# A hand-written SCP that gets the tokens statement wrong (StringEquals) and allows instead of
# denying the hop limit: weaker than intended on both counts.
WEAK_SCP = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "RequireImdsV2",
      "Effect": "Deny",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {
        "StringEquals": {
          "ec2:MetadataHttpTokens": "required"
        }
      }
    },
    {
      "Sid": "MaxImdsHopLimit",
      "Effect": "Allow",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {
        "NumericLessThanEquals": {
          "ec2:MetadataHttpPutResponseHopLimit": "1"
        }
      }
    }
  ]
}
"""


@pytest.fixture
def policy_rule() -> Iterator[None]:
    """A rule that judges policies, registered for the test (the real one is judged by its own
    tests; the report must list whatever such a rule says)."""
    policy_test_rule.register()
    try:
        yield
    finally:
        policy_test_rule.unregister()


def line_of(text: str, needle: str) -> int:
    """The line of ``needle`` in ``text`` as ``write`` writes it (the first newline dropped)."""
    return text.lstrip("\n")[: text.lstrip("\n").index(needle)].count("\n") + 1


EU = line_of(ORG_DEFAULTS, '"aws_ec2_instance_metadata_defaults" "eu_west_1"')
US = line_of(ORG_DEFAULTS, '"aws_ec2_instance_metadata_defaults" "us_east_1"')


def scanned(path: Path, overrides: Overrides | None = None) -> ScanResult:
    here = os.getcwd()
    os.chdir(path)
    try:
        return scan(["."], Resolver(overrides or Overrides()), str(path))
    finally:
        os.chdir(here)


def markdown(model: readiness.Readiness) -> str:
    out = StringIO()
    readiness.write_markdown(model, out)
    return out.getvalue()


def section(text: str) -> str:
    """The Markdown section, up to the next heading of its level."""
    start = text.index("### Account defaults and guardrails")
    end = text.index("\n### ", start + 1)
    return text[start:end]


class _Sections(HTMLParser):
    """The text of the HTML section ``#guardrails`` and the ids of its tables."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []
        self.tables: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ids = dict(attrs).get("id")
        if tag == "section" and ids == "guardrails":
            self.depth = 1
        elif self.depth and tag == "section":
            self.depth += 1
        if self.depth and tag == "table" and ids:
            self.tables.append(ids)

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "section":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def html_section(model: readiness.Readiness) -> _Sections:
    out = StringIO()
    readiness_html.write(model, out)
    parser = _Sections()
    parser.feed(out.getvalue())
    return parser


# --- a repository with neither -------------------------------------------------------------------


def test_an_application_repository_is_told_it_sets_no_defaults_and_no_guardrails(
    tmp_path: Path,
) -> None:
    write(tmp_path, "app/main.tf", APP)
    write(tmp_path, "policies/region.json", _json(REGION_SCP))  # no IMDS key: not a guardrail
    model = readiness.build(scanned(tmp_path))
    g = model.guardrails
    assert g.defaults == () and g.policies == ()
    assert g.summary == (NOTHING,)
    assert NOTHING.startswith("No account defaults or guardrail policies found: instances ")
    text = section(markdown(model))
    assert "instances launched without settings of their own allow IMDSv1" in text
    assert "[docs/guardrails.md](https://github.com/imds-iac/imds-iac/blob/main/docs/" in text
    assert "| Account default |" not in text and "| Policy |" not in text
    page = html_section(model)
    assert "".join(page.text).count("No account defaults or guardrail policies found") == 1
    assert page.tables == []
    data = readiness.document(model)["guardrails"]
    assert data == {
        "summary": [NOTHING],
        "account_defaults": [],
        "statements": [
            {"name": n, "state": MISSING, "narrowed_by": [], "as": None} for n in DEFAULTS
        ],
        "policies": [],
        "iam_policies": [],
    }


DEFAULTS = guardrails.DEFAULT_STATEMENTS


# --- a Terraform organisation repository ----------------------------------------------------------


def test_account_defaults_per_region_with_what_each_does_to_tokens(tmp_path: Path) -> None:
    write(tmp_path, "org/baseline/main.tf", ORG_DEFAULTS)
    write(tmp_path, "app/main.tf", APP)
    model = readiness.build(scanned(tmp_path))
    g = model.guardrails
    assert [(d.address, d.state) for d in g.defaults] == [
        ("aws_ec2_instance_metadata_defaults.eu_west_1", REQUIRES),
        ("aws_ec2_instance_metadata_defaults.us_east_1", ALLOWS),
        ("aws_ec2_instance_metadata_defaults.ap_southeast_2", UNKNOWN),
    ]
    eu, us, ap = g.defaults
    assert (eu.path, eu.line, eu.kind) == (
        "org/baseline/main.tf",
        EU,
        "aws_ec2_instance_metadata_defaults",
    )
    assert us.detail == 'http_tokens is "optional"'
    assert ap.detail == (
        "http_tokens could not be evaluated: var.ap_tokens (no default and no value given)"
    )
    assert g.policies == ()
    assert g.summary[0] == (
        "3 account-default settings found: 1 requires tokens, 1 allows IMDSv1, 1 unknown."
    )
    # Defaults without guardrails: said, and never "protected".
    assert g.summary[1] == readiness_guardrails.NO_POLICIES
    assert "is not something a scan of code can see" in g.summary[2]
    text = section(markdown(model))
    assert (
        f"| aws\\_ec2\\_instance\\_metadata\\_defaults.us\\_east\\_1 | org/baseline/main.tf:{US} | "
        'aws\\_ec2\\_instance\\_metadata\\_defaults | allows IMDSv1 | http\\_tokens is "optional" |'
    ) in text
    assert "| Policy |" not in text  # no policy table without policies
    page = html_section(model)
    assert page.tables == ["account-defaults"]
    assert "allows IMDSv1" in "".join(page.text)
    data = readiness.document(model)["guardrails"]
    assert [d["state"] for d in data["account_defaults"]] == [REQUIRES, ALLOWS, UNKNOWN]
    assert data["account_defaults"][0] == {
        "address": "aws_ec2_instance_metadata_defaults.eu_west_1",
        "path": "org/baseline/main.tf",
        "line": EU,
        "column": 1,
        "kind": "aws_ec2_instance_metadata_defaults",
        "format": "terraform",
        "state": REQUIRES,
        "detail": 'http_tokens is "required"',
    }
    # The rest of the report is unchanged: the defaults are targets like any other.
    groups = {grp.name: grp for grp in model.groups}
    assert {t.address for t in groups["org/baseline"].targets} == {d.address for d in g.defaults}


def test_defaults_that_do_not_set_tokens_leave_imdsv1_allowed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "baseline.tf",
        'resource "aws_ec2_instance_metadata_defaults" "hops" {\n'
        "  http_put_response_hop_limit = 2\n}\n",
    )
    (row,) = readiness.build(scanned(tmp_path)).guardrails.defaults
    assert row.state == ALLOWS
    assert row.detail.startswith("http_tokens is not set: the account keeps the default it had")


def test_the_modify_instance_metadata_defaults_request_is_an_account_default(
    tmp_path: Path,
) -> None:
    # `aws ec2 modify-instance-metadata-defaults --cli-input-json file://imds-defaults.json`
    write(
        tmp_path,
        "accounts/imds-defaults.json",
        _json({"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "DryRun": False}),
    )
    (row,) = readiness.build(scanned(tmp_path)).guardrails.defaults
    assert (row.state, row.format, row.kind) == (
        REQUIRES,
        "ec2-api-json",
        "ec2:ModifyInstanceMetadataDefaults",
    )


# --- SCPs as JSON files --------------------------------------------------------------------------


def test_the_guides_merged_scp_covers_the_four_statements(tmp_path: Path, policy_rule) -> None:
    write(tmp_path, "scps/imdsv2-guardrails.json", _json(_guide_policy()))
    write(tmp_path, "scps/region.json", _json(REGION_SCP))
    model = readiness.build(scanned(tmp_path))
    g = model.guardrails
    (policy,) = g.policies  # the region SCP names no IMDS key: not read as a guardrail
    assert (policy.address, policy.what, policy.findings) == (
        "scps/imdsv2-guardrails.json",
        "policy document",
        (),
    )
    assert [(c.name, c.state, c.statements) for c in policy.covers] == [
        ("role-delivery", COVERED, ("statement RequireAllEc2RolesToUseV2",)),
        ("require-tokens", COVERED, ("statement RequireImdsV2",)),
        ("no-modify", COVERED, ("statement DenyModifyInstanceMetadataOptions",)),
        ("hop-limit", COVERED, ("statement MaxImdsHopLimit",)),
    ]
    assert g.statements == tuple(StatementRow(name, COVERED) for name in DEFAULTS)
    assert g.summary[0] == readiness_guardrails.NO_DEFAULTS
    assert g.summary[1] == (
        "1 guardrail policy found; covered: role-delivery, require-tokens, no-modify, hop-limit."
    )
    text = section(markdown(model))
    assert "| `no-modify` | covered |" in text
    assert (
        "| scps/imdsv2-guardrails.json | scps/imdsv2-guardrails.json:1 | policy document, taken as "
        "an SCP | "
        "`role-delivery` (covered), `require-tokens` (covered), `no-modify` (covered), "
        "`hop-limit` (covered) | no finding |"
    ) in text


def test_no_opt_out_stands_for_no_modify(tmp_path: Path, policy_rule) -> None:
    request = guardrails.Request(statements=("require-tokens", "no-opt-out"))
    write(tmp_path, "scp.json", _json(guardrails.build(request)[0].document))
    g = readiness.build(scanned(tmp_path)).guardrails
    assert [c.name for c in g.policies[0].covers] == ["require-tokens", "no-opt-out"]
    assert {s.name: (s.state, s.stands) for s in g.statements} == {
        "role-delivery": (MISSING, ""),
        "require-tokens": (COVERED, ""),
        "no-modify": (COVERED, "no-opt-out"),
        "hop-limit": (MISSING, ""),
    }


def test_a_weak_scp_is_weaker_than_intended_with_what_the_rule_says(
    tmp_path: Path, policy_rule
) -> None:
    write(tmp_path, "scps/imdsv2.json", WEAK_SCP)
    model = readiness.build(scanned(tmp_path))
    (policy,) = model.guardrails.policies
    # StringEquals: the policy rule's finding points into the statement. Allow: no statement
    # that allows is a guardrail, whatever any rule says.
    assert [(c.name, c.state) for c in policy.covers] == [
        ("require-tokens", WEAK),
        ("hop-limit", WEAK),
    ]
    ours = [f for f in policy.findings if f.rule_id == policy_test_rule.RULE.id]
    assert [(f.line, f.column, f.suppressed) for f in ours] == [(10, 9, False)]
    assert ours[0].message.startswith("[scps/imdsv2.json statement RequireImdsV2] StringEquals")
    summary = model.guardrails.summary[1]
    assert summary == (
        "1 guardrail policy found; weaker than intended or not read: require-tokens, hop-limit; "
        "no policy found for: role-delivery, no-modify."
    )
    assert "covered" not in summary
    text = section(markdown(model))
    assert "| `require-tokens` | weaker than intended |" in text
    assert "[IMDS910](https://github.com/imds-iac/imds-iac/blob/main/docs/rules/IMDS910.md)" in text
    page = html_section(model)
    assert page.tables == ["guardrail-statements", "guardrail-policies"]
    assert "StringEquals denies the launches that require tokens" in "".join(page.text)
    data = readiness.document(model)["guardrails"]
    assert data["policies"][0]["covers"][0] == {
        "name": "require-tokens",
        "state": WEAK,
        "narrowed_by": [],
        "statements": ["statement RequireImdsV2"],
    }
    assert any(f["rule_id"] == "IMDS910" for f in data["policies"][0]["findings"])


def test_a_suppressed_finding_still_leaves_the_statement_weak(tmp_path: Path, policy_rule) -> None:
    write(tmp_path, "scps/imdsv2.json", WEAK_SCP)
    result = scanned(tmp_path)
    accepted = [f._replace(suppressed="baseline") for f in result.findings]
    g = readiness_guardrails.build(result._replace(findings=accepted))
    assert g.policies[0].covers[0].state == WEAK
    assert all(f.suppressed for f in g.policies[0].findings)


def test_without_a_rule_that_judges_policies_nothing_is_called_covered(
    tmp_path: Path, policy_rule
) -> None:
    write(tmp_path, "scps/imdsv2-guardrails.json", _json(_guide_policy()))
    ignored = tuple(rule.id for rule in REGISTRY.values() if rule.policy is not None)
    result = scanned(tmp_path, Overrides(ignore=ignored))
    assert result.unjudged == frozenset({"scps/imdsv2-guardrails.json"})
    g = readiness.build(result).guardrails
    assert {c.state for c in g.policies[0].covers} == {UNCHECKED}
    assert COVERED not in {s.state for s in g.statements}
    assert "not checked (no rule that judges policies is enabled)" in g.summary[1]


def test_policies_of_excluded_files_are_not_listed(tmp_path: Path, policy_rule) -> None:
    write(tmp_path, "scps/imdsv2-guardrails.json", _json(_guide_policy()))
    write(tmp_path, "vendor/scp.json", WEAK_SCP)
    result = scanned(tmp_path, Overrides(exclude=(compile_glob("vendor", str(tmp_path)),)))
    assert [p.path for p in result.policies] == ["scps/imdsv2-guardrails.json"]


def test_the_cli_writes_the_section_in_every_format(tmp_path: Path, cli, policy_rule) -> None:
    write(tmp_path, "org/baseline/main.tf", ORG_DEFAULTS)
    write(tmp_path, "scps/imdsv2.json", WEAK_SCP)
    run = cli("report", ".", cwd=tmp_path)
    assert run.code == 0, run.err
    text = section(run.out)
    assert text.index("| Account default |") < text.index("| Guardrail statement |")
    assert "1 guardrail policy found; weaker than intended" in text
    run = cli("report", "--format", "json", ".", cwd=tmp_path)
    data = json.loads(run.out)
    assert list(data)[-2:] == ["guardrails", "runtime_checks"]
    assert len(data["guardrails"]["account_defaults"]) == 3
    run = cli("report", "--format", "html", ".", cwd=tmp_path)
    assert '<section id="guardrails">' in run.out
    assert run.out.index('id="guardrails"') < run.out.index('id="runtime"')


def test_every_json_key_of_the_section_is_documented(tmp_path: Path, policy_rule) -> None:
    write(tmp_path, "org/baseline/main.tf", ORG_DEFAULTS)
    write(tmp_path, "scps/imdsv2.json", WEAK_SCP)
    data = readiness.document(readiness.build(scanned(tmp_path)))["guardrails"]
    policy = data["policies"][0]
    keys = [
        *data,
        *data["account_defaults"][0],
        *data["statements"][0],
        *policy,
        *policy["covers"][0],
        *policy["findings"][0],
    ]
    documented = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    for key in keys:
        assert f"`{key}`" in documented, key
    states = (REQUIRES, ALLOWS, UNKNOWN, COVERED, WEAK, UNCHECKED, MISSING, NOT_READ)
    for state in (*states, NARROWED, DENIES_NOTHING, MISSING_UNREAD, IAM_DENIES, IAM_GRANTS):
        assert f"`{state}`" in documented or f"**{state}**" in documented, state
    for scope in (readiness_guardrails.ORGANIZATION, readiness_guardrails.IAM):
        assert f"`{scope}`" in documented, scope


# --- with the rule that judges policies: the bundled guardrail fixtures ---------------------------


def test_the_report_follows_the_guardrail_rule_on_the_bundled_fixtures(cli) -> None:
    """fixtures/guardrails holds the `imds-iac scp` policy and one file per weakening, each with
    the findings it must get (``.expect``): a policy the rule finds weak is never "covered", one
    it passes is, and the totals never call a weakened statement covered through it."""
    run = cli("report", "--format", "json", "fixtures/guardrails", cwd=ROOT)
    assert run.code == 0, run.err
    policies = {
        p["path"]: p
        for p in json.loads(run.out)["guardrails"]["policies"]
        if p["path"].count("/") == 2  # the documents on their own (templates below hold several)
    }
    documents = sorted((ROOT / "fixtures" / "guardrails").glob("*.json"))
    assert sorted(policies) == [f"fixtures/guardrails/{d.name}" for d in documents]
    for document in documents:
        policy = policies[f"fixtures/guardrails/{document.name}"]
        expect = document.with_name(document.name + ".expect")
        weak = expect.exists() and " IMDS0" in expect.read_text(encoding="utf-8")
        states = {c["state"] for c in policy["covers"]}
        assert policy["covers"], document.name  # every one is written as a guardrail statement
        if weak:
            assert COVERED not in states and policy["findings"], document.name
        else:
            assert states == {COVERED} and policy["findings"] == [], document.name
    # The tokens key on ModifyInstanceMetadataOptions is an attempt at no-opt-out (a weak one).
    current = policies["fixtures/guardrails/deny-opt-out-current-setting.json"]["covers"]
    assert [(c["name"], c["state"]) for c in current] == [("no-opt-out", WEAK)]


def test_declarative_policies_in_templates_are_account_defaults(cli) -> None:
    """EC2 declarative policies written in CloudFormation (formats/declarative.py) are account
    defaults like aws_ec2_instance_metadata_defaults; the bundled ones do not require tokens."""
    run = cli("report", "--format", "json", "fixtures/guardrails/cloudformation", cwd=ROOT)
    data = json.loads(run.out)["guardrails"]
    rows = {(d["address"], d["state"]) for d in data["account_defaults"]}
    assert ("SandboxImdsDefaults", ALLOWS) in rows
    assert ("Ec2InstanceMetadataDefaults", ALLOWS) in rows
    assert data["summary"][0] == (
        f"{len(rows)} account-default settings found: {len(rows)} allow IMDSv1; none is known to "
        "require tokens."
    )


# --- what the reviews found: the section never claims protection that is not there ---------------

# An org repository's SCPs in Terraform, the tokens condition shared through a local written in
# locals.tf (review 2, f1o): the wrong operator sits outside both statements, in another file.
SHARED_LOCALS = """
locals {
  tokens_condition = {
    StringEquals = { "ec2:MetadataHttpTokens" = "required" }
  }
}
"""
SHARED_SCPS = """
resource "aws_organizations_policy" "workloads" {
  name = "imdsv2-workloads"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RequireImdsV2"
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = local.tokens_condition
    }]
  })
}

resource "aws_organizations_policy" "sandbox" {
  name = "imdsv2-sandbox"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "*"
      Condition = local.tokens_condition
    }]
  })
}
"""


def test_a_wrong_value_in_a_shared_local_weakens_every_policy_that_reads_it(
    tmp_path: Path,
) -> None:
    write(tmp_path, "org/scps/locals.tf", SHARED_LOCALS)
    write(tmp_path, "org/scps/main.tf", SHARED_SCPS)
    result = scanned(tmp_path)
    judged = [f for f in result.findings if f.resource.startswith("aws_organizations_policy.")]
    # the rule's findings point into locals.tf, outside either policy's statements
    assert judged and {f.path for f in judged} == {"org/scps/locals.tf"}
    model = readiness.build(result)
    g = model.guardrails
    assert [(p.address, [(c.name, c.state) for c in p.covers]) for p in g.policies] == [
        ("aws_organizations_policy.workloads", [("require-tokens", WEAK)]),
        ("aws_organizations_policy.sandbox", [("require-tokens", WEAK)]),
    ]
    assert all(p.findings for p in g.policies)
    assert g.statements[1] == StatementRow("require-tokens", WEAK)
    assert "covered" not in g.summary[1]

    text = section(markdown(model))
    assert "(covered" not in text and "no finding" not in text
    data = readiness.document(model)["guardrails"]
    assert [c["state"] for p in data["policies"] for c in p["covers"]] == [WEAK, WEAK]


# review 2, m1: the organisation policy's document merges a base that denies with an override
# that replaces the statement by an Allow (same sid).
OVERRIDDEN = """
data "aws_iam_policy_document" "base" {
  statement {
    sid       = "RequireImdsV2"
    effect    = "Deny"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:aws:ec2:*:*:instance/*"]
    condition {
      test     = "StringNotEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["required"]
    }
  }
}

data "aws_iam_policy_document" "override" {
  statement {
    sid       = "RequireImdsV2"
    effect    = "Allow"
    actions   = ["ec2:RunInstances"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "final" {
  source_policy_documents   = [data.aws_iam_policy_document.base.json]
  override_policy_documents = [data.aws_iam_policy_document.override.json]
}

resource "aws_organizations_policy" "imds" {
  name    = "imds"
  content = data.aws_iam_policy_document.final.json
}
"""


def test_an_iam_document_never_covers_an_organisation_statement(tmp_path: Path) -> None:
    write(tmp_path, "org/scps/main.tf", OVERRIDDEN)
    model = readiness.build(scanned(tmp_path))
    g = model.guardrails
    (scp,) = g.policies
    assert (scp.address, scp.scope, scp.covers) == (
        "aws_organizations_policy.imds",
        readiness_guardrails.ORGANIZATION,
        (),
    )
    assert scp.unread and "override_policy_documents" in " ".join(scp.unread)
    # the base document denies on its own, but no organisation policy uses it as written
    assert [(p.address, p.scope) for p in g.iam_policies] == [
        ("data.aws_iam_policy_document.base", readiness_guardrails.IAM)
    ]
    assert [(c.name, c.state) for c in g.iam_policies[0].covers] == [("require-tokens", IAM_DENIES)]
    assert {s.state for s in g.statements} == {MISSING_UNREAD}
    assert g.summary[1] == (
        "1 guardrail policy found; not found in the policies that could be read: role-delivery, "
        "require-tokens, no-modify, hop-limit; 1 could not be read."
    )
    assert g.summary[2].startswith("1 IAM policy names IMDS keys: each binds only the principals")
    text = section(markdown(model))
    assert "| IAM policy that names IMDS keys | Where |" in text
    assert "| `require-tokens` | not found in what could be read |" in text
    row = next(line for line in text.splitlines() if line.startswith("| aws\\_organizations"))
    assert "could not be read: the statements merged from source\\_policy\\_documents" in row
    findings_cell = row.rstrip(" |").rsplit("|", 1)[-1]
    assert "could not be" in findings_cell and "covered" not in row
    page = html_section(model)
    assert page.tables == ["guardrail-statements", "guardrail-policies", "iam-policies"]
    data = readiness.document(model)["guardrails"]
    assert [p["address"] for p in data["iam_policies"]] == ["data.aws_iam_policy_document.base"]
    assert data["policies"][0]["unread"] == list(scp.unread)


# review 2, t4 and hc: statements made by a dynamic block, a Condition interpolated into a heredoc.
DYNAMIC = """
variable "statements" {
  default = [{
    sid     = "RequireImdsV2"
    effect  = "Allow"
    actions = ["ec2:RunInstances"]
    test    = "StringEquals"
    key     = "ec2:MetadataHttpTokens"
    values  = ["required"]
  }]
}

data "aws_iam_policy_document" "imds" {
  dynamic "statement" {
    for_each = var.statements
    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = ["arn:aws:ec2:*:*:instance/*"]
      condition {
        test     = statement.value.test
        variable = statement.value.key
        values   = statement.value.values
      }
    }
  }
}

resource "aws_organizations_policy" "imds" {
  name    = "imds"
  content = data.aws_iam_policy_document.imds.json
}
"""
HEREDOC = """
locals {
  tokens_condition = {
    StringEquals = { "ec2:MetadataHttpTokens" = "optional" }
  }
}

resource "aws_organizations_policy" "imds" {
  name    = "imds"
  content = <<EOT
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Deny",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": ${jsonencode(local.tokens_condition)}
    }
  ]
}
EOT
}
"""


@pytest.mark.parametrize(
    ("source", "why"),
    [(DYNAMIC, "dynamic"), (HEREDOC, "Condition")],
    ids=["dynamic-statement", "interpolated-condition"],
)
def test_a_policy_that_could_not_be_read_is_listed_so(
    tmp_path: Path, source: str, why: str
) -> None:
    write(tmp_path, "org/scps/main.tf", source)
    model = readiness.build(scanned(tmp_path))
    (scp,) = model.guardrails.policies
    assert scp.unread and why in scp.unread[0]
    text = section(markdown(model))
    row = next(line for line in text.splitlines() if line.startswith("| aws\\_organizations"))
    assert "could not be read: " in row
    assert "none of the guardrail statements" not in row and "no finding" not in row
    assert "(covered" not in text
    page = "".join(html_section(model).text)
    assert "could not be read: " in page and "none of the guardrail statements" not in page
    assert readiness.document(model)["guardrails"]["policies"][0]["unread"] == list(scp.unread)


def test_a_condition_written_as_a_list_could_not_be_read(tmp_path: Path) -> None:
    # review 1, R1-10: IAM rejects it; nothing may call it covered, nor "no finding"
    write(
        tmp_path,
        "scps/imdsv2.json",
        _json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "RequireImdsV2",
                        "Effect": "Deny",
                        "Action": "ec2:RunInstances",
                        "Resource": "arn:aws:ec2:*:*:instance/*",
                        "Condition": [{"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}],
                    }
                ],
            }
        ),
    )
    g = readiness.build(scanned(tmp_path)).guardrails
    assert g.policies[0].unread == ("the Condition is not a mapping",)
    assert COVERED not in {s.state for s in g.statements}


# review 1, rep4: each statement names the right key and operator, and narrows it to almost nothing.
def _deny(sid: str, action: str, resource: str, condition: dict[str, object]) -> str:
    statement = {
        "Sid": sid,
        "Effect": "Deny",
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }
    return _json({"Version": "2012-10-17", "Statement": [statement]})


NARROW = {
    "region.json": _deny(
        "RequireImdsV2",
        "ec2:RunInstances",
        guardrails.INSTANCES,
        {
            "StringNotEquals": {"ec2:MetadataHttpTokens": "required"},
            "StringEquals": {"aws:RequestedRegion": "eu-west-1"},
        },
    ),
    "exempt_all.json": _deny(
        "Hop",
        "ec2:RunInstances",
        guardrails.INSTANCES,
        {
            "NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": "1"},
            "ArnNotLike": {"aws:PrincipalArn": "*"},
        },
    ),
    "exempt_role.json": _deny(
        "Role",
        "*",
        "*",
        {
            "NumericLessThan": {"ec2:RoleDelivery": "2.0"},
            "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/legacy-*"},
        },
    ),
    "modify_tagged.json": _deny(
        "M",
        "ec2:ModifyInstanceMetadataOptions",
        "*",
        {"StringEquals": {"aws:ResourceTag/Env": "prod"}},
    ),
}


def test_narrowed_statements_are_never_plainly_covered(tmp_path: Path) -> None:
    for name, text in NARROW.items():
        write(tmp_path, f"scps/{name}", text)
    model = readiness.build(scanned(tmp_path))
    g = model.guardrails
    covers = {p.address: [(c.name, c.state, c.narrowed_by) for c in p.covers] for p in g.policies}
    assert covers == {
        "scps/exempt_all.json": [("hop-limit", DENIES_NOTHING, ())],
        "scps/exempt_role.json": [("role-delivery", NARROWED, ("aws:PrincipalArn",))],
        "scps/modify_tagged.json": [("no-modify", NARROWED, ("aws:ResourceTag/Env",))],
        "scps/region.json": [("require-tokens", NARROWED, ("aws:RequestedRegion",))],
    }
    assert g.statements == (
        StatementRow("role-delivery", NARROWED, "", ("aws:PrincipalArn",)),
        StatementRow("require-tokens", NARROWED, "", ("aws:RequestedRegion",)),
        StatementRow("no-modify", NARROWED, "", ("aws:ResourceTag/Env",)),
        StatementRow("hop-limit", DENIES_NOTHING),
    )
    assert "covered:" not in g.summary[1]
    text = section(markdown(model))
    assert "| `require-tokens` | covered, narrowed by aws:RequestedRegion |" in text
    assert "| `hop-limit` | denies nothing |" in text
    assert "(covered)" not in text
    page = "".join(html_section(model).text)
    assert "covered, narrowed by aws:ResourceTag/Env" in page
    data = readiness.document(model)["guardrails"]
    assert data["statements"][1] == {
        "name": "require-tokens",
        "state": NARROWED,
        "narrowed_by": ["aws:RequestedRegion"],
        "as": None,
    }


@pytest.mark.parametrize("everyone", ["*", "arn:aws:iam::*:*", "arn:aws:iam::*:*/*"])
def test_an_exemption_of_every_principal_denies_nothing(everyone: str) -> None:
    # "arn:aws:iam::*:*/*" leaves out the root user: it exempts almost everyone, not everyone
    text = _deny(
        "RequireImdsV2",
        "ec2:RunInstances",
        guardrails.INSTANCES,
        {
            "StringNotEquals": {"ec2:MetadataHttpTokens": "required"},
            "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/BreakGlass", everyone]},
        },
    )
    from imds_iac_checks.formats import policy

    (read,), _, _ = policy.read_data("scp.json", text.encode())
    (statement,) = read.statements
    nothing = readiness_guardrails.denies_nothing(statement)
    if everyone.endswith("/*"):
        assert nothing == ""
        assert readiness_guardrails.narrowed_by(statement) == ("aws:PrincipalArn",)
    else:
        assert nothing == f'aws:PrincipalArn "{everyone}"'


def test_an_iam_grant_restricted_to_imdsv2_is_listed_apart(tmp_path: Path) -> None:
    # review 1, R1-6: the least-privilege grant of an IAM managed policy is no organisation
    # guardrail, whatever a rule says of it
    write(
        tmp_path,
        "ci/template.yaml",
        """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  CiLaunchPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: LaunchOnlyWithImdsV2
            Effect: Allow
            Action: ec2:RunInstances
            Resource: "*"
            Condition:
              StringEquals:
                ec2:MetadataHttpTokens: required
""",
    )
    model = readiness.build(scanned(tmp_path))
    g = model.guardrails
    assert g.policies == ()
    (grant,) = g.iam_policies
    assert (grant.address, grant.what, grant.scope) == (
        "CiLaunchPolicy",
        "IAM managed policy",
        readiness_guardrails.IAM,
    )
    assert {s.state for s in g.statements} == {MISSING}
    assert g.summary[1] == readiness_guardrails.NO_POLICIES
    assert "1 IAM policy names IMDS keys" in g.summary[2]
    assert "| IAM policy that names IMDS keys |" in section(markdown(model))


def test_a_resource_control_policy_does_not_reach_ec2(tmp_path: Path) -> None:
    write(
        tmp_path,
        "org/rcps/main.tf",
        """
resource "aws_organizations_policy" "imds" {
  name = "imds-rcp"
  type = "RESOURCE_CONTROL_POLICY"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "RequireAllEc2RolesToUseV2"
        Effect   = "Deny"
        Action   = "*"
        Resource = "*"
        Condition = {
          NumericLessThan = { "ec2:RoleDelivery" = "2.0" }
        }
      },
      {
        Sid      = "RequireImdsV2"
        Effect   = "Deny"
        Action   = "ec2:RunInstances"
        Resource = "arn:aws:ec2:*:*:instance/*"
        Condition = {
          StringNotEquals = { "ec2:MetadataHttpTokens" = "required" }
        }
      }
    ]
  })
}
""",
    )
    (rcp,) = readiness.build(scanned(tmp_path)).guardrails.policies
    assert [(c.name, c.state, c.narrowed_by) for c in rcp.covers] == [
        ("role-delivery", NARROWED, (readiness_guardrails.RCP_SERVICES,)),
        ("require-tokens", DENIES_NOTHING, ()),
    ]


def test_defaults_that_could_not_be_read_are_unknown_and_never_require_tokens(
    tmp_path: Path,
) -> None:
    # an EC2 declarative policy whose defaults are chosen by a condition (a parameter)
    write(
        tmp_path,
        "org/declarative.yaml",
        """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Enforce:
    Type: String
    AllowedValues: ["true", "false"]
Conditions:
  EnforceTokens: !Equals [!Ref Enforce, "true"]
Resources:
  ImdsDefaults:
    Type: AWS::Organizations::Policy
    Properties:
      Name: imds-defaults
      Type: DECLARATIVE_POLICY_EC2
      TargetIds: ["ou-abcd-12345678"]
      Content:
        ec2_attributes:
          instance_metadata_defaults: !If
            - EnforceTokens
            - http_tokens:
                "@@assign": required
            - http_tokens:
                "@@assign": optional
""",
    )
    model = readiness.build(scanned(tmp_path))
    (row,) = model.guardrails.defaults
    assert (row.address, row.state) == ("ImdsDefaults", UNKNOWN)
    assert row.detail.startswith("the defaults could not be read: !If")
    summary = model.guardrails.summary[0]
    assert summary == (
        "1 account-default setting found: 1 unknown; none is known to require tokens."
    )
    assert "requires tokens" not in summary


# --- review 2: the report never ends with an internal error --------------------------------------

# Trees the reviewers wrote (tests/data/guardrail-trees): module calls that override or keep a
# module's default content, nested modules, for_each, .tf.json, Resources the readers could not
# read or read with placeholders.
TREES = ROOT / "tests" / "data" / "guardrail-trees"


@pytest.mark.parametrize(
    ("tree", "address", "resource"),
    [
        ("resource-from-variable", "aws_organizations_policy.p", "var.arn"),
        # {"Fn::ImportValue": ...} in a document of its own
        ("resource-import-value", "scp.json", "a mapping"),
        # a placeholder in the ARN's resource part
        (
            "resource-placeholders",
            "aws_organizations_policy.rtype",
            '"arn:aws:iam::*:${var.rtype}"',
        ),
        # a placeholder in part of the Region field: the readers cannot make it "*"
        (
            "resource-placeholders",
            "aws_organizations_policy.partial",
            '"arn:aws:ec2:eu-${var.region}',
        ),
    ],
)
def test_a_not_judged_resource_alone_is_listed_as_could_not_be_read(
    tmp_path: Path, cli, tree: str, address: str, resource: str
) -> None:
    """Review 2, item 1: the rule's "could not be judged" on a Resource, with nothing else of
    the policy unread, crashed the report (NameError); it is what could not be read (and so is
    a Resource the readers could not read that no rule said anything of: item 6c)."""
    shutil.copytree(TREES / tree, tmp_path / tree)
    model = readiness.build(scanned(tmp_path / tree))
    (row,) = [p for p in model.guardrails.policies if p.address == address]
    assert len(row.unread) == 1 and f"its Resource {resource}" in row.unread[0]
    assert {c.state for c in row.covers} == {NOT_READ}
    for fmt in ("markdown", "json", "html"):
        run = cli("report", "--format", fmt, ".", cwd=tmp_path / tree)
        assert "internal error" not in run.err and run.code in (0, 1), (fmt, run.err)
    assert "could not be read: its Resource" in section(markdown(model))


def _policy_trees() -> list[Path]:
    """Every directory of policies the readers are tested on: the bundled guardrail fixtures,
    the rule's cases, the reviewers' trees."""
    out = [ROOT / "fixtures" / "guardrails", ROOT / "tests" / "rules" / "IMDS010"]
    return out + sorted(p for p in TREES.iterdir() if p.is_dir())


@pytest.mark.parametrize("tree", _policy_trees(), ids=lambda p: p.name)
def test_the_report_ends_without_an_internal_error_on_every_policy_tree(
    tmp_path: Path, cli, tree: Path
) -> None:
    """Whatever policy the readers produce (unread parts, modules, .tf.json, placeholders),
    every format of the report is written: never "internal error"."""
    shutil.copytree(tree, tmp_path / tree.name)
    for fmt in ("markdown", "json", "html"):
        run = cli("report", "--format", fmt, ".", cwd=tmp_path / tree.name)
        assert "internal error" not in run.err, (tree.name, fmt, run.err)
        assert run.code in (0, 1) and run.out, (tree.name, fmt, run.err)
    data = json.loads(cli("report", "--format", "json", ".", cwd=tmp_path / tree.name).out)
    assert data["guardrails"]["summary"][-1] in (readiness_guardrails.CAVEAT, NOTHING)


# --- review 2: module defaults a call overrides, Resources narrowed to a Region or account -------


def _tree(tmp_path: Path, name: str) -> readiness.Readiness:
    shutil.copytree(TREES / name, tmp_path / name)
    return readiness.build(scanned(tmp_path / name))


def _covers(model: readiness.Readiness) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    return {
        p.address: [(c.name, c.state, c.narrowed_by) for c in p.covers]
        for p in model.guardrails.policies
    }


def test_a_module_default_that_a_call_overrides_covers_nothing(tmp_path: Path) -> None:
    """Review 2, item 2: modules/scp writes a strong default ``content``; the only call gives
    weak content of its own. What is deployed is the call's policy: the default, read in the
    module's directory, is "module default, overridden by module.scp", never covered."""
    model = _tree(tmp_path, "module-default-overridden-weak")
    assert _covers(model) == {
        "aws_organizations_policy.this": [("require-tokens", DEFAULT_OVERRIDDEN, ("module.scp",))],
        "module.scp.aws_organizations_policy.this": [("require-tokens", WEAK, ())],
    }
    g = model.guardrails
    assert g.policies[0].overridden_by == ("module.scp",)
    assert g.statements[1] == StatementRow("require-tokens", WEAK)
    assert "covered" not in g.summary[1]
    text = section(markdown(model))
    assert "`require-tokens` (module default, overridden by module.scp)" in text
    assert "| `require-tokens` | weaker than intended |" in text
    data = readiness.document(model)["guardrails"]
    assert data["policies"][0]["overridden_by"] == ["module.scp"]
    assert data["policies"][0]["covers"][0]["state"] == DEFAULT_OVERRIDDEN
    assert "module default, overridden by module.scp" in "".join(html_section(model).text)
    # the module's directory alone: no call is read, nothing overrides the default
    alone = readiness.build(scanned(tmp_path / "module-default-overridden-weak" / "modules"))
    assert alone.guardrails.statements[1].state == COVERED


def test_a_module_default_is_overridden_by_each_call_that_gives_content(tmp_path: Path) -> None:
    # module.scp_good keeps the default, module.scp_bad and module.scp_hop give their own
    model = _tree(tmp_path, "module-default-and-overrides")
    (default,) = [
        p for p in model.guardrails.policies if p.address == "aws_organizations_policy.this"
    ]
    assert default.overridden_by == ("module.scp_bad", "module.scp_hop")
    assert [c.state for c in default.covers] == [DEFAULT_OVERRIDDEN]
    # what the calls deploy decides: module.scp_bad is weak (a default stands for a statement
    # only when nothing else does)
    assert model.guardrails.statements[1] == StatementRow("require-tokens", WEAK)
    assert (
        "weaker than intended or not read: require-tokens, hop-limit"
        in (model.guardrails.summary[1])
    )


def test_a_weak_module_default_a_call_overrides_stays_weak(tmp_path: Path) -> None:
    # the default is weak and the call's content is right: the call's policy covers it
    model = _tree(tmp_path, "module-weak-default-overridden")
    assert _covers(model) == {
        "aws_organizations_policy.this": [("require-tokens", WEAK, ())],
        "module.scp_a.aws_organizations_policy.this": [("require-tokens", COVERED, ())],
    }


def test_a_value_the_reader_says_a_call_overrides_makes_the_default_overridden(
    tmp_path: Path,
) -> None:
    """A module input used inside the policy (``values = [var.hop_limit]``, the call gives
    ``hop_limit = 5``): a reader that says so in ``Written.shared`` ("var.hop_limit, overridden
    by module.scp") makes the module's own policy a default, never covered."""
    shutil.copytree(TREES / "module-input-in-policy", tmp_path / "k")
    result = scanned(tmp_path / "k")
    # the module's own policy (read with the default) and the call's (read with hop_limit = 5)
    own, call = sorted(result.policies, key=lambda p: p.address.startswith("module."))
    assert call.address == "module.scp.aws_organizations_policy.this"
    (statement,) = own.statements
    (condition,) = statement.conditions
    (value,) = condition.values
    assert value.shared.startswith("default of var.hop_limit, overridden by module.scp")
    assert readiness_guardrails.overridden((own,)) == {0: ("module.scp",)}
    row = readiness_guardrails._policy_row(own, [], True, ("module.scp",))
    assert [(c.state, c.narrowed_by) for c in row.covers] == [(DEFAULT_OVERRIDDEN, ("module.scp",))]


def test_a_resource_narrowed_to_a_region_or_account_is_never_plainly_covered(
    tmp_path: Path,
) -> None:
    """Review 2, item 6: ``arn:aws:ec2:eu-west-1:123456789012:instance/*`` denies in one
    Region of one account; placeholders the readers read as ``*`` (``${var.region}``) still
    name one Region where the policy is deployed."""
    model = _tree(tmp_path, "resource-placeholders")
    covers = _covers(model)
    assert covers["aws_organizations_policy.acct"] == [
        (
            "require-tokens",
            NARROWED,
            ("Resource (region ${var.region}, account ${var.account_id})",),
        )
    ]
    assert covers["aws_organizations_policy.literal"] == [
        ("no-modify", NARROWED, ("Resource (region eu-west-1, account 123456789012)",))
    ]
    text = section(markdown(model))
    assert "covered, narrowed by Resource (region eu-west-1, account 123456789012)" in text
    assert "(covered)" not in text


@pytest.mark.parametrize(
    ("resources", "narrowing"),
    [
        (["arn:aws:ec2:*:*:instance/*"], ()),
        (["arn:aws:ec2:eu-west-1:*:instance/*"], ("Resource (region eu-west-1)",)),
        (["arn:aws:ec2:*:123456789012:instance/*"], ("Resource (account 123456789012)",)),
        # one ARN that reaches every Region: the statement does
        (["arn:aws:ec2:eu-west-1:*:instance/*", "arn:aws:ec2:*:*:instance/*"], ()),
        (
            ["arn:aws:ec2:eu-west-1:*:instance/*", "arn:aws:ec2:eu-central-1:*:instance/*"],
            ("Resource (region eu-west-1, region eu-central-1)",),
        ),
    ],
)
def test_resources_in_a_document(
    tmp_path: Path, resources: object, narrowing: tuple[str, ...]
) -> None:
    document = json.loads(
        _deny(
            "RequireImdsV2",
            "ec2:RunInstances",
            "*",
            {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
        )
    )
    document["Statement"][0]["Resource"] = resources
    write(tmp_path, "scps/imdsv2.json", _json(document))
    (cover,) = readiness.build(scanned(tmp_path)).guardrails.policies[0].covers
    assert (cover.state, cover.narrowed_by) == (
        (NARROWED, narrowing) if narrowing else (COVERED, ())
    )


def test_the_what_column_says_the_policy_type_once(tmp_path: Path) -> None:
    # review 2, item 11: "service control policy (made by ...) (SERVICE_CONTROL_POLICY)"
    model = _tree(tmp_path, "module-default-overridden-weak")
    text = section(markdown(model))
    assert "| service control policy (made by module.scp, ../modules/scp) |" in text
    assert "SERVICE\\_CONTROL\\_POLICY" not in text and "SERVICE_CONTROL_POLICY" not in text


# A StackSet deploys this template in each account and Region: ${AWS::Region} names one.
STACKSET_SCP = """
AWSTemplateFormatVersion: "2010-09-09"
Description: IMDSv2 guardrail, deployed by a StackSet
Resources:
  ImdsGuardrail:
    Type: AWS::Organizations::Policy
    Properties:
      Name: require-imdsv2
      Type: SERVICE_CONTROL_POLICY
      Content:
        Version: "2012-10-17"
        Statement:
          - Sid: RequireImdsV2
            Effect: Deny
            Action: ec2:RunInstances
            Resource: !Sub arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*
            Condition:
              StringNotEquals:
                ec2:MetadataHttpTokens: required
"""


def test_pseudo_parameters_in_a_resource_narrow_it(tmp_path: Path) -> None:
    # ${AWS::Partition} is where it runs; ${AWS::Region} and ${AWS::AccountId} narrow it
    write(tmp_path, "stacksets/imds-guardrail.yaml", STACKSET_SCP)
    (cover,) = readiness.build(scanned(tmp_path)).guardrails.policies[0].covers
    assert (cover.state, cover.narrowed_by) == (
        NARROWED,
        ("Resource (region ${AWS::Region}, account ${AWS::AccountId})",),
    )
