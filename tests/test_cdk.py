"""AWS CDK source (issue 17, point 4): ``ec2.Instance``, ``ec2.LaunchTemplate`` and
``autoscaling.AutoScalingGroup`` constructs in TypeScript, JavaScript and Python apps, under any
import alias; the RequireImdsv2 aspects and the scopes they cover (a stack class, the app found
through cdk.json); literal values only (anything computed is IMDS004); fixes that add
``requireImdsv2: true`` / ``require_imdsv2=True`` like the neighbouring properties; suppression
comments; and the synthesized ``cdk.out`` template read as CloudFormation. The fixtures
``fixtures/cdk/`` carry their expected findings (tests/expect.py)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from imds_iac_checks.fix import code
from imds_iac_checks.formats import cdk
from tests.conftest import FIXTURES, ROOT, findings, write
from tests.test_fixtures import expected_findings

HEADER = """\
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
"""


def _stack(body: str, imports: str = HEADER, name: str = "AppStack") -> str:
    lines = "\n".join("    " + line if line else "" for line in body.strip("\n").splitlines())
    return (
        f"{imports}\nexport class {name} extends cdk.Stack {{\n"
        "  constructor(scope: Construct, id: string, props?: cdk.StackProps) {\n"
        "    super(scope, id, props);\n\n"
        f"{lines}\n  }}\n}}\n"
    )


def _check(cli, root: Path, *paths: str) -> list[tuple[str, str, int]]:
    run = cli("check", "--format", "json", *(paths or (".",)), cwd=root)
    assert run.json()["errors"] == [], run.out
    return findings(run)


# --- the fixtures ---------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["typescript", "python"])
def test_fixture_apps_get_exactly_their_expected_findings(cli, folder: str) -> None:
    run = cli("check", "--format", "json", f"fixtures/cdk/{folder}", cwd=ROOT)
    doc = run.json()
    assert doc["errors"] == []
    actual = Counter((f["path"], f["line"], f["rule_id"]) for f in doc["findings"])
    expected, _ = expected_findings(FIXTURES / "cdk" / folder)
    assert actual == expected
    source = [f for f in doc["findings"] if "cdk.out" not in f["path"]]
    assert {f["kind"] for f in source} <= cdk.KINDS
    assert all(f["path"].endswith((".ts", ".py")) for f in source)


def test_the_typescript_fixture_names_constructs_by_stack_and_id(cli) -> None:
    doc = cli("check", "--format", "json", "fixtures/cdk/typescript/lib", cwd=ROOT).json()
    by_resource = {(f["rule_id"], f["resource"]) for f in doc["findings"]}
    assert by_resource == {
        ("IMDS002", "WebTierStack/Bastion"),
        ("IMDS002", "WebTierStack/WebTemplate"),
        ("IMDS003", "WebTierStack/WebTemplate"),
        ("IMDS004", "WebTierStack/ToolsTemplate"),
        ("IMDS002", "BatchStack/Workers"),
    }
    bastion = next(f for f in doc["findings"] if f["resource"] == "WebTierStack/Bastion")
    # the finding points at the construct's `new ec2.Instance` (where the props are added)
    assert (bastion["line"], bastion["column"]) == (24, 5)
    assert "CDK writes no metadata options for an Instance" in bastion["message"]
    web = next(f for f in doc["findings"] if f["resource"] == "WebTierStack/WebTemplate")
    assert "(launch template of WebTierStack/WebFleet)" in web["message"]


def test_the_synthesized_template_is_read_as_cloudformation(cli) -> None:
    """cdk.out/<Stack>.template.json is what deploys: the Instance the source leaves without
    requireImdsv2 has no MetadataOptions (IMDS001), the one with requireImdsv2 launches from the
    template the aspect made (linked by LaunchTemplateName: no finding), and the LaunchTemplate
    whose requireImdsv2 the source could not evaluate turns out to have no options."""
    doc = cli("check", "--format", "json", "fixtures/cdk/typescript/cdk.out", cwd=ROOT).json()
    got = {(f["rule_id"], f["resource"], f["kind"]) for f in doc["findings"]}
    assert got == {
        ("IMDS001", "Bastion3A2B8C1F", "AWS::EC2::Instance"),
        ("IMDS002", "WebTemplate3F9D5B2E", "AWS::EC2::LaunchTemplate"),
        ("IMDS003", "WebTemplate3F9D5B2E", "AWS::EC2::LaunchTemplate"),
        ("IMDS001", "ToolsTemplate8B4C2D17", "AWS::EC2::LaunchTemplate"),
    }
    assert doc["summary"]["targets"] == 6  # 2 instances, 3 templates, the Auto Scaling group
    # fixed in the source, never in the synthesized template (the next synth overwrites it)
    assert not any(f["fixable"] for f in doc["findings"])
    assert all(
        f["message"].endswith("synthesize again") or "synthesize again (" in f["message"]
        for f in doc["findings"]
    )


# --- imports and aliases ----------------------------------------------------------------------

ALIASES = {
    "namespace": (HEADER, "new ec2.Instance"),
    "named": (
        "import { Instance as Ec2Instance } from 'aws-cdk-lib/aws-ec2';\n",
        "new Ec2Instance",
    ),
    "root": ("import * as cdk from 'aws-cdk-lib';\n", "new cdk.aws_ec2.Instance"),
    "submodule": ("import { aws_ec2 as ec2 } from 'aws-cdk-lib';\n", "new ec2.Instance"),
    "v1": ("import * as ec2 from '@aws-cdk/aws-ec2';\n", "new ec2.Instance"),
    "commonjs": ("const ec2 = require('aws-cdk-lib/aws-ec2');\n", "new ec2.Instance"),
    "destructured": ("const { Instance } = require('aws-cdk-lib/aws-ec2');\n", "new Instance"),
    # the style of aws-cdk-examples (typescript/classic-load-balancer/index.ts)
    "import-require": ("import ec2 = require('aws-cdk-lib/aws-ec2');\n", "new ec2.Instance"),
    "const-alias": (
        "import * as cdk from 'aws-cdk-lib';\nconst ec2 = cdk.aws_ec2;\n",
        "new ec2.Instance",
    ),
    "destructured-alias": (
        "import * as cdk from 'aws-cdk-lib';\nconst { aws_ec2: compute } = cdk;\n",
        "new compute.Instance",
    ),
}


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_typescript_and_javascript_imports_under_any_alias(cli, tmp_path: Path, alias: str) -> None:
    imports, new = ALIASES[alias]
    name = "stack.js" if alias in ("commonjs", "destructured") else "stack.ts"
    write(tmp_path, name, f"{imports}\n{new}(stack, 'Web', {{\n  vpc,\n}});\n")
    assert _check(cli, tmp_path) == [("IMDS002", "Web", imports.count("\n") + 2)]


PY_ALIASES = {
    "from-import-as": ("from aws_cdk import aws_ec2 as ec2\n", "ec2.Instance"),
    "import-as": ("import aws_cdk.aws_ec2 as ec2\n", "ec2.Instance"),
    "dotted": ("import aws_cdk.aws_ec2\n", "aws_cdk.aws_ec2.Instance"),
    "root": ("import aws_cdk as cdk\n", "cdk.aws_ec2.Instance"),
    "class": ("from aws_cdk.aws_ec2 import Instance as Ec2Instance\n", "Ec2Instance"),
    "star": ("from aws_cdk.aws_ec2 import *\n", "Instance"),
}


@pytest.mark.parametrize("alias", sorted(PY_ALIASES))
def test_python_imports_under_any_alias(cli, tmp_path: Path, alias: str) -> None:
    imports, call = PY_ALIASES[alias]
    write(tmp_path, "stack.py", f'{imports}\n{call}(stack, "Web", vpc=vpc)\n')
    assert _check(cli, tmp_path) == [("IMDS002", "Web", 3)]


def test_the_import_require_style_of_aws_cdk_examples(cli, tmp_path: Path) -> None:
    """``import x = require('...')`` (aws-cdk-examples typescript/classic-load-balancer), an
    alias inside a constructor, and a destructured module of the root."""
    write(
        tmp_path,
        "index.ts",
        """\
        import autoscaling = require('aws-cdk-lib/aws-autoscaling');
        import ec2 = require('aws-cdk-lib/aws-ec2');
        import cdk = require('aws-cdk-lib');

        class LoadBalancerStack extends cdk.Stack {
          constructor(app: cdk.App, id: string) {
            super(app, id);
            const { aws_autoscaling: asg } = cdk;
            const compute = cdk.aws_ec2;
            const vpc = new ec2.Vpc(this, 'VPC');
            new autoscaling.AutoScalingGroup(this, 'ASG', { vpc,
              instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
              machineImage: ec2.MachineImage.latestAmazonLinux2023() });
            new asg.AutoScalingGroup(this, 'Other', { vpc, requireImdsv2: true });
            new compute.Instance(this, 'Bastion', { vpc });
          }
        }
        """,
    )
    assert _check(cli, tmp_path) == [
        ("IMDS002", "LoadBalancerStack/ASG", 11),
        ("IMDS002", "LoadBalancerStack/Bastion", 15),
    ]


def test_a_star_import_brings_only_the_classes_read(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.py",
        """\
        from aws_cdk import Stack
        from aws_cdk.aws_ec2 import *


        class StarStack(Stack):
            def __init__(self, scope, construct_id, **kwargs):
                super().__init__(scope, construct_id, **kwargs)
                vpc = Vpc(self, "Vpc")
                Instance(self, "Star", vpc=vpc, instance_type=InstanceType("t3.micro"))
                LaunchTemplate(self, "T", http_tokens=LaunchTemplateHttpTokens.REQUIRED)
        """,
    )
    assert _check(cli, tmp_path) == [("IMDS002", "StarStack/Star", 9)]


def test_a_class_of_the_same_name_not_from_cdk_is_not_read(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.ts",
        "import * as cdk from 'aws-cdk-lib';\n"
        "import { Instance } from './my-constructs';\n\n"
        "new Instance(stack, 'Web', { vpc });\n",
    )
    write(tmp_path, "plain.py", "from mylib import ec2\n\nec2.Instance(stack, 'Web')\n")
    assert _check(cli, tmp_path) == []
    assert not cdk.worth(b"import requests\nrequests.get('https://example.com')\n")
    assert cdk.worth(b"from aws_cdk import aws_ec2 as ec2\n")


# --- values -------------------------------------------------------------------------------------


def test_literal_values_pass_and_fail(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "lib/stack.ts",
        _stack("""
