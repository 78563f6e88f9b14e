"""Issue 15, patterns 2 and 3: no silent pass on a module call or nested stack.

A module Terraform downloaded (git, registry, S3; nested keys such as ``workers.template``) is
evaluated from ``.terraform/modules``; a call whose code is not on disk, not downloaded and not
modelled is an IMDS004 warning at its ``source``. A CloudFormation nested stack with a local
``TemplateURL`` is followed with the ``Parameters`` passed; a remote one is an IMDS004 warning.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import FIXTURES, ROOT, findings, write

RULE_CASES = ROOT / "tests" / "rules"

CALLER = """
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"

  name = "platform"
  cidr = "10.20.0.0/16"
}

module "workers" {
  source = "git::https://github.com/example-corp/terraform-aws-workers.git?ref=v2.1.0"

  name          = "batch"
  subnet_ids    = module.vpc.private_subnets
  http_tokens   = "optional"
}

module "bastion" {
  source = "s3::https://s3-eu-west-1.amazonaws.com/example-corp-modules/bastion-1.0.0.zip"

  subnet_id = module.vpc.public_subnets[0]
}
"""

WORKERS = """
variable "name" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "http_tokens" {
  type    = string
  default = "required"
}

module "template" {
  source  = "app.terraform.io/example-corp/launch-template/aws"
  version = "~> 3.0"

  name        = var.name
  http_tokens = var.http_tokens
}

module "node_group" {
  source = "./modules/node-group"

  launch_template_id = module.template.id
}
"""

TEMPLATE = """
variable "name" {
  type = string
}

variable "http_tokens" {
  type = string
}

resource "aws_launch_template" "this" {
  name_prefix = "${var.name}-"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = var.http_tokens
    http_put_response_hop_limit = 1
  }
}

output "id" {
  value = aws_launch_template.this.id
}
"""

NODE_GROUP = """
variable "launch_template_id" {
  type = string
}

resource "aws_instance" "node" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "m6i.large"

  metadata_options {
    http_tokens = "optional"
  }
}
"""

BASTION = """
variable "subnet_id" {
  type = string
}

