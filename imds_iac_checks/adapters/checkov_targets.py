"""checkov's parsed configuration into imds-iac Targets, for the checkov plugin.

The checks in :mod:`imds_iac_checks.adapters.checkov` (loaded by checkov from
``--external-checks-dir``) hand each resource's ``conf`` to this module, which turns it into
:class:`~imds_iac_checks.model.Target` objects and runs the same engine as ``imds-iac check``.
Nothing here imports checkov: the conversion works on plain dicts and lists, so it is tested
without checkov, and the core never depends on it.

What checkov hands a resource check:

* **Terraform** (HCL and plan JSON): every attribute wrapped in a list (``{'metadata_options':
  [{'http_tokens': ['optional']}]}``). checkov has already substituted the variables, locals and
  module inputs it could resolve, rendered ``dynamic`` blocks and expanded ``count``/``for_each``;
  what it could not resolve stays as expression text (``'var.tokens'``, ``'${var.x}'``,
  ``'var.legacy ? "optional" : "required"'``), which is *unknown* here, except that a
  conditional with literal branches becomes both branches, as ``imds-iac check`` reads it. A plan
  resource comes from ``planned_values``; values known only after apply are absent, or
  ``'true_after_unknown'`` when checkov runs with ``EVAL_TF_PLAN_AFTER_UNKNOWN`` (unknown here).
* **CloudFormation**: the resource mapping (``Type``, ``Properties``) with checkov's
  ``__file__``/``__startline__``/``__endline__`` keys. checkov has resolved ``Ref`` to parameters
  with a ``Default`` and ``Fn::FindInMap``; ``Fn::If`` is read here as its two branches and
  ``Ref: AWS::NoValue`` as "not set"; any other intrinsic is unknown.

A check's verdict (:func:`verdict`) is ``FAILED`` when the engine reports the check's rule,
``UNKNOWN`` when it does not but the setting the rule reads could not be evaluated (what
``imds-iac check`` reports as IMDS004; checkov leaves UNKNOWN results out of its report, as it does
for its own checks on variable-dependent values), else ``PASSED``. Spans are placeholders: checkov
reports the resource's file and lines itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from imds_iac_checks import engine
from imds_iac_checks.formats import cloudformation
from imds_iac_checks.formats.doc import MAP, DNode
from imds_iac_checks.formats.terraform import kinds as terraform_kinds
from imds_iac_checks.formats.terraform.kinds import TEMPLATE_USERS
from imds_iac_checks.model import (
    IMDS_SUPPORT,
    KindSpec,
    Link,
    LinkKind,
    Policy,
    Scalar,
    Span,
    Target,
    Value,
    normalize,
)
from imds_iac_checks.rules import OPTIONS_BLOCK, REGISTRY, unevaluable
from imds_iac_checks.rules.base import NOT_JUDGED

# --- the checks ---------------------------------------------------------------------------------

HOP_LIMIT_ENV = "IMDS_IAC_HOP_LIMIT"


def rule_ids(framework: str | None = None) -> tuple[str, ...]:
    """The rules that are checkov checks: every registered rule with a checkov id (that judges
    some resource type of ``framework``, "terraform" or "cloudformation", when given)."""
    return tuple(
        rule.id
        for rule in REGISTRY.values()
        if rule.checkov
        and (
            framework is None
            or (terraform_types if framework == "terraform" else cloudformation_types)(rule.id)
        )
    )


class CheckInfo(NamedTuple):
    rule_id: str
    check_id: str
    name: str
    guideline: str


def check_id(rule_id: str) -> str:
    """The checkov check id of a rule (``CKV_IMDS_2``)."""
    check = REGISTRY[rule_id].checkov
    if check is None:
        raise KeyError(f"{rule_id} is not a checkov check")
    return check


def check_info(rule_id: str) -> CheckInfo:
    """The id, name and guideline a check shows in checkov's output."""
    rule = REGISTRY[rule_id]
    return CheckInfo(
        rule_id,
        check_id(rule_id),
        f"{rule.title} (imds-iac {rule_id})",
        rule.url,
    )


def hop_limit() -> int:
    """The IMDS003 threshold: ``IMDS_IAC_HOP_LIMIT`` (1-64), else imds-iac's default."""
    text = os.environ.get(HOP_LIMIT_ENV, "").strip()
    if not text:
        return engine.DEFAULT_HOP_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{HOP_LIMIT_ENV}={text!r} is not a whole number from 1 to 64") from None
    if not 1 <= value <= 64:
        raise ValueError(f"{HOP_LIMIT_ENV}={text!r} is not a whole number from 1 to 64")
    return value