new ec2.Instance(this, 'Required', { vpc, requireImdsv2: true });
new ec2.Instance(this, 'Off', { vpc, requireImdsv2: false });
new ec2.LaunchTemplate(this, 'Tokens', { httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED });
new ec2.LaunchTemplate(this, 'Both', {
  requireImdsv2: false,
  httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
});
new ec2.LaunchTemplate(this, 'NoEndpoint', { httpEndpoint: false });
new ec2.LaunchTemplate(this, 'Bare');
"""),
    )
    assert _check(cli, tmp_path) == [
        ("IMDS002", "AppStack/Off", 10),
        ("IMDS002", "AppStack/Bare", 17),
    ]


def test_require_with_optional_tokens_is_a_finding_fixed_to_required(cli, tmp_path: Path) -> None:
    """``requireImdsv2: true`` with ``httpTokens: OPTIONAL`` fails ``cdk synth``: IMDS002 at
    httpTokens saying so (not a scan error of the whole file), fixed to REQUIRED."""
    text = _stack("""
new ec2.LaunchTemplate(this, 'Template', {
  requireImdsv2: true,
  httpTokens: ec2.LaunchTemplateHttpTokens.OPTIONAL,
});
new ec2.Instance(this, 'Web', { vpc });
""")
    write(tmp_path, "stack.ts", text)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    doc = run.json()
    assert doc["errors"] == [] and run.code == 1
    template, web = doc["findings"]
    assert (template["rule_id"], template["line"], template["column"]) == ("IMDS002", 11, 19)
    assert "cdk synth fails: requireImdsv2 with OPTIONAL" in template["message"]
    assert template["fix"] == "safe" and web["resource"] == "AppStack/Web"
    assert cli("fix", ".", cwd=tmp_path).code == 0
    fixed = (tmp_path / "stack.ts").read_text()
    assert "httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED," in fixed
    assert _check(cli, tmp_path) == []


def test_computed_values_are_not_evaluated(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.ts",
        _stack("""
