"""A tree of guardrail policies for docs/benchmarks.md (issue 18): ``N`` account directories,
each with an ``aws_organizations_policy`` written with ``jsonencode`` (tokens and hop-limit
statements; the hop limit 1, 2 or 3), an ``aws_iam_policy_document`` used by a second policy
(``ec2:RoleDelivery`` with ``NumericLessThan``, or ``StringEquals`` in every other directory),
an ``aws_instance`` (optional tokens in every fourth) and a JSON SCP file (``Resource`` ``*`` in
every fifth).

    python scripts/bench_guardrails.py /tmp/guardtree 200
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MAIN = """\
resource "aws_organizations_policy" "imds_{i}" {{
  name = "imds-{i}"
  content = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{
        Sid       = "RequireImdsV2"
        Effect    = "Deny"
        Action    = "ec2:RunInstances"
        Resource  = "arn:aws:ec2:*:*:instance/*"
        Condition = {{ StringNotEquals = {{ "ec2:MetadataHttpTokens" = "required" }} }}
      }},
      {{
        Sid       = "MaxHop"
        Effect    = "Deny"
        Action    = "ec2:RunInstances"
        Resource  = "arn:aws:ec2:*:*:instance/*"
        Condition = {{ NumericGreaterThan = {{ "ec2:MetadataHttpPutResponseHopLimit" = "{hop}" }} }}
      }},
    ]
  }})
}}

data "aws_iam_policy_document" "role_delivery_{i}" {{
  statement {{
    sid       = "DenyV1Credentials"
    effect    = "Deny"
    actions   = ["*"]
    resources = ["*"]
    condition {{
      test     = "{operator}"
      variable = "ec2:RoleDelivery"
      values   = ["2.0"]
    }}
  }}
}}

resource "aws_organizations_policy" "role_delivery_{i}" {{
  name    = "role-delivery-{i}"
  content = data.aws_iam_policy_document.role_delivery_{i}.json
}}

resource "aws_instance" "bastion_{i}" {{
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  metadata_options {{
    http_tokens = "{tokens}"
  }}
}}
"""


def generate(root: Path, count: int) -> None:
    for i in range(count):
        directory = root / "accounts" / f"ou-{i:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "main.tf").write_text(
            MAIN.format(
                i=i,
                hop=1 + i % 3,
                operator="NumericLessThan" if i % 2 else "StringEquals",
                tokens="required" if i % 4 else "optional",
            )
        )
        resource = "arn:aws:ec2:*:*:instance/*" if i % 5 else "*"
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyImdsV1",
                    "Effect": "Deny",
                    "Action": "ec2:RunInstances",
                    "Resource": resource,
                    "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
                },
                {
                    "Sid": "DenyLeave",
                    "Effect": "Deny",
                    "Action": "organizations:LeaveOrganization",
                    "Resource": "*",
                },
            ],
        }
        (directory / "scp.json").write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200)
