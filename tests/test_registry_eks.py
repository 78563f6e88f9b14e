"""The top-level terraform-aws-modules/eks/aws module called from the registry (issue 15,
pattern 1): each node group of ``eks_managed_node_groups`` / ``self_managed_node_groups`` is
judged with the metadata options that version of the module gives it (registry.EKS_ERAS)."""

from __future__ import annotations

from pathlib import Path

from imds_iac_checks.formats.terraform.registry import node_group_eras
from tests.conftest import findings, write

MNG = 'module.eks.module.eks_managed_node_group["{}"]'
SMG = 'module.eks.module.self_managed_node_group["{}"]'
LT = ".aws_launch_template.this[0]"

# As the module's README and examples/eks-managed-node-group write it (19.x/20.x).
V19 = """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "19.16.0"

  cluster_name    = "prod"
  cluster_version = "1.27"
  vpc_id          = "vpc-1234556abcdef"
  subnet_ids      = ["subnet-abcde012", "subnet-bcde012a"]

  eks_managed_node_group_defaults = {
    instance_types = ["m6i.large", "m5.large"]
  }

  eks_managed_node_groups = {
    blue = {}
    green = {
      min_size       = 1
      max_size       = 10
      desired_size   = 1
      instance_types = ["t3.large"]
      capacity_type  = "SPOT"
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }
    legacy = {
      metadata_options = {
        http_put_response_hop_limit = 1
      }
    }
    default_lt = {
      use_custom_launch_template = false
      disk_size                  = 50
    }
  }

  self_managed_node_group_defaults = {
    metadata_options = {
      http_endpoint               = "enabled"
      http_tokens                 = "optional"
      http_put_response_hop_limit = 1
    }
  }

  self_managed_node_groups = {
    one = {
      instance_type = "m5.large"
    }
    two = {
      instance_type = "m5.large"
      metadata_options = {
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }
  }
}
"""


def test_eks_19_node_groups(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", V19)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [
        # the group's own metadata_options replaces the default whole: tokens not set
        ("IMDS002", MNG.format("legacy") + LT, 1),
        # the module's default (local.metadata_options): hop limit 2, at the version
        ("IMDS003", MNG.format("blue") + LT, 3),
        # EKS's own launch template: at the argument that chooses it
        ("IMDS002", MNG.format("default_lt") + ".aws_eks_node_group.this[0]", 34),
        ("IMDS003", MNG.format("default_lt") + ".aws_eks_node_group.this[0]", 34),
        # the defaults input decides for a group that sets nothing
        ("IMDS002", SMG.format("one") + LT, 42),
    ]
    by = {(f["rule_id"], f["resource"]): f for f in run.json()["findings"]}
    blue = by["IMDS003", MNG.format("blue") + LT]
    assert (
        "module eks (terraform-aws-modules/eks/aws 19.16.0) default for node groups"
        in (blue["message"])
    )
    assert blue["fix"] is None and "node group's entry" in blue["fix_note"]
    own = by["IMDS002", MNG.format("default_lt") + ".aws_eks_node_group.this[0]"]
    assert "EKS's own launch template (use_custom_launch_template = false)" in own["message"]
    assert "IMDSv1" in own["message"]
    # a value in *_node_group_defaults is shared by every group that sets none: unsafe
    one = by["IMDS002", SMG.format("one") + LT]
    assert one["fix"] == "unsafe"
    assert "self_managed_node_group_defaults" in one["message"]