const strict = true;
new ec2.Instance(this, 'Variable', { vpc, requireImdsv2: strict });
new ec2.Instance(this, 'Shorthand', { vpc, requireImdsv2 });
new ec2.Instance(this, 'Props', instanceProps);
new ec2.Instance(this, 'SpreadAfter', { requireImdsv2: true, ...overrides });
new ec2.Instance(this, 'SpreadBefore', { ...defaults, requireImdsv2: true });
new ec2.LaunchTemplate(this, 'Hop', { requireImdsv2: true, httpPutResponseHopLimit: hops });
"""),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = [
        (f["rule_id"], f["resource"], f["message"].split("] ", 1)[1])
        for f in run.json()["findings"]
    ]
    assert got == [
        ("IMDS004", "AppStack/Variable", "requireImdsv2 could not be evaluated statically: strict"),
        (
            "IMDS004",
            "AppStack/Shorthand",
            "requireImdsv2 could not be evaluated statically: requireImdsv2",
        ),
        (
            "IMDS004",
            "AppStack/Props",
            "requireImdsv2 could not be evaluated statically: instanceProps (the props are not "
            "written in the call: requireImdsv2 may be set there)",
        ),
        (
            "IMDS004",
            "AppStack/SpreadAfter",
            "requireImdsv2 could not be evaluated statically: ...overrides (may set requireImdsv2)",
        ),
        (
            "IMDS004",
            "AppStack/Hop",
            "httpPutResponseHopLimit could not be evaluated statically: hops",
        ),
    ]


def test_props_written_with_a_cast_are_read(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "lib/stack.ts",
        _stack("""
new ec2.Instance(this, 'As', { vpc, requireImdsv2: true } as ec2.InstanceProps);
new ec2.Instance(this, 'Satisfies', { vpc, requireImdsv2: true } satisfies ec2.InstanceProps);
new ec2.Instance(this, 'Assertion', <ec2.InstanceProps>{ vpc, requireImdsv2: true });
new ec2.Instance(this, 'Parens', ({ vpc, requireImdsv2: true }));
new ec2.Instance(this, 'Off', ({ vpc }) as ec2.InstanceProps);
"""),
    )
    assert _check(cli, tmp_path) == [("IMDS002", "AppStack/Off", 13)]


def test_a_python_construct_id_given_by_keyword(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.py",
        """\
        from aws_cdk import Stack, aws_ec2 as ec2


        class S(Stack):
            def __init__(self, scope, construct_id, **kwargs):
                super().__init__(scope, construct_id, **kwargs)
                ec2.Instance(self, id="J", vpc=vpc)
                ec2.Instance(scope=self, id="K", vpc=vpc)
                ec2.Instance(self, "L", vpc=vpc)
        """,
    )
    assert _check(cli, tmp_path) == [
        ("IMDS002", "S/J", 7),
        ("IMDS002", "S/K", 8),
        ("IMDS002", "S/L", 9),
    ]


def test_python_kwargs_may_set_the_property(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.py",
        """\
        from aws_cdk import aws_ec2 as ec2

        ec2.Instance(stack, "Splat", vpc=vpc, **extra)
        ec2.Instance(stack, "Written", **extra, require_imdsv2=True)
        ec2.Instance(stack, "Computed", vpc=vpc, require_imdsv2=config.strict)
        """,
    )
    assert _check(cli, tmp_path) == [
        ("IMDS004", "Splat", 3),
        ("IMDS004", "Computed", 5),
    ]


# --- launch templates given to Auto Scaling groups ----------------------------------------------


def test_a_group_given_a_template_is_judged_by_the_template(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.ts",
        _stack(
            """
this.template = new ec2.LaunchTemplate(this, 'Template', { requireImdsv2: true });
new autoscaling.AutoScalingGroup(this, 'Linked', { vpc, launchTemplate: this.template });
new autoscaling.AutoScalingGroup(this, 'Mixed', {
  vpc,
  mixedInstancesPolicy: { launchTemplate: this.template, instancesDistribution: {} },
});
const imported = ec2.LaunchTemplate.fromLaunchTemplateAttributes(this, 'Imported', {
  launchTemplateId: 'lt-0123456789abcdef0',
});
new autoscaling.AutoScalingGroup(this, 'Elsewhere', { vpc, launchTemplate: imported });
new autoscaling.AutoScalingGroup(this, 'Called', {
  vpc,
  launchTemplate: ec2.LaunchTemplate.fromLaunchTemplateAttributes(this, 'I', {}),
});
""",
            HEADER + "import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';\n",
        ),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = [(f["rule_id"], f["resource"], f["line"]) for f in run.json()["findings"]]
    assert got == [
        ("IMDS004", "AppStack/Elsewhere", 19),
        ("IMDS004", "AppStack/Called", 22),  # at the launchTemplate written
    ]
    assert "imported (not in this module or stack)" in run.json()["findings"][0]["message"]


# --- aspects --------------------------------------------------------------------------------


def test_a_stack_aspect_covers_the_constructs_of_its_class_only(cli, tmp_path: Path) -> None:
    covered = _stack("""