# Kinds with metadata options of their own (launcher kinds are judged by IMDS006 only, not a
# rule of the plugins); AMIs (imds_support) are IMDS009's alone.
TERRAFORM_TYPES = tuple(
    kind
    for kind, spec in terraform_kinds.KINDS.items()
    if not spec.remedy and spec.plugins and IMDS_SUPPORT not in spec.fields
)
AMI_TYPES = tuple(
    kind
    for kind, spec in terraform_kinds.KINDS.items()
    if not spec.remedy and spec.plugins and IMDS_SUPPORT in spec.fields
)
CLOUDFORMATION_TYPES = tuple(
    sorted(
        kind
        for kind in cloudformation.TYPES
        if kind not in cloudformation.KINDS or cloudformation.KINDS[kind].spec.plugins
    )
)


# AWS Organizations policies: a service control policy's statements are judged by the rules
# with a ``policy`` check, an EC2 declarative policy's account defaults by the rules on the
# settings it can set (see :func:`organizations_verdict`).
TERRAFORM_POLICY = "aws_organizations_policy"
CLOUDFORMATION_POLICY = "AWS::Organizations::Policy"


def _judges_policies(rule_id: str) -> bool:
    return REGISTRY[rule_id].policy is not None


def _judges_defaults(rule_id: str) -> bool:
    """Does the rule judge settings an EC2 declarative policy sets (its account defaults)?"""
    from imds_iac_checks.formats import declarative

    rule = REGISTRY[rule_id]
    judged = _judged(rule_id)
    return (
        rule.policy is None
        and OPTIONS_BLOCK not in rule.reads
        and bool(judged)
        and all(key in declarative.SPEC.fields for key in judged)
    )


def terraform_types(rule_id: str) -> tuple[str, ...]:
    """The Terraform resource types a rule's check runs on: ``aws_organizations_policy`` for a
    rule that judges policies (and for the rules on the account defaults a declarative policy
    sets), AMIs for the AMI rule (IMDS009), the kinds with metadata options for the others."""
    if _judges_policies(rule_id):
        return (TERRAFORM_POLICY,)
    if IMDS_SUPPORT in REGISTRY[rule_id].reads:
        return AMI_TYPES
    return TERRAFORM_TYPES + ((TERRAFORM_POLICY,) if _judges_defaults(rule_id) else ())


def cloudformation_types(rule_id: str) -> tuple[str, ...]:
    """The CloudFormation resource types a rule's check runs on (none registers an AMI)."""
    if _judges_policies(rule_id):
        return (CLOUDFORMATION_POLICY,)
    if IMDS_SUPPORT in REGISTRY[rule_id].reads:
        return ()
    return CLOUDFORMATION_TYPES + ((CLOUDFORMATION_POLICY,) if _judges_defaults(rule_id) else ())


PASSED, FAILED, UNKNOWN = "PASSED", "FAILED", "UNKNOWN"


def verdict(targets: Iterable[Target], rule_id: str, hop: int | None = None) -> str:
    """``FAILED`` if the engine reports ``rule_id`` on any target; otherwise ``UNKNOWN`` if a
    setting the rule reads could not be evaluated (IMDS004), else ``PASSED``."""
    ctx = engine.Context(hop_limit=hop if hop is not None else hop_limit())
    uncertain = False
    for target in targets:
        if engine.evaluate(target, ctx, (rule_id,)):
            return FAILED
        uncertain = uncertain or _uncertain(target, ctx, rule_id)
    return UNKNOWN if uncertain else PASSED


def _judged(rule_id: str) -> tuple[str, ...]:
    """The settings a rule judges (not the options block itself)."""
    return tuple(key for key in REGISTRY[rule_id].reads if key != OPTIONS_BLOCK)


