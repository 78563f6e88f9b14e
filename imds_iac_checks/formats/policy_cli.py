"""Organizations policies in the AWS CLI's JSON: what ``aws organizations create-policy
--cli-input-json file://...`` (and ``update-policy``) takes, and the ``describe-policy`` output
an organisation exports its policies with.

Both hold the document as a JSON string, ``Content``, next to its ``Type``::

    {"Name": "imdsv2", "Type": "SERVICE_CONTROL_POLICY", "Content": "{\\"Version\\": ..."}
    {"Policy": {"PolicySummary": {"Name": ..., "Type": ...}, "Content": "{...}"}}

A service or resource control policy is read into a :class:`~imds_iac_checks.model.Policy`, an
EC2 declarative policy into its account-defaults target (see
:mod:`imds_iac_checks.formats.declarative`), through the string as
:mod:`imds_iac_checks.formats.policy_cfn` reads a template's ``Content``. ``describe-policy``
output records the policy as AWS holds it: nothing in it is edited.
"""

from __future__ import annotations

from imds_iac_checks.formats.doc import MAP, SCALAR, DNode, Locator
from imds_iac_checks.model import Policy, ScanError, Target

FORMAT = "aws-cli-json"

_TYPES = frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "DECLARATIVE_POLICY_EC2"})

_RECORDED = (
    "describe-policy output records the policy: change it where it is written (or with aws "
    "organizations update-policy) and export it again"
)


def read(
    shown: str, root: DNode, locator: Locator
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The policy an Organizations CLI document holds (a reader of
    :data:`imds_iac_checks.formats.policy._DATA_READERS`)."""
    from imds_iac_checks.formats.policy_cfn import Reader

    if root.kind != MAP:
        return [], [], []
    holder, summary, no_fix = root, root, ""
    described = root.get("Policy")
    if described is not None and described.kind == MAP:  # describe-policy output
        found = described.get("PolicySummary")
        holder, no_fix = described, _RECORDED
        summary = found if found is not None and found.kind == MAP else described
    content = holder.get("Content")
    policy_type = _text(summary.get("Type"))
    if content is None or content.kind != SCALAR or policy_type not in _TYPES:
        return [], [], []
    name = _text(summary.get("Name")) or _text(summary.get("Id")) or shown
    key = holder.key_node("Content")
    span = locator.span(key.start if key is not None else content.start, content.end)
    reader = Reader(shown, root, locator, FORMAT, no_fix)
    reader.typed(name, holder, span, content, policy_type)
    return reader.policies, reader.targets, reader.errors


def _text(node: DNode | None) -> str:
    if node is None or node.kind != SCALAR or node.tag is not None or node.value is None:
        return ""
    return str(node.value)