cdk.Aspects.of(this).add(new ec2.InstanceRequireImdsv2Aspect());
new ec2.Instance(this, 'Covered', { vpc });
new ec2.LaunchTemplate(this, 'OtherType');
""")
    other = _stack("new ec2.Instance(this, 'NotCovered', { vpc });", imports="", name="OtherStack")
    write(tmp_path, "stacks.ts", covered + "\n" + other)
    assert _check(cli, tmp_path) == [
        ("IMDS002", "AppStack/OtherType", 11),
        ("IMDS002", "OtherStack/NotCovered", 20),
    ]


def test_an_aspect_on_another_scope_is_not_credited(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.ts",
        _stack("""
const vpc = new ec2.Vpc(this, 'Vpc');
cdk.Aspects.of(vpc).add(new ec2.InstanceRequireImdsv2Aspect());
new ec2.Instance(this, 'Web', { vpc });
"""),
    )
    assert _check(cli, tmp_path) == [("IMDS002", "AppStack/Web", 11)]


def test_an_app_aspect_covers_the_project_found_through_cdk_json(cli, tmp_path: Path) -> None:
    project = tmp_path / "infra"
    write(project, "cdk.json", '{"app": "npx ts-node --prefer-ts-exts bin/infra.ts"}\n')
    write(
        project,
        "bin/infra.ts",
        """\
        import { App, Aspects } from 'aws-cdk-lib';
        import { AutoScalingGroupRequireImdsv2Aspect } from 'aws-cdk-lib/aws-autoscaling';
        import { InstanceRequireImdsv2Aspect } from 'aws-cdk-lib/aws-ec2';
        import { AppStack } from '../lib/app-stack';

        const app = new App();
        new AppStack(app, 'AppStack');
        Aspects.of(app).add(new InstanceRequireImdsv2Aspect());
        Aspects.of(app).add(new AutoScalingGroupRequireImdsv2Aspect());
        """,
    )
    write(
        project,
        "lib/app-stack.ts",
        _stack(
            """