resource "aws_instance" "bastion" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = var.subnet_id

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}
"""

MANIFEST = {
    "Modules": [
        {"Key": "", "Source": "", "Dir": "."},
        {
            "Key": "vpc",
            "Source": "registry.terraform.io/terraform-aws-modules/vpc/aws",
            "Version": "5.8.1",
            "Dir": ".terraform/modules/vpc",
        },
        {
            "Key": "workers",
            "Source": "git::https://github.com/example-corp/terraform-aws-workers.git?ref=v2.1.0",
            "Dir": ".terraform/modules/workers",
        },
        {
            "Key": "workers.template",
            "Source": "app.terraform.io/example-corp/launch-template/aws",
            "Version": "3.2.0",
            "Dir": ".terraform/modules/workers.template",
        },
        {
            "Key": "workers.node_group",
            "Source": "./modules/node-group",
            "Dir": ".terraform/modules/workers/modules/node-group",
        },
        {
            "Key": "bastion",
            "Source": "s3::https://s3-eu-west-1.amazonaws.com/example-corp-modules/bastion-1.0.0.zip",
            "Dir": ".terraform/modules/bastion",
        },
    ]
}


def _root(tmp_path: Path, *, initialized: bool) -> None:
    write(tmp_path, "main.tf", CALLER)
    if not initialized:
        return
    modules = ".terraform/modules"
    write(tmp_path, f"{modules}/vpc/main.tf", 'resource "aws_vpc" "this" {\n}\n')
    write(tmp_path, f"{modules}/workers/main.tf", WORKERS)
    write(tmp_path, f"{modules}/workers/modules/node-group/main.tf", NODE_GROUP)
    write(tmp_path, f"{modules}/workers.template/main.tf", TEMPLATE)
    write(tmp_path, f"{modules}/bastion/main.tf", BASTION)
    (tmp_path / modules / "modules.json").write_text(json.dumps(MANIFEST), encoding="utf-8")


def test_remote_modules_not_downloaded_are_warnings_at_their_source(cli, tmp_path: Path) -> None:
    _root(tmp_path, initialized=False)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    # vpc creates no instances (a known networking module): evaluated as "none", no warning.
    assert findings(run) == [
        ("IMDS004", "module.workers", 10),
        ("IMDS004", "module.bastion", 18),
    ]
    workers, bastion = run.json()["findings"]
    assert workers["column"] == 12  # the source string
    assert workers["severity"] == "warning"
    assert workers["message"] == (
        "[module.workers] module workers (source "
        '"git::https://github.com/example-corp/terraform-aws-workers.git?ref=v2.1.0") was not '
        "evaluated: run terraform init so that .terraform/modules holds it, or check out the "
        "module and call it by a local path; if it creates no instances, suppress this warning "
        "on the module block"
    )
    assert "s3::https://" in bastion["message"]
    assert run.code == 0  # a warning: the scan still passes, but says where it could not look


def test_downloaded_git_s3_and_nested_modules_are_evaluated(cli, tmp_path: Path) -> None:
    _root(tmp_path, initialized=True)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = sorted(
        (f["rule_id"], f["resource"], f["path"], f["line"]) for f in run.json()["findings"]
    )
    assert got == [
        # A value written inside the downloaded module points into .terraform/modules ...
        (
            "IMDS002",
            "module.workers.module.node_group.aws_instance.node",
            ".terraform/modules/workers/modules/node-group/main.tf",
            10,
        ),
        # ... and a value passed in points at the root's argument.
        ("IMDS002", "module.workers.module.template.aws_launch_template.this", "main.tf", 14),
    ]
    by = {f["resource"]: f["message"] for f in run.json()["findings"]}
    message = by["module.workers.module.template.aws_launch_template.this"]
    assert "module.workers input http_tokens" in message


def test_a_call_missing_from_modules_json_says_to_run_init_again(cli, tmp_path: Path) -> None:
    _root(tmp_path, initialized=True)
    manifest = dict(MANIFEST)
    manifest["Modules"] = [m for m in MANIFEST["Modules"] if m["Key"] != "bastion"]
    (tmp_path / ".terraform/modules/modules.json").write_text(json.dumps(manifest))
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    warnings = [f for f in run.json()["findings"] if f["rule_id"] == "IMDS004"]
    assert [(f["resource"], f["line"]) for f in warnings] == [("module.bastion", 18)]
    assert "modules.json does not list it; run terraform init again" in warnings[0]["message"]


def test_a_local_module_directory_that_does_not_exist_is_a_warning(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        module "web" {
          source = "./modules/web-server"
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "module.web", 2)]
    assert "directory modules/web-server does not exist" in run.json()["findings"][0]["message"]


def test_the_warning_is_suppressed_on_the_module_block(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        # imds-iac: ignore[IMDS004] creates only CloudWatch alarms
        module "alarms" {
          source  = "example-corp/alarms/aws"
          version = "1.0.0"
        }

        module "queue" { # imds-iac: ignore[IMDS004] an SQS queue
          source = "git::https://github.com/example-corp/queue.git"
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["resource"], f["suppressed"] is not None) for f in run.json()["findings"]] == [
        ("module.alarms", True),
        ("module.queue", True),
    ]
    assert run.code == 0


def test_a_module_instantiated_many_times_warns_once_per_call(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        module "site" {
          source   = "./site"
          for_each = toset(["eu", "us"])
        }
        """,
    )
    write(
        tmp_path,
        "site/main.tf",
        """
        module "web" {
          source  = "example-corp/web/aws"
          version = "2.0.0"
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert len([f for f in run.json()["findings"] if f["rule_id"] == "IMDS004"]) == 1


# --- CloudFormation nested stacks -----------------------------------------------------------

PARENT = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Tokens:
    Type: String
    Default: optional
    AllowedValues: [optional, required]
Resources:
  Workers:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: stacks/workers.yaml
      Parameters:
        HttpTokens: !Ref Tokens
        HopLimit: "3"
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://example-templates.s3.amazonaws.com/network/v4/vpc.yaml
      Parameters:
        CidrBlock: 10.0.0.0/16
"""

CHILD = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  HttpTokens:
    Type: String
    Default: required
  HopLimit:
    Type: Number
    Default: 1
Resources:
  WorkerTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: m6i.large
        MetadataOptions:
          HttpTokens: !Ref HttpTokens
          HttpPutResponseHopLimit: !Ref HopLimit
  Worker:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref WorkerTemplate
        Version: !GetAtt WorkerTemplate.LatestVersionNumber
"""


def test_local_nested_stack_is_followed_with_the_parameters_passed(cli, tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", PARENT)
    write(tmp_path, "stacks/workers.yaml", CHILD)
    run = cli("check", "--format", "json", "parent.yaml", cwd=tmp_path)
    got = [
        (f["rule_id"], f["resource"], f["path"], f["line"], f["column"])
        for f in run.json()["findings"]
    ]
    assert got == [
        # tokens: the parent's parameter default, passed through Workers' Parameters
        ("IMDS002", "Workers/WorkerTemplate", "parent.yaml", 5, 14),
        # the hop limit: the literal the parent passes, at its Parameters entry
        ("IMDS003", "Workers/WorkerTemplate", "parent.yaml", 14, 19),
        ("IMDS004", "Network", "parent.yaml", 18, 20),
    ]
    by = {(f["rule_id"], f["resource"]): f for f in run.json()["findings"]}
    assert (
        "parameter HopLimit passed by Workers"
        in by[("IMDS003", "Workers/WorkerTemplate")]["message"]
    )
    assert by[("IMDS003", "Workers/WorkerTemplate")]["fix"] == "safe"  # its own argument
    network = by[("IMDS004", "Network")]["message"]
    assert network.startswith(
        "[Network] nested stack Network (TemplateURL "
        "https://example-templates.s3.amazonaws.com/network/v4/vpc.yaml) was not evaluated"
    )


def test_nested_stack_instance_inherits_from_its_own_stacks_template(cli, tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", PARENT)
    write(tmp_path, "stacks/workers.yaml", CHILD)
    run = cli("check", "--format", "json", "parent.yaml", cwd=tmp_path)
    by = {(f["rule_id"], f["resource"]): f["message"] for f in run.json()["findings"]}
    # The instance launches from its own stack's template: linked, judged there, named there.
    assert "(launch template of Workers/Worker)" in by[("IMDS002", "Workers/WorkerTemplate")]
    assert not [key for key in by if key[1] == "Workers/Worker"]


def test_nested_stack_missing_cyclic_and_sam_application(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "template.yaml",
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Missing:
            Type: AWS::CloudFormation::Stack
            Properties:
              TemplateURL: stacks/gone.yaml
          Self:
            Type: AWS::CloudFormation::Stack
            Properties:
              TemplateURL: ./template.yaml
          Fleet:
            Type: AWS::Serverless::Application
            Properties:
              Location: apps/fleet.yaml
              Parameters:
                Tokens: optional
          FromRepository:
            Type: AWS::Serverless::Application
            Properties:
              Location:
                ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/fleet
                SemanticVersion: 1.0.0
        """,
    )
    write(
        tmp_path,
        "apps/fleet.yaml",
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Tokens:
            Type: String
        Resources:
          Nodes:
            Type: AWS::AutoScaling::LaunchConfiguration
            Properties:
              ImageId: ami-0123456789abcdef0
              InstanceType: t3.micro
              MetadataOptions:
                HttpTokens: !Ref Tokens
        """,
    )
    run = cli("check", "--format", "json", "template.yaml", cwd=tmp_path)
    got = [(f["rule_id"], f["resource"], f["path"], f["line"]) for f in run.json()["findings"]]
    assert got == [
        ("IMDS004", "Missing", "template.yaml", 7),
        ("IMDS004", "Self", "template.yaml", 11),
        ("IMDS002", "Fleet/Nodes", "template.yaml", 17),
        ("IMDS004", "FromRepository", "template.yaml", 22),
    ]
    messages = [f["message"] for f in run.json()["findings"]]
    assert "stacks/gone.yaml does not exist" in messages[0]
    assert "nests itself" in messages[1]


# --- no silent pass: every module call and nested stack of the fixtures ----------------------


def _walk(base: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files of ``base`` a scan reads (hidden and skipped directories left out)."""
    from imds_iac_checks.scan import SKIP_DIRS

    out = []
    for path in sorted(base.rglob("*")):
        parts = path.relative_to(base).parts
        if any(p in SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
            continue
        if path.is_file() and path.name.endswith(suffixes):
            out.append(path)
    return out


def test_every_module_call_of_the_fixtures_is_evaluated_or_warned_about() -> None:
    from imds_iac_checks import source
    from imds_iac_checks.formats.terraform import graph, registry, unevaluated
    from imds_iac_checks.formats.terraform import module as tfm

    directories: dict[str, list[graph.TfFile]] = {}
    for base in (FIXTURES, RULE_CASES):
        for path in _walk(base, (".tf",)):
            directories.setdefault(str(path.parent), []).append(graph.TfFile(str(path), str(path)))
    reached: set[str] = set()
    errors: list = []
    targets = list(
        graph.targets(directories, str(ROOT), [], errors, reached=reached, files=source.Files())
    )
    warned = {(t.path, t.span.line) for t in targets if t.kind == tfm.MODULE_CALL.kind}
    calls = silent = 0
    missed = []
    for directory, listing in directories.items():
        parsed = [tfm.load_file(f.path, f.shown, files=source.Files())[0] for f in listing]
        module = tfm.Module([p for p in parsed if p is not None], {})
        for src, block, name in module.module_calls:
            calls += 1
            where = (src.path, src.span(block).line)
            text = module.call_source(src, block)
            if where in warned:
                continue
            if isinstance(text, str) and unevaluated.is_local(text):
                child = os.path.normpath(os.path.join(directory, text))
                if child in reached or os.path.realpath(child) in reached:
                    continue
            elif isinstance(text, str):
                if unevaluated.creates_no_instances(text) is not None:
                    continue  # known to create none
                made = [t for t in targets if f"module.{name}." in t.address]
                if registry.known_module(text) is not None and made:
                    continue
            silent += 1
            missed.append(f"{src.path}:{where[1]} module {name}")
    assert missed == []
    assert calls >= 12 and silent == 0  # the walk saw the fixtures' module calls


def test_every_nested_stack_of_the_fixtures_is_evaluated_or_warned_about() -> None:
    from imds_iac_checks import source
    from imds_iac_checks.formats import data, nested
    from imds_iac_checks.formats.cloudformation import is_template
    from imds_iac_checks.formats.doc import MAP, decode, parse_json, parse_yaml

    stacks = 0
    missed = []
    for base in (FIXTURES, RULE_CASES):
        for path in _walk(base, (".yaml", ".yml", ".json", ".template")):
            raw = path.read_bytes()
            if not any(t.encode() in raw for t in nested.NESTING):
                continue
            text = decode(raw)
            roots = [parse_json(text)] if text.lstrip().startswith("{") else parse_yaml(text)
            if len(roots) != 1 or not is_template(roots[0]):
                continue
            resources = roots[0].get("Resources")
            if resources is None or resources.kind != MAP:
                continue
            found, _ = data.parse(str(path), raw, origin=str(path), files=source.Files())
            addresses = {t.address for t in found}
            for key, resource in resources.pairs():
                kind = resource.get("Type") if resource.kind == MAP else None
                if kind is None or kind.value not in nested.NESTING:
                    continue
                stacks += 1
                logical = str(key.value)
                if logical in addresses or any(a.startswith(f"{logical}/") for a in addresses):
                    continue
                missed.append(f"{path}: {logical}")
    assert missed == []
    assert stacks >= 2


def test_nested_stacks_fanning_out_stop_at_a_bound(cli, tmp_path: Path) -> None:
    """A template nesting another 20 times, which nests a third 20 times: 420 stacks. Past the
    bound each is a warning, and the scan ends quickly."""
    from imds_iac_checks.formats.nested import MAX_STACKS

    def nesting(child: str) -> str:
        stacks = "".join(
            f"  S{i}:\n    Type: AWS::CloudFormation::Stack\n"
            f"    Properties:\n      TemplateURL: {child}\n"
            for i in range(20)
        )
        return 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n' + stacks

    write(tmp_path, "a.yaml", nesting("b.yaml"))
    write(tmp_path, "b.yaml", nesting("c.yaml"))
    write(tmp_path, "c.yaml", CHILD)
    run = cli("check", "--format", "json", "a.yaml", cwd=tmp_path)
    found = run.json()["findings"]
    bounded = [f for f in found if "stacks in all" in f["message"]]
    assert bounded and all(f["rule_id"] == "IMDS004" for f in bounded)
    # Each nested stack is one target (followed: its template's; not: its warning).
    assert run.json()["summary"]["targets"] <= MAX_STACKS * 2 + 20 + 400


def test_nested_stack_created_only_under_other_parameter_values(cli, tmp_path: Path) -> None:
    """A nested stack whose Condition is false under the defaults but true for an allowed value
    is evaluated under that value, and its findings say when it exists (issue 15, pattern 4)."""
    write(
        tmp_path,
        "parent.yaml",
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          WithWorkers:
            Type: String
            Default: "no"
            AllowedValues: ["yes", "no"]
          Never:
            Type: String
            Default: "a"
            AllowedValues: ["a"]
        Conditions:
          Workers: !Equals [!Ref WithWorkers, "yes"]
          Impossible: !Equals [!Ref Never, "b"]
        Resources:
          Workers:
            Type: AWS::CloudFormation::Stack
            Condition: Workers
            Properties:
              TemplateURL: stacks/workers.yaml
              Parameters:
                HopLimit: "4"
          Ghost:
            Type: AWS::CloudFormation::Stack
            Condition: Impossible
            Properties:
              TemplateURL: https://example.com/ghost.yaml
        """,
    )
    write(tmp_path, "stacks/workers.yaml", CHILD)
    run = cli("check", "--format", "json", "parent.yaml", cwd=tmp_path)
    got = [(f["rule_id"], f["resource"], f["line"]) for f in run.json()["findings"]]
    assert got == [("IMDS003", "Workers/WorkerTemplate", 21)]  # the HopLimit passed
    assert "exists only when condition Workers is true" in run.json()["findings"][0]["message"]