def test_eks_19_fix_adds_tokens_to_the_group(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", V19)
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 1  # findings left (defaults of the module, EKS's template)
    text = (tmp_path / "main.tf").read_text()
    assert (
        "    legacy = {\n"
        "      metadata_options = {\n"
        "        http_put_response_hop_limit = 1\n"
        '        http_tokens                 = "required"\n'
        "      }\n"
    ) in text
    after = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert ("IMDS002", MNG.format("legacy") + LT, 1) not in findings(after)


V18 = """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "18.31.2"

  cluster_name = "legacy"

  eks_managed_node_group_defaults = {
    metadata_options = {
      http_endpoint               = "enabled"
      http_tokens                 = "required"
      http_put_response_hop_limit = 1
    }
  }

  eks_managed_node_groups = {
    secure = {}
    default_lt = {
      create_launch_template = false
      launch_template_name   = ""
    }
    external = {
      create_launch_template = false
      launch_template_name   = "shared-template"
    }
  }
}
"""


def test_eks_18_defaults_and_own_template(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", V18)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS002", MNG.format("default_lt") + ".aws_eks_node_group.this[0]", 18),
        ("IMDS003", MNG.format("default_lt") + ".aws_eks_node_group.this[0]", 18),
        # a launch template made outside the module: could not look
        ("IMDS004", MNG.format("external") + ".aws_eks_node_group.this[0]", 22),
    ]
    assert 'launch_template_name = "shared-template"' in run.json()["findings"][2]["message"]


V20 = """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.8"

  cluster_name    = "apps"
  cluster_version = "1.29"

  eks_managed_node_groups = {
    general = {
      instance_types = ["m6i.large"]
    }
  }
}
"""


def test_eks_20_default_hop_limit(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", V20)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS003", MNG.format("general") + LT, 3)]
    assert "(terraform-aws-modules/eks/aws ~> 20.8)" in run.json()["findings"][0]["message"]
    # the same with hop limit 2 allowed: clean
    assert cli("check", "--hop-limit", "2", ".", cwd=tmp_path).code == 0


V21 = """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 21.0"

  name               = "apps"
  kubernetes_version = "1.33"

  eks_managed_node_groups = {
    general = {
      instance_types = ["m6i.large"]
    }
    pods = {
      metadata_options = {
        http_put_response_hop_limit = 2
      }
    }
    loose = {
      metadata_options = {
        http_tokens = "optional"
      }
    }
  }
}
"""


def test_eks_21_attributes_merge_with_secure_defaults(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", V21)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    # general: hop 1, tokens required (the submodule's optional() defaults); pods: tokens
    # still required (merged), only its hop limit is reported; loose: its own tokens
    assert findings(run) == [
        ("IMDS003", MNG.format("pods") + LT, 14),
        ("IMDS002", MNG.format("loose") + LT, 19),
    ]


def test_constraint_spanning_20_and_21_checks_both(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", V20.replace('"~> 20.8"', '">= 20.0"'))
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS003", MNG.format("general") + LT, 3)]
    assert "when module version 19.x-20.x" in run.json()["findings"][0]["message"]


def test_groups_that_cannot_be_evaluated_are_imds004(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        data "aws_ssm_parameter" "groups" {
          name = "/eks/groups"
        }

        module "eks" {
          source  = "terraform-aws-modules/eks/aws"
          version = "20.8.4"

          eks_managed_node_groups = {
            dynamic = {
              metadata_options = jsondecode(data.aws_ssm_parameter.groups.value)
            }
          }
          self_managed_node_groups = jsondecode(data.aws_ssm_parameter.groups.value)
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS004", MNG.format("dynamic") + LT, 11),
        ("IMDS004", "module.eks.module.self_managed_node_group.aws_launch_template.this", 14),
    ]


def test_eras_by_constraint() -> None:
    def labels(constraint: str | None) -> list[str]:
        eras = node_group_eras("terraform-aws-modules/eks/aws", constraint)
        assert eras is not None
        return [e.label for e in eras]

    assert labels("18.31.2") == ["18.x"]
    assert labels("19.16.0") == ["19.x-20.x"]
    assert labels("~> 20.0") == ["19.x-20.x"]
    assert labels(None) == ["21.x"]
    assert labels(">= 18.0") == ["18.x", "19.x-20.x", "21.x"]
    assert labels("~> 17.0") == []
    assert node_group_eras("registry.terraform.io/terraform-aws-modules/eks/aws", "21.1.0")
    assert node_group_eras("terraform-aws-modules/vpc/aws", "5.0.0") is None