new ec2.Instance(this, 'Web', { vpc, requireImdsv2: false });
new autoscaling.AutoScalingGroup(this, 'Fleet', { vpc });
new ec2.LaunchTemplate(this, 'Template');
""",
            HEADER + "import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';\n",
        ),
    )
    # the same stack outside the project: not covered
    write(tmp_path, "elsewhere/app-stack.ts", (project / "lib/app-stack.ts").read_text())
    assert _check(cli, tmp_path) == [
        ("IMDS002", "AppStack/Web", 10),
        ("IMDS002", "AppStack/Fleet", 11),
        ("IMDS002", "AppStack/Template", 12),
        ("IMDS002", "AppStack/Template", 12),
    ]
    # scanned on its own (pre-commit passes one file): the entry file is still read
    assert _check(cli, project, "lib/app-stack.ts") == [("IMDS002", "AppStack/Template", 12)]


def test_a_python_app_aspect_and_a_single_file_app(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "app.py",
        """\
        import aws_cdk as cdk
        from aws_cdk import Aspects, Stack, aws_ec2 as ec2

        app = cdk.App()
        stack = Stack(app, "Single")
        ec2.Instance(stack, "Web", vpc=vpc)
        ec2.LaunchTemplate(stack, "Template", http_tokens=ec2.LaunchTemplateHttpTokens.OPTIONAL)
        Aspects.of(app).add(ec2.InstanceRequireImdsv2Aspect())
        """,
    )
    assert _check(cli, tmp_path) == [("IMDS002", "Template", 7)]


def test_a_stack_aspect_in_the_entry_file_covers_that_stack_class(cli, tmp_path: Path) -> None:
    write(tmp_path, "cdk.json", '{"app": "python3 app.py"}\n')
    write(
        tmp_path,
        "app.py",
        """\
        from aws_cdk import App, Aspects, aws_ec2 as ec2
        from stacks.web import WebStack
        from stacks.db import DbStack

        app = App()
        web = WebStack(app, "Web")
        DbStack(app, "Db")
        Aspects.of(web).add(ec2.InstanceRequireImdsv2Aspect())
        app.synth()
        """,
    )
    for name in ("web", "db"):
        write(
            tmp_path,
            f"stacks/{name}.py",
            f"""\
            from aws_cdk import Stack, aws_ec2 as ec2


            class {name.title()}Stack(Stack):
                def __init__(self, scope, construct_id, **kwargs):
                    super().__init__(scope, construct_id, **kwargs)
                    ec2.Instance(self, "Server", vpc=vpc)
            """,
        )
    assert _check(cli, tmp_path) == [("IMDS002", "DbStack/Server", 7)]


# --- fixes ------------------------------------------------------------------------------------


def _fix(cli, root: Path, name: str, text: str, *, python: bool = False) -> str:
    write(root, name, text)
    run = cli("fix", ".", cwd=root)
    assert run.code == 0, run.out
    fixed = (root / name).read_text()
    assert code.valid(name, fixed.encode())
    again = cli("fix", "--diff", ".", cwd=root)
    assert "Nothing fixed" in again.out or again.out.startswith("No findings"), again.out
    assert (root / name).read_text() == fixed
    return fixed


FIXES = {
    "multi-line, trailing comma": (
        "new ec2.Instance(this, 'Web', {\n  vpc,\n  instanceType,\n});\n",
        "new ec2.Instance(this, 'Web', {\n  vpc,\n  instanceType,\n  requireImdsv2: true,\n});\n",
    ),
    "multi-line, no trailing comma, comment": (
        "new ec2.Instance(this, 'Web', {\n    vpc,\n    instanceType // t3\n});\n",
        "new ec2.Instance(this, 'Web', {\n    vpc,\n    instanceType, // t3\n"
        "    requireImdsv2: true\n});\n",
    ),
    "inline": (
        "new ec2.Instance(this, 'Web', { vpc, instanceType });\n",
        "new ec2.Instance(this, 'Web', { vpc, instanceType, requireImdsv2: true });\n",
    ),
    "empty props": (
        "new ec2.LaunchTemplate(this, 'Template', {});\n",
        "new ec2.LaunchTemplate(this, 'Template', { requireImdsv2: true });\n",
    ),
    "no props": (
        "new ec2.LaunchTemplate(this, 'Template');\n",
        "new ec2.LaunchTemplate(this, 'Template', { requireImdsv2: true });\n",
    ),
    "false": (
        "new ec2.Instance(this, 'Web', { vpc, requireImdsv2: false });\n",
        "new ec2.Instance(this, 'Web', { vpc, requireImdsv2: true });\n",
    ),
    "enum": (
        "new ec2.LaunchTemplate(this, 'T', { httpTokens: Tokens.OPTIONAL });\n",
        "new ec2.LaunchTemplate(this, 'T', { httpTokens: Tokens.REQUIRED });\n",
    ),
    "cast": (
        "new ec2.Instance(this, 'Web', { vpc } as ec2.InstanceProps);\n",
        "new ec2.Instance(this, 'Web', { vpc, requireImdsv2: true } as ec2.InstanceProps);\n",
    ),
    "satisfies": (
        "new ec2.Instance(this, 'Web', ({ vpc, requireImdsv2: false }) satisfies Props);\n",
        "new ec2.Instance(this, 'Web', ({ vpc, requireImdsv2: true }) satisfies Props);\n",
    ),
    "type assertion": (
        "new ec2.Instance(this, 'Web', <ec2.InstanceProps>{ vpc });\n",
        "new ec2.Instance(this, 'Web', <ec2.InstanceProps>{ vpc, requireImdsv2: true });\n",
    ),
    "crlf": (
        "new ec2.Instance(this, 'Web', {\r\n  vpc,\r\n});\r\n",
        "new ec2.Instance(this, 'Web', {\r\n  vpc,\r\n  requireImdsv2: true,\r\n});\r\n",
    ),
}


@pytest.mark.parametrize("case", sorted(FIXES))
def test_typescript_fixes(cli, tmp_path: Path, case: str) -> None:
    before, after = FIXES[case]
    imports = (
        "import * as ec2 from 'aws-cdk-lib/aws-ec2';\n"
        "import { LaunchTemplateHttpTokens as Tokens } from 'aws-cdk-lib/aws-ec2';\n\n"
    )
    if "\r\n" in before:
        imports = imports.replace("\n", "\r\n")
    path = tmp_path / "stack.ts"
    path.write_bytes((imports + before).encode())
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert path.read_bytes().decode() == imports + after
    assert cli("check", ".", cwd=tmp_path).code == 0
    again = cli("fix", ".", cwd=tmp_path)
    assert path.read_bytes().decode() == imports + after, again.out


PY_FIXES = {
    "one per line": (
        'ec2.Instance(self, "Web",\n    vpc=vpc,\n    instance_type=small,\n)\n',
        'ec2.Instance(self, "Web",\n    vpc=vpc,\n    instance_type=small,\n'
        "    require_imdsv2=True,\n)\n",
    ),
    "closing bracket on the last line": (
        'ec2.Instance(self, "Web",\n             vpc=vpc,\n             instance_type=small)\n',
        'ec2.Instance(self, "Web",\n             vpc=vpc,\n             instance_type=small,\n'
        "             require_imdsv2=True)\n",
    ),
    "inline": (
        'ec2.Instance(self, "Web", vpc=vpc)\n',
        'ec2.Instance(self, "Web", vpc=vpc, require_imdsv2=True)\n',
    ),
    "False": (
        'ec2.LaunchTemplate(self, "T", require_imdsv2=False)\n',
        'ec2.LaunchTemplate(self, "T", require_imdsv2=True)\n',
    ),
    "endpoint and hop limit are kept, tokens enum": (
        'ec2.LaunchTemplate(self, "T", http_tokens=ec2.LaunchTemplateHttpTokens.OPTIONAL)\n',
        'ec2.LaunchTemplate(self, "T", http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED)\n',
    ),
}


@pytest.mark.parametrize("case", sorted(PY_FIXES))
def test_python_fixes(cli, tmp_path: Path, case: str) -> None:
    before, after = PY_FIXES[case]
    imports = "from aws_cdk import aws_ec2 as ec2\n\n"
    path = tmp_path / "stack.py"
    path.write_text(imports + before)
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert path.read_text() == imports + after
    assert code.valid("stack.py", path.read_bytes())
    assert cli("check", ".", cwd=tmp_path).code == 0
    cli("fix", ".", cwd=tmp_path)
    assert path.read_text() == imports + after


def test_the_fixture_apps_fix_clean(cli, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(FIXTURES / "cdk", tmp_path / "cdk", ignore=shutil.ignore_patterns("cdk.out"))
    run = cli("fix", ".", cwd=tmp_path / "cdk")
    assert "Fixed 6 findings in 3 files; 2 findings left." in run.out, run.out
    left = cli("check", "--format", "json", ".", cwd=tmp_path / "cdk").json()["findings"]
    assert sorted(f["rule_id"] for f in left) == ["IMDS004", "IMDS004"]
    for path in (tmp_path / "cdk").rglob("*"):
        if path.suffix in (".ts", ".py"):
            assert code.valid(path.name, path.read_bytes()), path
    assert "Nothing fixed" in cli("fix", ".", cwd=tmp_path / "cdk").out


def test_an_aspect_in_another_file_is_not_edited(cli, tmp_path: Path) -> None:
    """A value an aspect decides is required: nothing to fix, and the fixer never touches the
    entry file for a construct of another file."""
    write(tmp_path, "cdk.json", '{"app": "python3 app.py"}\n')
    app = "import aws_cdk as cdk\nfrom aws_cdk import aws_ec2 as ec2\n\napp = cdk.App()\n"
    app += "cdk.Aspects.of(app).add(ec2.InstanceRequireImdsv2Aspect())\n"
    write(tmp_path, "app.py", app)
    write(
        tmp_path, "stack.py", "from aws_cdk import aws_ec2 as ec2\n\nec2.Instance(s, 'W', vpc=v)\n"
    )
    assert cli("fix", ".", cwd=tmp_path).out == "Nothing fixed; no findings left.\n"
    assert (tmp_path / "app.py").read_text() == app


# --- suppressions, hazards, start-up --------------------------------------------------------------


IGNORE = "imds-iac: ignore: "


def test_suppression_comments_on_the_construct_line(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.ts",
        _stack("""