def evaluated_keys(framework: str, entity_type: str, rule_id: str) -> list[str]:
    """The attributes a check reads, as checkov reports them (``metadata_options/[0]/http_tokens``,
    ``Properties/MetadataOptions/HttpTokens``)."""
    spec: KindSpec | None
    if entity_type in (TERRAFORM_POLICY, CLOUDFORMATION_POLICY):
        return ["Properties/Content" if framework == "cloudformation" else "content"]
    if framework == "cloudformation":
        kind = cloudformation.KINDS.get(entity_type)
        spec, block = (kind.spec, "/".join(("Properties", *kind.path))) if kind else (None, "")
        prefix = block
    else:
        spec = terraform_kinds.KINDS.get(entity_type)
        block = (spec.block or "") if spec is not None else ""
        prefix = f"{block}/[0]" if block else ""
    if spec is None:
        return []
    if OPTIONS_BLOCK in REGISTRY[rule_id].reads:
        return [block] if spec.needs_block and spec.block else []
    if not all(k in spec.fields for k in _judged(rule_id)):
        return []
    rule = REGISTRY[rule_id]
    keys = [k for k in (*rule.silenced_by, *_judged(rule_id)) if k in spec.fields]
    return ["/".join(filter(None, (prefix, spec.fields[key]))) for key in keys]


def _uncertain(target: Target, ctx: engine.Context, rule_id: str) -> bool:
    if target.unknown_block is not None:  # unless the rule reads a field this kind lacks
        return all(key in target.spec.fields for key in _judged(rule_id))
    reads = _judged(rule_id)
    found = engine.evaluate(target, ctx, (unevaluable().id,))
    return any(finding.setting in reads for finding in found)


# --- values -------------------------------------------------------------------------------------

SPAN = Span("", 0, 0, 1, 1, 1, 1)
"""Every Value and Target points here: checkov reports the resource's own lines."""


def _literal(spec: KindSpec, key: str, raw: Scalar | None, condition: str | None) -> Value | None:
    """A known Value, or None when it means "not set" outside a conditional branch (as the
    format adapters read literals)."""
    canonical, problem = normalize(spec, key, raw)
    link = (Link(SPAN, LinkKind.LITERAL),)
    text = json.dumps(raw)
    if canonical is None and problem is None:
        if condition is None:
            return None
        return Value(True, None, None, text, link, condition)
    return Value(True, canonical, raw, text, link, condition, problem)


def _unknown(expression: str, condition: str | None = None) -> Value:
    return Value(False, None, None, expression, (Link(SPAN, LinkKind.EXPRESSION),), condition)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(_clean(value), default=str)
    except ValueError:
        return str(value)


def _clean(value: Any) -> Any:
    """checkov's bookkeeping keys removed (for messages)."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items() if not _bookkeeping(k)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _bookkeeping(key: object) -> bool:
    return isinstance(key, str) and (
        (key.startswith("__") and key.endswith("__")) or key in ("start_line", "end_line")
    )


# Reads one setting as checkov presents it: (spec, key, value, condition) -> its Values.
Read = Callable[[KindSpec, str, Any, "str | None"], "list[Value]"]


def _settings(
    spec: KindSpec, options: Mapping[str, Any], read: Read
) -> dict[str, tuple[Value, ...]]:
    settings: dict[str, tuple[Value, ...]] = {}
    for key, field in spec.fields.items():
        if field not in options:
            continue
        values = read(spec, key, options[field], None)
        if values:
            settings[key] = tuple(values)
    return settings


def _target(
    spec: KindSpec,
    address: str,
    fmt: str,
    *,
    block: bool,
    settings: dict[str, tuple[Value, ...]] | None = None,
    unknown_block: Value | None = None,
    template_ref: Value | None = None,
    recorded_state: bool = False,
) -> Target:
    return Target(
        spec=spec,
        address=address,
        path="",
        span=SPAN,
        header=SPAN,
        block_span=SPAN if block else None,
        settings=settings or {},
        format=fmt,
        recorded_state=recorded_state,
        unknown_block=unknown_block,
        template_ref=template_ref,
    )


# --- Terraform ----------------------------------------------------------------------------------

TRUE_AFTER_UNKNOWN = "true_after_unknown"  # checkov's marker for a plan value known after apply

# Expression text checkov leaves when it cannot resolve a value: interpolation, a reference
# (var.x, local.x, module.m.out, each.value, aws_x.y.id), a function call, an index, a conditional.
_EXPRESSION = re.compile(
    r"\$\{|%\{|^\s*[A-Za-z_][\w-]*\s*(?:\.\s*[A-Za-z_*\[]|\(|\[)|\?.*:|[()\[\]{}]"
)


def _unwrap(value: Any) -> Any:
    """checkov wraps every Terraform attribute in a list: ``['optional']`` -> ``'optional'``."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _tf_values(spec: KindSpec, key: str, wrapped: Any, condition: str | None) -> list[Value]:
    value = _unwrap(wrapped)
    if value is None or isinstance(value, (bool, int, float)):
        literal = _literal(spec, key, value, condition)
        return [literal] if literal is not None else []
    if not isinstance(value, str):
        return [_unknown(_show(value), condition)]
    if value == TRUE_AFTER_UNKNOWN:
        return [_unknown("(known after apply)", condition)]
    text = value.strip()
    inner = re.fullmatch(r"\$\{(.*)\}", text, re.S)
    if inner is not None and "${" not in inner.group(1):
        text = inner.group(1).strip()
    branches = _conditional(text)
    if branches is not None and condition is None:
        test, when_true, when_false = branches
        out: list[Value] = []
        for branch, label in ((when_true, "true"), (when_false, "false")):
            out.extend(_hcl_branch(spec, key, branch, f"{test} is {label}"))
        return out
    if _EXPRESSION.search(value):
        return [_unknown(text, condition)]
    literal = _literal(spec, key, value, condition)
    return [literal] if literal is not None else []


