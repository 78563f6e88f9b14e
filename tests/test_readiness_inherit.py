"""``imds-iac report`` and launch-template inheritance: a target that launches from a template
gets no finding of its own for what it takes from it (the template's findings name it), and the
report judges it on the template's findings (imds_iac_checks/report/readiness.py, ``_inherited``).

Regression: a launch template without metadata options whose user data calls IMDSv1, an Auto
Scaling group and an instance launching from it: the report said both were secure ("3 of 5
targets already require IMDSv2") while IMDS007 said they still allow IMDSv1."""

from __future__ import annotations

import re
from pathlib import Path

from imds_iac_checks.report import readiness
from tests.conftest import write
from tests.test_readiness import _text, scanned

WEAK_TEMPLATE = """
resource "aws_launch_template" "lt" {
  name_prefix   = "app-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  user_data     = base64encode(file("user-data.sh"))
}

resource "aws_autoscaling_group" "asg" {
  min_size = 1
  max_size = 2
  launch_template {
    id      = aws_launch_template.lt.id
    version = "$Latest"
  }
}

resource "aws_instance" "from_lt" {
  launch_template {
    id = aws_launch_template.lt.id
  }
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "api" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}
"""

USER_DATA = """
#!/bin/bash
REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)
echo "$REGION" > /etc/region
"""

# Templates that are weak in the hop limit alone, or that cannot be evaluated; targets that
# override them in part, and targets whose template is not in the module.
OVERRIDES = """
variable "tokens" {
  type = string
}

data "aws_launch_template" "shared" {
  name = "shared"
}

resource "aws_launch_template" "hop" {
  name_prefix = "hop-"
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3
  }
}

resource "aws_instance" "own_tokens" {
  launch_template {
    id = aws_launch_template.hop.id
  }
  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "own_all" {
  launch_template {
    id = aws_launch_template.hop.id
  }
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_instance" "endpoint_off" {
  launch_template {
    id = aws_launch_template.hop.id
  }
  metadata_options {
    http_endpoint = "disabled"
  }
}

resource "aws_launch_template" "unknown" {
  name_prefix = "unknown-"
  metadata_options {
    http_tokens = var.tokens
  }
}

resource "aws_autoscaling_group" "from_unknown" {
  min_size = 1
  max_size = 2
  launch_template {
    id = aws_launch_template.unknown.id
  }
}

resource "aws_instance" "own_over_unknown" {
  launch_template {
    id = aws_launch_template.unknown.id
  }
  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "unlinked" {
  launch_template {
    id = data.aws_launch_template.shared.id
  }
}

resource "aws_autoscaling_group" "elsewhere" {
  min_size = 1
  max_size = 2
  launch_template {
    name = "not-in-this-module"
  }
}
"""


def weak_template(tmp_path: Path) -> Path:
    write(tmp_path, "app/main.tf", WEAK_TEMPLATE)
    write(tmp_path, "app/user-data.sh", USER_DATA)
    return tmp_path


def test_targets_of_a_weak_template_are_weak_through_it_in_json(tmp_path: Path, cli) -> None:
    run = cli("report", "--format", "json", ".", cwd=weak_template(tmp_path))
    assert run.code == 0, run.err
    doc = run.json()
    (group,) = doc["groups"]
    rows = {t["address"]: t for t in group["targets"]}
    got = {a: (t["state"], t["rules"], t["through"], t["inherited_rules"]) for a, t in rows.items()}
    assert got == {
        "aws_launch_template.lt": ("weak", ["IMDS001"], [], []),
        "aws_autoscaling_group.asg": ("weak", [], ["aws_launch_template.lt"], ["IMDS001"]),
        "aws_instance.from_lt": ("weak", [], ["aws_launch_template.lt"], ["IMDS001"]),
        "aws_instance.web": ("secure", [], [], []),
        "aws_instance.api": ("secure", [], [], []),
    }
    # Requiring tokens on the template breaks the curl on all three: the fix is unsafe.
    for address in ("aws_launch_template.lt", "aws_autoscaling_group.asg", "aws_instance.from_lt"):
        assert rows[address]["blocked_by"] == ["app/user-data.sh:2"]
        assert rows[address]["fix"] == "unsafe"
    assert rows["aws_instance.web"]["fix"] is None
    # Each target counted once, in one state; the template's finding fixed (and counted) once.
    summary = group["summary"]
    assert (summary["targets"], summary["secure"], summary["weak"], summary["unknown"]) == (
        5,
        2,
        3,
        0,
    )
    assert summary["fixes"] == {"safe": 0, "unsafe": 2, "manual": 0}  # IMDS001 and IMDS007
    totals = {k: v for k, v in doc["summary"].items() if k in summary}
    assert totals == summary  # one group: its totals are the report's
    assert doc["verdict"].startswith(
        "2 of 5 targets already require IMDSv2; 1 IMDSv1 call blocks 3"
    )