// imds-iac: ignore[IMDS002] the bastion's agent still reads IMDSv1; ticket OPS-12
new ec2.Instance(this, 'Bastion', { vpc });
new ec2.Instance(this, 'Web', { vpc }); // imds-iac: ignore[IMDS002] replaced next sprint
new ec2.Instance(this, 'Api', { vpc, requireImdsv2: true }); // imds-iac: ignore[IMDS002] stale
"""),
    )
    write(
        tmp_path,
        "stack.py",
        """\
        from aws_cdk import aws_ec2 as ec2

        ec2.Instance(stack, "Worker", vpc=vpc)  # imds-iac: ignore[IMDS002] batch AMI, see RUN-7
        ec2.Instance(stack, "Reporter", vpc=vpc)
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    got = {(f["rule_id"], f["resource"], f["line"], f["suppressed"]) for f in doc["findings"]}
    assert got == {
        (
            "IMDS002",
            "AppStack/Bastion",
            10,
            f"{IGNORE}the bastion's agent still reads IMDSv1; ticket OPS-12",
        ),
        ("IMDS002", "AppStack/Web", 11, f"{IGNORE}replaced next sprint"),
        ("IMDS005", "AppStack/Api", 12, None),  # the ignore suppresses nothing
        ("IMDS002", "Worker", 3, f"{IGNORE}batch AMI, see RUN-7"),
        ("IMDS002", "Reporter", 4, None),
    }


def test_imds_calls_in_a_cdk_source_file_are_still_found(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.py",
        """\
        import requests
        from aws_cdk import aws_ec2 as ec2

        URL = "http://169.254.169.254/latest/meta-data/placement/region"
        region = requests.get(URL).text
        ec2.Instance(stack, "Web", vpc=vpc, require_imdsv2=True)
        """,
    )
    assert _check(cli, tmp_path) == [("IMDS007", "stack.py", 5)]


def test_tsc_output_beside_its_typescript_is_not_read_twice(cli, tmp_path: Path) -> None:
    source = (
        "import * as ec2 from 'aws-cdk-lib/aws-ec2';\nnew ec2.Instance(this, 'Web', { vpc });\n"
    )
    write(tmp_path, "lib/stack.ts", source)
    write(
        tmp_path,
        "lib/stack.js",
        "const ec2 = require('aws-cdk-lib/aws-ec2');\nnew ec2.Instance(this, 'Web', { vpc });\n",
    )
    assert _check(cli, tmp_path) == [("IMDS002", "Web", 2)]