def _hcl_branch(spec: KindSpec, key: str, text: str, condition: str) -> list[Value]:
    """One branch of a conditional as checkov leaves it: HCL literal text."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    nested = _conditional(text)
    if nested is not None:  # a ? "x" : b ? "y" : "z"
        test, when_true, when_false = nested
        return [
            *_hcl_branch(spec, key, when_true, f"{condition} and {test} is true"),
            *_hcl_branch(spec, key, when_false, f"{condition} and {test} is false"),
        ]
    raw: Scalar | None
    if text == "null":
        raw = None
    elif text in ("true", "false"):
        raw = text == "true"
    elif re.fullmatch(r'"(?:[^"\\$%]|\\.)*"', text):
        try:
            raw = json.loads(text)
        except ValueError:
            return [_unknown(text, condition)]
    elif re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        raw = float(text) if "." in text else int(text)
    else:
        return [_unknown(text, condition)]
    literal = _literal(spec, key, raw, condition)
    return [literal] if literal is not None else []


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _conditional(text: str) -> tuple[str, str, str] | None:
    """``cond ? a : b`` split at its top-level ``?`` and ``:`` (quotes and brackets respected)."""
    depth, question, quoted, escaped = 0, -1, False, False
    nested = 0
    for i, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char == "?":
            if question < 0:
                question = i
            else:
                nested += 1
        elif depth == 0 and char == ":" and question >= 0:
            if nested:
                nested -= 1
                continue
            return text[:question].strip(), text[question + 1 : i], text[i + 1 :]
    return None


def _tf_blocks(conf: Mapping[str, Any], name: str) -> tuple[Mapping[str, Any] | None, Any]:
    """The first ``name`` block as checkov presents it, or the expression that stands for it.

    Returns ``(block, None)``, ``(None, expression)`` when the block is not a literal block
    (a value known only after apply), or ``(None, None)`` when there is none."""
    if _empty_dynamic(conf, name):
        return None, None
    raw = conf.get(name)
    if raw is None:
        return None, None
    items = raw if isinstance(raw, list) else [raw]
    other: Any = None
    for item in items:
        for inner in item if isinstance(item, list) else [item]:
            if isinstance(inner, Mapping):
                return inner, None
            if inner is not None and other is None:
                other = inner
    return None, other


def _empty_dynamic(conf: Mapping[str, Any], name: str) -> bool:
    """A ``dynamic`` block over an empty collection: Terraform creates no block, but checkov
    still copies its ``content`` into the resource."""
    dynamic = conf.get("dynamic")
    for entry in dynamic if isinstance(dynamic, list) else []:
        spec = entry.get(name) if isinstance(entry, Mapping) else None
        if isinstance(spec, Mapping) and "content" in spec and "for_each" in spec:
            for_each = _unwrap(spec["for_each"])
            if isinstance(for_each, (list, Mapping)) and not for_each:
                return True
    return False


def terraform_target(conf: Mapping[str, Any], entity_type: str) -> Target | None:
    """The Target of one Terraform resource (HCL or plan) as checkov parsed it."""
    spec = terraform_kinds.KINDS.get(entity_type)
    if spec is None:
        return None
    plan = "__change_actions__" in conf or "__file__" in conf
    fmt = "terraform-plan" if plan else "terraform"
    address = str(conf.get("__address__") or entity_type)
    template_ref = None
    if entity_type in TEMPLATE_USERS and not plan:  # as imds-iac reads plans: no inheritance
        ref, _ = _tf_blocks(conf, "launch_template")
        if ref is not None:
            text = _show(_unwrap(ref.get("id") or ref.get("name")))
            link = (Link(SPAN, LinkKind.TEMPLATE_REFERENCE),)
            template_ref = Value(True, text, text, text, link)
    if spec.block is None:
        settings = _settings(spec, conf, _tf_values)
        return _target(spec, address, fmt, block=True, settings=settings, recorded_state=plan)
    block, other = _tf_blocks(conf, spec.block)
    if block is None and other is not None:
        unknown = _unknown("(known after apply)" if other == TRUE_AFTER_UNKNOWN else _show(other))
        return _target(spec, address, fmt, block=True, unknown_block=unknown, recorded_state=plan)
    settings = _settings(spec, block, _tf_values) if block is not None else {}
    return _target(
        spec,
        address,
        fmt,
        block=block is not None,
        settings=settings,
        template_ref=template_ref,
        recorded_state=plan,
    )


# --- CloudFormation -----------------------------------------------------------------------------


def _intrinsic(node: Any) -> tuple[str, Any] | None:
    """``(name without "Fn::", argument)`` of an intrinsic function mapping, else None."""
    if not isinstance(node, Mapping):
        return None
    keys = [k for k in node if not _bookkeeping(k)]
    if len(keys) == 1 and isinstance(keys[0], str):
        key = keys[0]
        if key == "Ref" or key.startswith("Fn::"):
            return key.removeprefix("Fn::"), node[key]
    return None


def _cfn_values(spec: KindSpec, key: str, node: Any, condition: str | None) -> list[Value]:
    func = _intrinsic(node)
    if func is not None:
        name, arg = func
        if name == "Ref" and arg == "AWS::NoValue":
            literal = _literal(spec, key, None, condition)
            return [literal] if literal is not None else []
        if name == "If" and isinstance(arg, list) and len(arg) == 3:
            out: list[Value] = []
            for branch, label in ((arg[1], "true"), (arg[2], "false")):
                where = f"condition {_show(arg[0])} is {label}"
                if condition is not None:
                    where = f"{condition} and {where}"
                out.extend(_cfn_values(spec, key, branch, where))
            return out
        return [_unknown(_show(node), condition)]
    if node is None or isinstance(node, (str, bool, int, float)):
        raw: Scalar | None = str(node) if isinstance(node, str) else node
        literal = _literal(spec, key, raw, condition)
        return [literal] if literal is not None else []
    return [_unknown(_show(node), condition)]


def _cfn_target(spec: KindSpec, address: str, options: Any) -> Target:
    """A target whose options mapping is ``options`` (None: absent; an intrinsic or another
    non-mapping: unknown)."""
    if options is None:
        return _target(spec, address, cloudformation.FORMAT, block=False)
    if not isinstance(options, Mapping) or _intrinsic(options) is not None:
        return _target(
            spec,
            address,
            cloudformation.FORMAT,
            block=True,
            unknown_block=_unknown(_show(options)),
        )
    settings = _settings(spec, options, _cfn_values)
    return _target(spec, address, cloudformation.FORMAT, block=True, settings=settings)


def cloudformation_targets(conf: Mapping[str, Any], entity_type: str) -> list[Target]:
    """The Targets of one CloudFormation resource as checkov parsed it (an EC2 Fleet gives one
    per override that sets MetadataOptions)."""
    props = conf.get("Properties")
    address = entity_type
    if entity_type == cloudformation.FLEET.kind:
        return _fleet(props)
    if entity_type == cloudformation.EMR.kind:
        return [_emr(props)]
    kind = cloudformation.KINDS.get(entity_type)
    if kind is None:
        return []
    spec = kind.spec
    template_ref = None
    if entity_type == "AWS::EC2::Instance" and isinstance(props, Mapping):
        launch = props.get("LaunchTemplate")
        if isinstance(launch, Mapping):
            ref = launch.get("LaunchTemplateId") or launch.get("LaunchTemplateName")
            if ref is not None:
                text = _show(ref)
                template_ref = Value(
                    True, text, text, text, (Link(SPAN, LinkKind.TEMPLATE_REFERENCE),)
                )
    if not kind.path:  # settings on Properties itself; no Properties = nothing set
        target = _cfn_target(spec, address, props if props is not None else {})
        return [target]
    node: Any = props
    for step in kind.path:
        if node is None:
            break
        if not isinstance(node, Mapping) or _intrinsic(node) is not None:
            break
        node = node.get(step)
    target = _cfn_target(spec, address, node)
    return [target._replace(template_ref=template_ref)]


def _fleet(props: Any) -> list[Target]:
    configs = props.get("LaunchTemplateConfigs") if isinstance(props, Mapping) else None
    out: list[Target] = []
    for i, config in enumerate(configs if isinstance(configs, list) else []):
        overrides = config.get("Overrides") if isinstance(config, Mapping) else None
        for j, override in enumerate(overrides if isinstance(overrides, list) else []):
            options = override.get("MetadataOptions") if isinstance(override, Mapping) else None
            if options is not None:
                address = f"LaunchTemplateConfigs[{i}].Overrides[{j}]"
                out.append(_cfn_target(cloudformation.FLEET, address, options))
    return out


def _emr(props: Any) -> Target:
    spec = cloudformation.EMR
    config = props.get("SecurityConfiguration") if isinstance(props, Mapping) else None
    block = spec.block or ""
    if isinstance(config, str):  # the configuration as a JSON string
        try:
            data = json.loads(config)
        except ValueError:
            data = None
        imds = data.get(block) if isinstance(data, dict) else None
        if not isinstance(imds, dict):
            return _cfn_target(spec, spec.kind, None)
        literal = {k: v for k, v in imds.items() if not isinstance(v, (dict, list))}
        return _cfn_target(spec, spec.kind, literal)
    if config is None or not isinstance(config, Mapping) or _intrinsic(config) is not None:
        return _cfn_target(spec, spec.kind, config)
    return _cfn_target(spec, spec.kind, config.get(block))


# --- AWS Organizations policies -----------------------------------------------------------------

# A Terraform value checkov could not resolve: a reference, an interpolation, a function call.
_TF_REFERENCE = re.compile(
    r"\$\{|%\{|^\s*(?:var|local|module|data|each|count|path|terraform|self)\s*\.|^\s*[a-z_]\w*\("
)
# ``${...}`` of an ``Fn::Sub`` string: what is written there is substituted at deploy time.
_SUB_VARIABLE = re.compile(r"\$\{[^}]*\}")


def organizations_verdict(
    conf: Mapping[str, Any],
    framework: str,
    rule_id: str,
    hop: int | None = None,
) -> str:
    """The verdict of ``rule_id`` on an AWS Organizations policy as checkov parsed it (Terraform
    ``aws_organizations_policy``, CloudFormation ``AWS::Organizations::Policy``).

    The document (``content`` / ``Properties.Content``) is what checkov hands over: a mapping
    (CloudFormation YAML, or Terraform ``jsonencode({...})`` and heredocs, which checkov
    evaluates and parses), a JSON string, or the text of an expression checkov could not
    evaluate (``data.aws_iam_policy_document.x.json``, ``file(...)``): that is UNKNOWN. A service
    or resource control policy is judged by the rules with a ``policy`` check (FAILED when one
    reports a statement, UNKNOWN when a statement could only be reported as not judged); an EC2
    declarative policy's account defaults by the rules on their settings. A check that does not
    apply to the policy's type (a declarative policy for a statement rule, a tag policy) gives
    UNKNOWN: checkov leaves it out of its report."""
    from imds_iac_checks.formats import declarative

    if framework == "cloudformation":
        props = conf.get("Properties")
        props = props if isinstance(props, Mapping) else {}
        content, policy_type = props.get("Content"), props.get("Type")
        address, fmt = CLOUDFORMATION_POLICY, cloudformation.FORMAT
    else:
        content, policy_type = _unwrap(conf.get("content")), _unwrap(conf.get("type"))
        policy_type = "SERVICE_CONTROL_POLICY" if policy_type is None else policy_type
        address, fmt = str(conf.get("__address__") or TERRAFORM_POLICY), "terraform"
    if not isinstance(policy_type, str) or (
        framework != "cloudformation" and _TF_REFERENCE.search(policy_type)
    ):
        policy_type = ""  # an expression: read as the SCP it most likely is, as imds-iac does
    document = policy_document(content, framework)
    rule = REGISTRY[rule_id]
    ctx = engine.Context(hop_limit=hop if hop is not None else hop_limit())

    def nowhere(start: int, end: int) -> Span | None:
        return None  # checkov reports the resource's own lines

    if policy_type == declarative.POLICY_TYPE:
        if rule.policy is not None or document is None:
            return UNKNOWN
        targets = declarative.targets(
            document, nowhere, address=address, path="", whole=SPAN, format=fmt
        )
        return verdict(targets, rule_id, ctx.hop_limit) if targets else UNKNOWN
    if rule.policy is None or policy_type not in ("", *_STATEMENT_TYPES):
        return UNKNOWN
    what = _STATEMENT_TYPES.get(policy_type, "Organizations policy")
    return _statements_verdict(
        document, Policy(address, "", SPAN, what, fmt, (), policy_type), ctx, rule_id
    )


def _statements_verdict(
    document: DNode | None, policy: Policy, ctx: engine.Context, rule_id: str, partial: bool = False
) -> str:
    """The verdict of a rule with a ``policy`` check on a policy document: UNKNOWN when there
    is none to read or it names nothing a guardrail reads (as ``imds-iac check`` keeps only
    policies that name an IMDS key or the options-changing action: an organisation's other
    policies are not guardrails, and checkov need not list them as passed); FAILED when the
    rule reports a statement; UNKNOWN when it only says a statement could not be judged, or
    (``partial``) the document takes statements from elsewhere; else PASSED."""
    from imds_iac_checks.formats import policy as policies
    from imds_iac_checks.formats.doc import DocError

    check = REGISTRY[rule_id].policy
    if check is None or document is None or document.kind != MAP:
        return UNKNOWN
    try:
        text = json.dumps(document.plain(), default=str)
    except (DocError, ValueError):
        return UNKNOWN
    if not policies.worth(text.encode("utf-8", "replace")):
        return UNKNOWN

    def nowhere(start: int, end: int) -> Span | None:
        return None  # checkov reports the resource's own lines

    found = policies.statements(document.get("Statement"), nowhere, SPAN)
    findings = list(check(policy._replace(statements=found), ctx))
    if any(not (f.body or "").startswith(NOT_JUDGED) for f in findings):
        return FAILED
    return UNKNOWN if findings or partial else PASSED


# checkov's data check type for IAM policy documents written in Terraform.
TERRAFORM_DOCUMENT = "aws_iam_policy_document"
# The data source's statement arguments -> the policy document's keys.
_DOCUMENT_KEYS = {
    "sid": "Sid",
    "effect": "Effect",
    "actions": "Action",
    "not_actions": "NotAction",
    "resources": "Resource",
    "not_resources": "NotResource",
}


def document_rule_ids() -> tuple[str, ...]:
    """The checkov checks that also run on ``data "aws_iam_policy_document"``: the rules that
    judge policies."""
    return tuple(rule.id for rule in REGISTRY.values() if rule.checkov and rule.policy)


def document_verdict(conf: Mapping[str, Any], rule_id: str, hop: int | None = None) -> str:
    """The verdict of ``rule_id`` (a rule with a ``policy`` check) on a Terraform
    ``data "aws_iam_policy_document"`` as checkov parsed it: its ``statement`` blocks (``sid``,
    ``effect`` — ``Allow`` when absent, the data source's default —, ``actions``, ``resources``
    and their ``not_`` forms, ``condition { test, variable, values }``) read as the document
    they render. This is how the Terraform SCPs ``content = data.aws_iam_policy_document.x.json``
    get a verdict: checkov leaves that ``content`` as text. Statements merged from
    ``source_policy_documents`` / ``override_policy_documents`` are not at hand: without a
    failure of its own the document is UNKNOWN."""
    from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ

    def scalar(value: Any) -> DNode:
        return _tree(value, "terraform")

    def key(name: str) -> DNode:
        return DNode(SCALAR, 0, 0, name, quoted=True)

    statements: list[DNode] = []
    blocks = conf.get("statement")
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Mapping):
            statements.append(DNode(SCALAR, 0, 0, None, tag="expression"))
            continue
        items: list[tuple[DNode, DNode]] = []
        if "effect" not in block:
            items.append((key("Effect"), scalar("Allow")))
        for name, field in _DOCUMENT_KEYS.items():
            if name in block:
                value = block[name]
                value = value[0] if isinstance(value, list) and len(value) == 1 else value
                items.append((key(field), scalar(value)))
        conditions: list[tuple[DNode, DNode]] = []
        for condition in block.get("condition") or []:
            if not isinstance(condition, Mapping):
                continue
            test, variable = _unwrap(condition.get("test")), _unwrap(condition.get("variable"))
            values = condition.get("values")
            values = values[0] if isinstance(values, list) and len(values) == 1 else values
            by_key = DNode(MAP, 0, 0, items=[(scalar(variable), scalar(values))])
            conditions.append((scalar(test), by_key))  # one per block: blocks are ANDed
        if conditions:
            items.append((key("Condition"), DNode(MAP, 0, 0, items=conditions)))
        statements.append(DNode(MAP, 0, 0, items=items))
    document = DNode(MAP, 0, 0, items=[(key("Statement"), DNode(SEQ, 0, 0, items=statements))])
    partial = bool(conf.get("source_policy_documents") or conf.get("override_policy_documents"))
    address = str(conf.get("__address__") or TERRAFORM_DOCUMENT)
    policy = Policy(f"data.{address}", "", SPAN, "IAM policy document", "terraform", ())
    ctx = engine.Context(hop_limit=hop if hop is not None else hop_limit())
    return _statements_verdict(document, policy, ctx, rule_id, partial)


# The Organizations policy types whose documents hold IAM statements.
_STATEMENT_TYPES = {
    "SERVICE_CONTROL_POLICY": "service control policy",
    "RESOURCE_CONTROL_POLICY": "resource control policy",
}


def policy_document(content: Any, framework: str) -> DNode | None:
    """A policy document as checkov hands it over, as a tree :mod:`imds_iac_checks.formats.policy`
    reads: a JSON string parsed (its offsets are the string's), a mapping built with placeholder
    offsets (nothing of it is located: checkov reports the resource's lines). A value checkov
    could not evaluate is an expression node (its value unknown): Terraform references and
    interpolations, CloudFormation intrinsics (an ``Fn::Sub`` of a JSON string is read with
    each ``${...}`` unknown). None when there is no document to read."""
    from imds_iac_checks.formats.doc import DocError, parse_json

    sub = False
    if framework == "cloudformation" and isinstance(content, Mapping):
        func = _intrinsic(content)
        if func is not None:
            name, arg = func
            if name != "Sub":
                return None
            content = arg[0] if isinstance(arg, list) and arg else arg
            sub = True
            if not isinstance(content, str):
                return None
    if isinstance(content, str):
        if framework != "cloudformation" and _TF_REFERENCE.match(content.strip()):
            return None  # data.aws_iam_policy_document.x.json, ${file(...)}: not evaluated
        try:
            root = parse_json(content)
        except DocError:
            return None
        if sub:
            _unknown_strings(root, _SUB_VARIABLE)
        elif framework != "cloudformation":
            _unknown_strings(root, _TF_REFERENCE)
        return root
    if isinstance(content, (Mapping, list)):
        return _tree(content, framework)
    return None


def _tree(value: Any, framework: str, depth: int = 0) -> DNode:
    """Plain data as a positioned tree (every offset 0)."""
    from imds_iac_checks.formats.doc import SCALAR, SEQ, DocError

    if depth > 200:
        raise DocError("nesting too deep", 0)
    if isinstance(value, Mapping):
        func = _intrinsic(value) if framework == "cloudformation" else None
        if func is not None:
            name = "Ref" if func[0] == "Ref" else f"Fn::{func[0]}"
            return DNode(SCALAR, 0, 0, None, tag=name)
        items = [
            (DNode(SCALAR, 0, 0, str(k), quoted=True), _tree(v, framework, depth + 1))
            for k, v in value.items()
            if not _bookkeeping(k)
        ]
        return DNode(MAP, 0, 0, items=items)
    if isinstance(value, list):
        return DNode(SEQ, 0, 0, items=[_tree(v, framework, depth + 1) for v in value])
    if isinstance(value, str) and framework != "cloudformation" and _TF_REFERENCE.search(value):
        return DNode(SCALAR, 0, 0, None, tag="expression")
    if value is None or isinstance(value, (str, bool, int, float)):
        return DNode(SCALAR, 0, 0, value, quoted=isinstance(value, str))
    return DNode(SCALAR, 0, 0, None, tag="expression")


def _unknown_strings(root: DNode, pattern: re.Pattern[str]) -> None:
    """Strings of a parsed document that hold an expression become expression nodes."""
    from imds_iac_checks.formats.doc import SCALAR, SEQ

    stack = [root]
    while stack:
        node = stack.pop()
        if node.kind == MAP:
            stack.extend(value for _, value in node.items)
        elif node.kind == SEQ:
            stack.extend(node.items)
        elif node.kind == SCALAR and isinstance(node.value, str) and pattern.search(node.value):
            node.tag, node.value = "expression", None