def test_report_states_agree_with_check(tmp_path: Path, cli) -> None:
    """The targets the report calls weak are the ones `check`'s findings name (on them, or as
    users of the template they are on); the targets it counts are those `check` scanned."""
    tree = weak_template(tmp_path)
    check = cli("check", "--format", "json", ".", cwd=tree).json()
    named = set()
    for f in check["findings"]:
        named.add(f["resource"])
        used = re.search(r"\(launch template of ([^)]*)\)", f["message"])
        named |= set(used.group(1).split(", ")) if used else set()
        ran = re.search(r"this user data runs on (.*), which", f["message"])
        named |= {n.split(" (")[0] for n in ran.group(1).split("), ")} if ran else set()
    doc = cli("report", "--format", "json", ".", cwd=tree).json()
    rows = [t for g in doc["groups"] for t in g["targets"]]
    assert {t["address"] for t in rows if t["state"] != "secure"} == named
    assert doc["summary"]["instances"] == check["summary"]["targets"] == 5
    assert doc["summary"]["targets"] == len(rows) == 5


def test_markdown_headline_and_rows_name_the_template(tmp_path: Path, cli) -> None:
    run = cli("report", ".", cwd=weak_template(tmp_path))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[2].startswith("**2 of 5 targets already require IMDSv2; 1 IMDSv1 call blocks 3 ")
    assert "| 5 | 2 | 3 | 0 | 1 | 3 | 0 | 2 | 0 |" in lines
    asg = next(line for line in lines if line.startswith("| aws\\_autoscaling\\_group.asg |"))
    assert "| weak through aws\\_launch\\_template.lt |" in asg
    assert "IMDS001.md) (inherited)" in asg


def test_html_counts_the_inheriting_targets_weak(tmp_path: Path) -> None:
    from imds_iac_checks.report import readiness_html

    model = readiness.build(scanned(weak_template(tmp_path)))
    page = _text(readiness_html.write, model)
    # The totals and the group's row: 5 targets, 2 secure, 3 weak, 0 unknown.
    assert re.search(r'class="secure"><span class="n">2</span>', page), page[:3000]
    assert re.search(r'class="weak"><span class="n">3</span>', page)
    bars = dict(re.findall(r'<rect class="(\w+)" x="[\d.]+" y="\d+" width="([\d.]+)"', page))
    assert float(bars["weak"]) == 1.5 * float(bars["secure"])
    assert "weak through aws_launch_template.lt" in page
    assert "IMDS001 (inherited)" in page


def test_what_a_target_sets_itself_overrides_the_template(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", OVERRIDES)
    model = readiness.build(scanned(tmp_path))
    (group,) = model.groups
    rows = {t.address: t for t in group.targets}
    got = {a: (t.state, t.rules, t.through, t.inherited) for a, t in rows.items()}
    assert got == {
        "aws_launch_template.hop": ("weak", ("IMDS003",), (), ()),
        # Tokens of its own; the hop limit it leaves out is the template's, too high.
        "aws_instance.own_tokens": ("weak", (), ("aws_launch_template.hop",), ("IMDS003",)),
        "aws_instance.own_all": ("secure", (), (), ()),
        "aws_instance.endpoint_off": ("secure", (), (), ()),
        "aws_launch_template.unknown": ("unknown", ("IMDS004",), (), ()),
        "aws_autoscaling_group.from_unknown": (
            "unknown",
            (),
            ("aws_launch_template.unknown",),
            ("IMDS004",),
        ),
        "aws_instance.own_over_unknown": ("secure", (), (), ()),
        # Tokens absent, the template not found: IMDS004 on the target itself.
        "aws_instance.unlinked": ("unknown", ("IMDS004",), (), ()),
        "aws_autoscaling_group.elsewhere": ("unknown", ("IMDS004",), (), ()),
    }
    assert readiness.state_text(rows["aws_instance.own_tokens"]) == (
        "weak through aws_launch_template.hop (what it does not set itself)"
    )
    assert readiness.state_text(rows["aws_autoscaling_group.from_unknown"]) == (
        "unknown through aws_launch_template.unknown"
    )
    assert rows["aws_instance.own_tokens"].fix == "safe"  # fixing the template's hop limit
    c = model.counts
    assert (c.targets, c.secure, c.weak, c.unknown) == (9, 3, 2, 4)
    assert model.fixes == readiness.Fixes(safe=1, unsafe=0, manual=3)  # each finding once