def test_a_file_that_does_not_parse_is_reported(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stack.ts",
        "import * as ec2 from 'aws-cdk-lib/aws-ec2';\nnew ec2.Instance(this, 'Web', { vpc, );\n",
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert [e["message"].split(":")[0] for e in doc["errors"]] == ["typescript syntax error"]


def test_importing_the_cli_does_not_load_the_grammars() -> None:
    probe = (
        "import sys, imds_iac_checks.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith(('tree_sitter', "
        "'imds_iac_checks.formats.cdk'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_a_large_app_is_read_in_linear_time() -> None:
    """Thousands of constructs in one file (generated code): each span is found from a table of
    line starts, not by counting the file's lines again."""
    import time

    body = "".join(
        f"new ec2.Instance(this, 'I{n}', {{ vpc, requireImdsv2: true }});\n" for n in range(4000)
    )
    data = ("import * as ec2 from 'aws-cdk-lib/aws-ec2';\n" + body).encode()
    start = time.perf_counter()
    found, errors = cdk.targets("big.ts", data)
    assert (len(found), errors) == (4000, [])
    assert found[-1].span.line == 4001
    assert time.perf_counter() - start < 20


# --- user data ----------------------------------------------------------------------------------

USER_DATA_TS = """\
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface WebStackProps extends cdk.StackProps {
  readonly bootScript: ec2.UserData;
}

export class WebStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'VPC');
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'yum install -y httpd',
      'INSTANCE_ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)',
    );
    new ec2.Instance(this, 'Web', {
      vpc,
      instanceType: new ec2.InstanceType('t3.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      userData,
    });
    new ec2.Instance(this, 'Given', {
      vpc,
      instanceType: new ec2.InstanceType('t3.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      userData: props.bootScript,
    });
    new ec2.LaunchTemplate(this, 'Quiet', {
      userData: ec2.UserData.custom('#!/bin/bash\\nsystemctl start httpd\\n'),
    });
  }
}
"""


def test_user_data_commands_are_read_and_make_the_tokens_fix_unsafe(cli, tmp_path: Path) -> None:
    """``userData.addCommands(...)`` of the UserData passed as ``userData`` runs on the
    instance: its IMDSv1 call is IMDS007 at the string, and adding ``requireImdsv2: true``
    would break it (unsafe, says where); user data that cannot be read makes the fix unsafe
    too (says what it is); readable user data without a call leaves the fix safe."""
    write(tmp_path, "lib/web-stack.ts", USER_DATA_TS)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["errors"] == []
    got = {(f["rule_id"], f["resource"], f["line"], f["column"]): f for f in doc["findings"]}
    assert set(got) == {
        ("IMDS007", "WebStack/Web", 16, 22),
        ("IMDS002", "WebStack/Web", 18, 5),
        ("IMDS002", "WebStack/Given", 24, 5),
        ("IMDS002", "WebStack/Quiet", 30, 5),
    }
    web = got[("IMDS002", "WebStack/Web", 18, 5)]
    assert web["fix"] == "unsafe"
    assert "would break the IMDSv1 call at lib/web-stack.ts:16" in web["fix_note"]
    given = got[("IMDS002", "WebStack/Given", 24, 5)]
    assert given["fix"] == "unsafe"
    assert given["fix_note"] == (
        "the user data given at lib/web-stack.ts:28 (props.bootScript) is not read: code that "
        "runs on the instances may call IMDSv1; check it first"
    )
    assert got[("IMDS002", "WebStack/Quiet", 30, 5)]["fix"] == "safe"

    run = cli("fix", ".", cwd=tmp_path)
    text = (tmp_path / "lib/web-stack.ts").read_text()
    assert "requireImdsv2: true" in text.split("'Quiet'")[1]
    assert text.count("requireImdsv2") == 1, run.out

    # --unsafe-fixes: the call gets its token, in the string's own quoting, then the construct
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    text = (tmp_path / "lib/web-stack.ts").read_text()
    assert code.valid("web-stack.ts", text.encode())
    assert 'curl -s -X PUT "http://169.254.169.254/latest/api/token"' in text
    assert '-H "X-aws-ec2-metadata-token: ${TOKEN}"' in text
    assert _check(cli, tmp_path) == []
    assert text.count("requireImdsv2: true") == 3


def test_python_user_data_add_commands_and_add_user_data(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stacks/worker.py",
        """\
        from aws_cdk import Stack, aws_ec2 as ec2


        class WorkerStack(Stack):
            def __init__(self, scope, construct_id, **kwargs):
                super().__init__(scope, construct_id, **kwargs)
                user_data = ec2.UserData.for_linux(shebang="#!/bin/bash -xe")
                user_data.add_commands(
                    "yum install -y jq",
                    "REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)",
                )
                ec2.Instance(self, "Worker", vpc=vpc, user_data=user_data, require_imdsv2=True)
                node = ec2.Instance(self, "Agent", vpc=vpc)
                node.add_user_data("wget -q -O - http://169.254.169.254/latest/meta-data/ami-id")
                # the style of aws-cdk-examples python/ec2/instance: a script run from S3
                runner = ec2.Instance(self, "Runner", vpc=vpc)
                local_path = runner.user_data.add_s3_download_command(
                    bucket=asset.bucket, bucket_key=asset.s3_object_key
                )
                runner.user_data.add_execute_file_command(file_path=local_path)
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    got = [(f["rule_id"], f["resource"], f["line"], f["severity"]) for f in doc["findings"]]
    assert got == [
        ("IMDS007", "WorkerStack/Worker", 10, "error"),  # it requires tokens: broken now
        ("IMDS002", "WorkerStack/Agent", 13, "error"),
        ("IMDS007", "WorkerStack/Agent", 14, "warning"),
        ("IMDS002", "WorkerStack/Runner", 16, "error"),
    ]
    agent, runner = doc["findings"][1], doc["findings"][3]
    assert agent["fix"] == "unsafe" and "call at stacks/worker.py:14" in agent["fix_note"]
    assert runner["fix"] == "unsafe"
    assert (
        "the user data given at stacks/worker.py:20 (runner.user_data.add_execute_file"
        in (runner["fix_note"])
    )


def test_user_data_payload_maps_escapes_and_holes() -> None:
    """The payload CDK renders (the shebang, commands joined by newlines), each string's
    runs at their bytes, ``${...}`` substitutions as holes."""
    data = (
        b"import * as ec2 from 'aws-cdk-lib/aws-ec2';\n"
        b"const ud = ec2.UserData.forLinux({ shebang: '#!/bin/sh' });\n"
        b"ud.addCommands('echo \\'a\\'', `cd ${dir}`, \"x\\ty\");\n"
        b"new ec2.Instance(this, 'W', { vpc, userData: ud });\n"
    )
    [target], errors = cdk.targets("s.ts", data)
    [payload] = target.user_data
    assert payload.text == "#!/bin/sh\necho 'a'\ncd ${dir}\nx\ty"
    assert target.fix_unsafe is None and errors == []
    first = payload.pieces[0]
    assert data[first.span.start_byte : first.span.end_byte] == b"#!/bin/sh"
    assert first.escape == "code-string:'"
    escapes = {data[p.span.start_byte : p.span.end_byte]: p.escape for p in payload.pieces}
    assert escapes[b"\\'"] == "code-string:'"  # an escape: one piece, its ends map
    assert escapes[b"cd "] == ""  # a template literal: nothing is inserted there
    assert escapes[b"\\t"] == 'code-string:"'
    assert "${dir}" not in {payload.text[p.start : p.end] for p in payload.pieces}


def test_an_aspect_added_under_a_condition_is_not_credited_as_always(cli, tmp_path: Path) -> None:
    """``if (props.strict) { Aspects.of(this).add(...) }``: tokens are required only when the
    condition holds (IMDS004 naming it, as ``requireImdsv2: props.strict`` is); a construct
    that requires tokens itself is not affected."""
    write(
        tmp_path,
        "lib/web-stack.ts",
        _stack(
            """
if (props.strict) {
  cdk.Aspects.of(this).add(new ec2.InstanceRequireImdsv2Aspect());
} else {
  cdk.Aspects.of(this).add(new ec2.LaunchTemplateRequireImdsv2Aspect());
}
new ec2.Instance(this, 'Web', { vpc });
new ec2.Instance(this, 'Pinned', { vpc, requireImdsv2: true });
new ec2.LaunchTemplate(this, 'Template');
""",
            name="WebStack",
        ).replace("props?: cdk.StackProps", "props: WebStackProps"),
    )
    write(
        tmp_path,
        "worker.py",
        """\
        import aws_cdk
        from aws_cdk import aws_ec2 as ec2


        class WorkerStack(aws_cdk.Stack):
            def __init__(self, scope, construct_id, *, strict=False, **kwargs):
                super().__init__(scope, construct_id, **kwargs)
                if strict:
                    aws_cdk.Aspects.of(self).add(ec2.InstanceRequireImdsv2Aspect())
                ec2.Instance(self, "Worker", vpc=vpc)
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    got = [(f["rule_id"], f["resource"], f["path"], f["line"]) for f in doc["findings"]]
    assert got == [
        ("IMDS004", "WebStack/Web", "lib/web-stack.ts", 10),
        ("IMDS004", "WebStack/Template", "lib/web-stack.ts", 12),
        ("IMDS004", "WorkerStack/Worker", "worker.py", 9),
    ]
    messages = [f["message"] for f in doc["findings"]]
    assert "requireImdsv2 could not be evaluated statically: props.strict (only then" in messages[0]
    assert "not (props.strict) (only then is" in messages[1]
    assert "require_imdsv2 could not be evaluated statically: strict (only then" in messages[2]


def test_the_asset_directories_of_cdk_out_are_not_walked(cli, tmp_path: Path) -> None:
    """``cdk synth`` copies each Lambda's code into ``cdk.out/asset.<hash>/``: the copy is not
    scanned (the source is, where it is written); the templates are. An assembly written
    elsewhere (``cdk synth -o dist``) is known by its ``cdk.out`` and ``manifest.json``."""
    handler = (
        "import urllib.request\n\n"
        "def handler(event, context):\n"
        "    url = 'http://169.254.169.254/latest/meta-data/instance-id'\n"
        "    return urllib.request.urlopen(url).read()\n"
    )
    template = (
        '{\n  "Resources": {\n    "Web": {\n      "Type": "AWS::EC2::Instance",\n'
        '      "Properties": {"ImageId": "ami-0abcdef1234567890"}\n    }\n  }\n}\n'
    )
    for out in ("cdk.out", "dist"):
        write(tmp_path, f"{out}/cdk.out", '{"version":"36.0.0"}\n')
        write(tmp_path, f"{out}/manifest.json", '{"version":"36.0.0","artifacts":{}}\n')
        write(tmp_path, f"{out}/WebStack.template.json", template)
        write(tmp_path, f"{out}/asset.3f2a9c1e/index.py", handler)
    write(tmp_path, "lambda/index.py", handler)
    got = _check(cli, tmp_path)
    assert sorted(got) == [
        ("IMDS001", "Web", 4),
        ("IMDS001", "Web", 4),
        ("IMDS007", "lambda/index.py", 5),
    ]
    # named on the command line, an asset's file is read
    assert _check(cli, tmp_path, "cdk.out/asset.3f2a9c1e/index.py") == [
        ("IMDS007", "cdk.out/asset.3f2a9c1e/index.py", 5)
    ]


def test_fixing_a_large_app_is_near_linear(cli, tmp_path: Path) -> None:
    """Each construct's fix is planned on a tree of the file parsed once, not once per
    construct (2,000 constructs took 133 s when each plan parsed the file)."""
    import time

    def app(n: int) -> str:
        body = "".join(
            f"new ec2.Instance(this, 'I{i}', {{ vpc, instanceType }});\n" for i in range(n)
        )
        return _stack(body, name="FleetStack")

    timings = []
    for n in (250, 1000):
        root = tmp_path / str(n)
        write(root, "lib/fleet.ts", app(n))
        start = time.perf_counter()
        run = cli("fix", ".", cwd=root)
        timings.append(time.perf_counter() - start)
        assert run.code == 0, run.out
        assert (root / "lib/fleet.ts").read_text().count("requireImdsv2: true") == n
    # four times the constructs: well under the sixteen times a quadratic plan would take
    assert timings[1] < 30 and timings[1] < 8 * timings[0] + 2, timings


def test_user_data_strings_built_by_concatenation_and_format() -> None:
    """``'aws s3 cp s3://' + bucket.bucketName + '/x.sh'`` (aws-cdk-examples
    typescript/ec2-instance), Python ``"mv {} x".format(p)`` and ``"a" "b"`` are read: the
    strings as pieces, the rest holes; a UserData made at module level is found from a class."""
    data = (
        b"import * as ec2 from 'aws-cdk-lib/aws-ec2';\n"
        b"const boot = ec2.UserData.forLinux();\n"
        b"boot.addCommands('aws s3 cp s3://' + bucket.bucketName + '/x.sh /tmp/x.sh');\n"
        b"export class S extends cdk.Stack {\n"
        b"  constructor() { new ec2.Instance(this, 'W', { vpc, userData: boot }); }\n"
        b"}\n"
    )
    [target], _ = cdk.targets("s.ts", data)
    assert (
        target.user_data[0].text
        == "#!/bin/bash\naws s3 cp s3://${bucket.bucketName}/x.sh /tmp/x.sh"
    )
    assert target.fix_unsafe is None
    py = (
        b"from aws_cdk import aws_ec2 as ec2\n"
        b"ud = ec2.UserData.for_linux()\n"
        b'ud.add_commands("mv {} nginx.conf".format(path), "yum install -y "\n'
        b'    "nginx", read_script())\n'
        b'ec2.Instance(self, "W", vpc=vpc, user_data=ud)\n'
    )
    [target], _ = cdk.targets("s.py", py)
    assert target.user_data[0].text == (
        "#!/bin/bash\nmv {} nginx.conf\nyum install -y nginx\n${read_script()}"
    )
    assert target.fix_unsafe is not None
    assert target.fix_unsafe.startswith("the user data given at s.py:4 (read_script()) is not read")
