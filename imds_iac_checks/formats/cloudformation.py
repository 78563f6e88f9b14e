"""CloudFormation templates (YAML or JSON, hand-written, CDK- or SAM-generated) into Targets.

Values are literals, or resolved through the intrinsic functions a static reader can follow:
``Ref`` to a Parameter (its ``Default``; no default = unknown), ``Ref: AWS::NoValue`` (not set),
``Fn::If`` (both branches, each labelled with its condition) and ``Fn::FindInMap`` with literal
keys. Anything else (``Fn::Sub``, ``Fn::GetAtt``, ``Fn::ImportValue`` ...) is unknown and reported
as such. A finding points at the value, or at the resource's ``Type:`` when a setting is missing.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from imds_iac_checks import rules
from imds_iac_checks.formats.aws import EKS_AMIS_REQUIRING_TOKENS
from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, Locator, watch_duplicates
from imds_iac_checks.formats.structured import (
    API_FIELDS,
    API_SUGGEST,
    UNKNOWN,
    Part,
    hole,
    launches,
    literal_value,
    make_payload,
    option_settings,
    parts_of,
    read_settings,
    scalar_runs,
    unknown_value,
)
from imds_iac_checks.model import (
    HOP_LIMIT,
    TOKENS,
    TOO_COMPLEX,
    Decision,
    KindSpec,
    Link,
    LinkKind,
    Payload,
    ScanError,
    Span,
    Target,
    Value,
    compact,
    show,
)

FORMAT = "cloudformation"

# The Elastic Beanstalk option that requires IMDSv2 on an environment's instances.
BEANSTALK_OPTION = ("aws:autoscaling:launchconfiguration", "DisableIMDSv1")

# Bounds on evaluating one setting: alternatives carried (each with the conditions it assumes)
# and intrinsic functions nested.
MAX_ALTERNATIVES = 64
MAX_NESTING = 64
# Bound on the parameter values tried to find under which a resource whose Condition is false
# under the defaults exists (the product of the distinct values of each parameter it reads).
MAX_ASSIGNMENTS = 1024

# "Some value other than every literal the template compares this parameter with".
_OTHER = "\x00another value"

# One possible value and the conditions it assumes ((name, value), ...), outermost first.
Alternative = tuple[tuple[tuple[str, bool], ...], Value]

_UNSEEN = object()


class _TooComplex(Exception):
    pass


def _no_single(what: str, flippers: list[DNode], deciding: int) -> str:
    """Why no one operand of ``Fn::And`` / ``Fn::Or`` decides it: more than one would have to
    change, or none that can change (literals) would, or several would alone."""
    if not flippers:
        return f"more than one operand of its {what} would have to change"
    if not deciding:
        return f"no parameter decides its {what}"
    return f"any of {deciding} operands of its {what} decides it, and imds-iac does not choose"


def _label(assumed: tuple[tuple[str, bool], ...]) -> str:
    return " and ".join(
        f"condition {name} is {'true' if truth else 'false'}" for name, truth in assumed
    )


_FIELDS = API_FIELDS
_SUGGEST = API_SUGGEST


class CfnKind(NamedTuple):
    spec: KindSpec
    path: tuple[str, ...]  # from Properties to the options mapping; () = Properties itself


def _options(
    kind: str,
    path: tuple[str, ...],
    fields: dict[str, str] = _FIELDS,
    suggest: dict[str, str] = _SUGGEST,
    **extra: Any,
) -> CfnKind:
    block = path[-1] if path else None
    return CfnKind(KindSpec(kind, block, fields, suggest, **extra), path)


KINDS: dict[str, CfnKind] = {
    k.spec.kind: k
    for k in (
        _options("AWS::EC2::Instance", ("MetadataOptions",)),
        _options("AWS::EC2::LaunchTemplate", ("LaunchTemplateData", "MetadataOptions")),
        _options(
            "AWS::AutoScaling::LaunchConfiguration",
            ("MetadataOptions",),
            template_noun="launch configuration",
        ),
        _options(
            "AWS::ImageBuilder::InfrastructureConfiguration",
            ("InstanceMetadataOptions",),
            fields={TOKENS: "HttpTokens", HOP_LIMIT: "HttpPutResponseHopLimit"},
        ),
        _options(
            "AWS::SageMaker::NotebookInstance",
            ("InstanceMetadataServiceConfiguration",),
            fields={TOKENS: "MinimumInstanceMetadataServiceVersion"},
            suggest={TOKENS: '"2"'},
            token_map={"2": "required", "1": "optional"},
        ),
        _options(
            "AWS::WorkspacesInstances::WorkspaceInstance", ("ManagedInstance", "MetadataOptions")
        ),
        *(
            _options(
                f"AWS::AppStream::{name}",
                (),
                fields={TOKENS: "DisableIMDSV1"},
                suggest={TOKENS: "true"},
                token_map={"true": "required", "false": "optional"},
                needs_block=False,
                block_label="Properties",
            )
            for name in ("Fleet", "ImageBuilder", "AppBlockBuilder")
        ),
        *(
            _options(
                f"AWS::ElasticBeanstalk::{name}",
                (),
                fields={TOKENS: "DisableIMDSv1"},
                suggest={TOKENS: '"true"'},
                token_map={"true": "required", "false": "optional"},
                needs_block=False,
                block_label="OptionSettings",
                option=BEANSTALK_OPTION,
                template_noun="configuration template",
                plugins=False,
            )
            for name in ("Environment", "ConfigurationTemplate")
        ),
    )
}
BEANSTALK_TEMPLATE = (("TemplateName",), "", "", "eb:")
FLEET = KindSpec("AWS::EC2::EC2Fleet", "MetadataOptions", _FIELDS, _SUGGEST)
EMR = KindSpec(
    "AWS::EMR::SecurityConfiguration",
    "InstanceMetadataServiceConfiguration",
    {TOKENS: "MinimumInstanceMetadataServiceVersion", HOP_LIMIT: "HttpPutResponseHopLimit"},
    {TOKENS: "2", HOP_LIMIT: "{hop_limit}"},  # integers in EMR's JSON configuration
    token_map={"2": "required", "1": "optional"},
    template_noun="security configuration",
)
TYPES = frozenset(KINDS) | {FLEET.kind, EMR.kind}


class CfnLauncher(NamedTuple):
    """A resource that launches EC2 instances without metadata options of its own (see
    ``Launcher`` in :mod:`imds_iac_checks.formats.terraform.kinds`): ``refs`` are the paths
    from Properties (a list is stepped through item by item) to a launch-template reference,
    with its id and name fields (a path ending in the field itself: ``id`` empty) and the prefix
    of the keys a literal gives."""

    spec: KindSpec
    refs: tuple[tuple[tuple[str, ...], str, str, str], ...]
    needs: tuple[str, ...] = ()
    exempt: tuple[tuple[str, ...], str, frozenset[str]] | None = None


_TEMPLATE_REMEDY = "an AWS::EC2::LaunchTemplate whose MetadataOptions set HttpTokens: required"
_SPEC = "LaunchTemplateSpecification"
_IDS = ("LaunchTemplateId", "LaunchTemplateName", "")


def _launcher(
    kind: str, remedy: str, *refs: tuple[tuple[str, ...], str, str, str], **kw: Any
) -> CfnLauncher:
    noun = kw.pop("noun", "launch template")
    spec = KindSpec(
        kind, None, {}, {}, needs_block=False, remedy=remedy, template_noun=noun, plugins=False
    )
    return CfnLauncher(spec, refs, **kw)


LAUNCHERS: dict[str, CfnLauncher] = {
    k.spec.kind: k
    for k in (
        _launcher(
            "AWS::EC2::SpotFleet",
            "replace LaunchSpecifications with LaunchTemplateConfigs naming " + _TEMPLATE_REMEDY,
            (("SpotFleetRequestConfigData", "LaunchTemplateConfigs", _SPEC), *_IDS),
        ),
        _launcher(
            "AWS::EKS::Nodegroup",
            "EKS's own launch template leaves IMDSv1 allowed on AL2 and custom AMIs (AL2023 AMIs "
            "require tokens): set AmiType to an AL2023 type, or give it a LaunchTemplate naming "
            + _TEMPLATE_REMEDY,
            (("LaunchTemplate",), "Id", "Name", ""),
            exempt=((), "AmiType", EKS_AMIS_REQUIRING_TOKENS),
        ),
        _launcher(
            "AWS::Batch::ComputeEnvironment",
            "give ComputeResources a LaunchTemplate naming " + _TEMPLATE_REMEDY,
            (("ComputeResources", "LaunchTemplate"), *_IDS),
            needs=("ComputeResources",),
            exempt=(("ComputeResources",), "Type", frozenset({"FARGATE", "FARGATE_SPOT"})),
        ),
        _launcher(
            "AWS::Cloud9::EnvironmentEC2",
            "Cloud9 cannot set metadata options: require IMDSv2 for the account and region "
            "(EC2 instance metadata defaults, HttpTokens: required)",
        ),
        _launcher(
            "AWS::EMR::Cluster",
            "EMR's default (IMDS version 1) leaves IMDSv1 allowed: give it a "
            "SecurityConfiguration naming an AWS::EMR::SecurityConfiguration whose "
            "InstanceMetadataServiceConfiguration sets MinimumInstanceMetadataServiceVersion: 2",
            (("SecurityConfiguration",), "", "", "emr:"),
            noun="security configuration",
        ),
        _launcher(
            "AWS::AutoScaling::AutoScalingGroup",
            "",
            (("LaunchTemplate",), *_IDS),
            (("MixedInstancesPolicy", "LaunchTemplate", _SPEC), *_IDS),
            (("MixedInstancesPolicy", "LaunchTemplate", "Overrides", _SPEC), *_IDS),
            (("LaunchConfigurationName",), "", "", "lc:"),
        ),
    )
}
# Kinds other resources name (``template_keys``): the property that names them, and the prefix
# of the keys that name gives.
NAMED_KINDS = {
    "AWS::EC2::LaunchTemplate": ("LaunchTemplateName", ""),
    "AWS::AutoScaling::LaunchConfiguration": ("LaunchConfigurationName", "lc:"),
    "AWS::EMR::SecurityConfiguration": ("Name", "emr:"),
    "AWS::ElasticBeanstalk::ConfigurationTemplate": ("", "eb:"),
}


def _nested(node: DNode | None, path: tuple[str, ...]) -> list[DNode]:
    """The mappings ``path`` names under ``node`` (lists stepped through item by item)."""
    found = [node] if node is not None else []
    for step in path:
        out: list[DNode] = []
        for outer in found:
            inner = outer.get(step) if outer.kind == MAP else None
            if inner is None:
                continue
            out.extend(i for i in (inner.items if inner.kind == SEQ else [inner]) if i.kind == MAP)
        found = out
    return found


def synthesized(path: str) -> bool:
    """Whether a template is in a ``cdk.out`` directory, where ``cdk synth`` writes them."""
    return "cdk.out" in path.replace("\\", "/").split("/")[:-1]


def is_template(root: DNode) -> bool:
    """A CloudFormation template: AWSTemplateFormatVersion, or Resources with AWS:: types."""
    if root.kind != MAP:
        return False
    if root.get("AWSTemplateFormatVersion") is not None:
        return True
    resources = root.get("Resources")
    if resources is None or resources.kind != MAP:
        return False
    for _, resource in resources.pairs():
        type_node = resource.get("Type") if resource.kind == MAP else None
        if type_node is not None and isinstance(type_node.value, str):
            return type_node.value.startswith(("AWS::", "Custom::", "Alexa::"))
    return False


def _intrinsic(node: DNode) -> tuple[str, DNode] | None:
    """(function name without "Fn::", argument node) for an intrinsic, else None."""
    if node.tag and node.tag.startswith("!"):
        return node.tag[1:], node
    if node.kind == MAP and len(node.items) == 1:
        key = node.items[0][0].value
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return key.removeprefix("Fn::"), node.items[0][1]
    return None


class Passed(NamedTuple):
    """A parameter value a parent stack passes to a nested stack (``Parameters`` of an
    ``AWS::CloudFormation::Stack``): the parent template that evaluates it, the node as written
    there, and the nested stack's logical id."""

    parent: Template
    node: DNode
    stack: str


class Template:
    def __init__(
        self,
        loc: Locator,
        root: DNode,
        overrides: dict[str, str] | None = None,
        assumed: dict[str, str] | None = None,
        passed: dict[str, Passed] | None = None,
    ) -> None:
        self.loc = loc
        self.root = root
        self.parameters = root.get("Parameters")
        self.mappings = root.get("Mappings")
        self.conditions = root.get("Conditions")
        self.overrides = overrides or {}
        # Parameters a parent stack passes (see formats/nested.py): they override the defaults,
        # and a value from one points at the parent's Parameters entry.
        self.passed = passed or {}
        # Parameter values assumed to evaluate conditions (a resource whose Condition is false
        # under the defaults, see _exists_when); values resolved through Ref keep the defaults.
        self.assumed = assumed or {}
        self._decided: dict[str, bool | None] = {}
        self._truths: dict[int, bool | None] = {}
        self._memo: dict[tuple[int, bool, str, str], list[Alternative]] = {}

    # --- conditions -----------------------------------------------------------------------------
    def condition(self, name: str, depth: int = 0) -> bool | None:
        """The value of a named condition, or None when its inputs are not known."""
        if name in self._decided:
            return self._decided[name]
        self._decided[name] = None  # guards against cycles
        node = self.conditions.get(name) if self.conditions is not None else None
        result = self._truth(node, depth) if node is not None else None
        self._decided[name] = result
        return result

    def _truth(self, node: DNode, depth: int) -> bool | None:
        """A condition expression's value, None when unknown; each node evaluated once (YAML
        aliases can share a sub-expression: ``!And [*c, *c]`` chains)."""
        if depth > 20:
            return None
        done = self._truths.get(id(node), _UNSEEN)
        if done is not _UNSEEN:
            return done  # type: ignore[return-value]
        result = self._evaluate_truth(node, depth)
        self._truths[id(node)] = result
        return result

    def _evaluate_truth(self, node: DNode, depth: int) -> bool | None:
        func = _intrinsic(node)
        if func is None:
            return node.value if isinstance(node.value, bool) else None
        name, arg = func
        if name == "Condition" and arg.kind == SCALAR:
            return self.condition(str(arg.value), depth + 1)
        items = arg.items if arg.kind == SEQ else []
        if name == "Not" and len(items) == 1:
            inner = self._truth(items[0], depth + 1)
            return None if inner is None else not inner
        if name in ("And", "Or") and items:
            values = [self._truth(item, depth + 1) for item in items]
            if name == "And":
                return False if False in values else (None if None in values else True)
            return True if True in values else (None if None in values else False)
        if name == "Equals" and len(items) == 2:
            left, right = (self._scalar(item) for item in items)
            if left is None or right is None:
                return None
            return str(left) == str(right)
        return None

    def _scalar(self, node: DNode) -> object:
        """A literal, or a parameter's value, for condition evaluation; None when unknown."""
        func = _intrinsic(node)
        if func is None:
            return node.value if node.kind == SCALAR else None
        name, arg = func
        if name == "Ref" and arg.kind == SCALAR and isinstance(arg.value, str):
            if arg.value in self.passed:
                passed = self.passed[arg.value]
                return passed.parent._scalar(passed.node)
            if arg.value in self.overrides:
                return self.overrides[arg.value]
            if arg.value in self.assumed:
                return self.assumed[arg.value]
            param = self.parameters.get(arg.value) if self.parameters is not None else None
            default = param.get("Default") if param is not None else None
            if default is not None and default.kind == SCALAR and default.tag is None:
                return default.value
        return None

    # --- values -------------------------------------------------------------------------------
    def resolve(self, spec: KindSpec, key: str, node: DNode) -> list[Value]:
        """The possible Values of a setting, each labelled with the conditions it needs.

        Each node is evaluated once per setting (YAML aliases share nodes: ``!If [C, *b, *b]``
        chains would otherwise double the work at every level), carrying the set of
        alternatives with the condition values each assumes; alternatives that assume a
        condition both ways are dropped. Past :data:`MAX_ALTERNATIVES` or :data:`MAX_NESTING`
        the setting is "too complex to evaluate statically" (IMDS004)."""
        try:
            alternatives = self._alternatives(spec, key, node, False, 0)
        except _TooComplex as exc:
            why = f"{TOO_COMPLEX}: {exc}"
            return [unknown_value(self.loc, node, why, kind=LinkKind.TOO_COMPLEX)]
        return [
            value._replace(condition=_label(assumed)) if assumed else value
            for assumed, value in alternatives
        ]

    def _alternatives(
        self, spec: KindSpec, key: str, node: DNode, in_branch: bool, depth: int
    ) -> list[Alternative]:
        memo_key = (id(node), in_branch, spec.kind, key)
        done = self._memo.get(memo_key)
        if done is not None:
            return done
        if depth > MAX_NESTING:
            raise _TooComplex(f"intrinsic functions nested more than {MAX_NESTING} deep")
        out = self._evaluate(spec, key, node, in_branch, depth)
        if len(out) > MAX_ALTERNATIVES:
            raise _TooComplex(f"more than {MAX_ALTERNATIVES} alternative values")
        self._memo[memo_key] = out
        return out

    def _evaluate(
        self, spec: KindSpec, key: str, node: DNode, in_branch: bool, depth: int
    ) -> list[Alternative]:
        loc = self.loc
        func = _intrinsic(node)
        if func is None:
            if node.kind == SCALAR:
                value = literal_value(loc, spec, key, node, in_branch=in_branch)
                return [((), value)] if value is not None else []
            return [((), unknown_value(loc, node))]
        name, arg = func
        if name == "Ref" and arg.kind == SCALAR and isinstance(arg.value, str):
            return [((), v) for v in self._ref(spec, key, node, arg.value, in_branch)]
        if name == "If" and arg.kind == SEQ and len(arg.items) == 3:
            cond = arg.items[0].value if arg.items[0].kind == SCALAR else None
            decided = self.condition(cond) if isinstance(cond, str) else None
            if decided is not None:
                assert isinstance(cond, str)
                branch = arg.items[1] if decided else arg.items[2]
                other = arg.items[2] if decided else arg.items[1]
                why = self._decision(cond, decided, node, other)
                link = Link(loc.node_span(node), LinkKind.DECISION, "Fn::If", decision=why)
                return [
                    (assumed, value._replace(provenance=(*value.provenance, link)))
                    for assumed, value in self._alternatives(
                        spec, key, branch, in_branch, depth + 1
                    )
                ]
            if isinstance(cond, str):
                merged: dict[Alternative, None] = {}
                for branch, truth in ((arg.items[1], True), (arg.items[2], False)):
                    for assumed, value in self._alternatives(spec, key, branch, True, depth + 1):
                        if (cond, not truth) in assumed:
                            continue  # this branch cannot happen when cond is `truth`
                        rest = tuple(a for a in assumed if a[0] != cond)
                        merged[(((cond, truth), *rest), value)] = None
                        if len(merged) > MAX_ALTERNATIVES:
                            raise _TooComplex(f"more than {MAX_ALTERNATIVES} alternative values")
                return list(merged)
        if name == "FindInMap" and arg.kind == SEQ and len(arg.items) >= 3:
            found = self._find_in_map(arg.items[:3])
            if found is not None:
                target, entry = found
                via = (Link(loc.node_span(node), LinkKind.FIND_IN_MAP),)
                if target.kind == SCALAR and target.tag is None:
                    value = literal_value(
                        loc,
                        spec,
                        key,
                        target,
                        link=(LinkKind.MAPPING, entry),
                        via=via,
                        in_branch=True,
                    )
                    return [((), value)] if value is not None else []
        return [((), unknown_value(loc, node))]

    # --- decisions ----------------------------------------------------------------------------
    def _decider(
        self, node: DNode | None, depth: int = 0, through: tuple[str, ...] = ()
    ) -> tuple[str, str, bool, tuple[str, ...]] | str:
        """``(parameter, literal, negated, conditions followed)`` of a condition that one
        parameter of the template decides: it is ``negated`` XOR (the parameter equals
        ``literal``). ``Condition`` and ``Fn::Not`` are followed; ``Fn::And`` / ``Fn::Or`` read
        as the one operand whose change alone flips them (the others are true for And, false
        for Or) when exactly one such operand reads a parameter. A str says why there is
        none."""
        if node is None or depth > 20:
            return "it is nested too deeply"
        func = _intrinsic(node)
        if func is None:
            return "it is a literal"
        name, arg = func
        if name == "Condition" and arg.kind == SCALAR and self.conditions is not None:
            label = str(arg.value)
            inner = self.conditions.get(label)
            return self._decider(inner, depth + 1, (*through, f"condition {label}"))
        items = arg.items if arg.kind == SEQ else []
        if name == "Not" and len(items) == 1:
            found = self._decider(items[0], depth + 1, through)
            if isinstance(found, str):
                return found
            return found[0], found[1], not found[2], found[3]
        if name in ("And", "Or") and len(items) >= 2:
            truths = [self._truth(item, depth + 1) for item in items]
            if None in truths:
                return "not all of its operands are known"
            neutral = name == "And"  # the value of the others that lets one operand decide
            flippers = [
                item
                for i, item in enumerate(items)
                if all(t is neutral for j, t in enumerate(truths) if j != i)
            ]
            deciding = [item for item in flippers if self._reads_parameter(item)]
            if len(deciding) == 1:
                return self._decider(deciding[0], depth + 1, through)
            return _no_single(f"Fn::{name}", flippers, len(deciding))
        if name == "Equals" and len(items) == 2:
            for ref, literal in (items, items[::-1]):
                called = _intrinsic(ref)
                if (
                    called is not None
                    and called[0] == "Ref"
                    and called[1].kind == SCALAR
                    and isinstance(called[1].value, str)
                    and self.parameters is not None
                    and self.parameters.get(called[1].value) is not None
                    and literal.kind == SCALAR
                    and literal.tag is None
                    and _intrinsic(literal) is None
                ):
                    return called[1].value, str(literal.value), False, through
        return "it does not compare one parameter with a value"

    def _reads_parameter(self, node: DNode) -> bool:
        reads: dict[str, set[str]] = {}
        return not self._refs(node, reads) or bool(reads)

    def _decision(self, cond: str, taken: bool, node: DNode, other: DNode) -> Decision:
        """Why ``Fn::If`` chose its branch: condition ``cond`` is ``taken``; the parameter it
        compares, its default and the value of the default that takes the other branch."""
        loc = self.loc
        at = loc.node_span(node)
        text = f"condition {cond}"
        found = self._decider(self.conditions.get(cond) if self.conditions is not None else None)
        # A condition reads the parameters (or the stack's pseudo parameters): writing the
        # other branch over the one taken would make it a no-op.
        plain = other.kind == SCALAR and other.tag is None and _intrinsic(other) is None
        written = (
            show(other.value)  # as a fix would write it: "required", quoted as in Terraform
            if plain and isinstance(other.value, (str, int, float, bool))
            else compact(loc.source(other), 60)
        )
        base = Decision(text, taken, at, other=written, reads_input=True)
        if isinstance(found, str):
            return base._replace(why=f"{text} has no single deciding parameter: {found}")
        name, literal, negated, through = found
        base = base._replace(subject=name, through=", ".join(through))
        if name in self.overrides or name in self.assumed:
            return base._replace(why=f"parameter {name} is given, not its default")
        param = self.parameters.get(name) if self.parameters is not None else None
        default = param.get("Default") if param is not None else None
        if default is None or default.kind != SCALAR or default.tag is not None:
            return base._replace(why=f"parameter {name} has no default")
        where = (loc.node_span(default), LinkKind.PARAMETER_DEFAULT, name, "")
        base = base._replace(shown=show(str(default.value)), input=where)
        equal = (not taken) != negated  # what Equals must give for the other branch
        if equal:
            return base._replace(flip=literal)
        allowed = param.get("AllowedValues") if param is not None else None
        choices = [
            str(item.value)
            for item in (allowed.items if allowed is not None and allowed.kind == SEQ else [])
            if item.kind == SCALAR and str(item.value) != literal
        ]
        if choices:
            return base._replace(flip=choices[0])
        why = (
            f"only a value of {name} other than {show(literal)} does, which imds-iac cannot choose"
        )
        return base._replace(why=why)

    # --- resources that exist under other parameter values ---------------------------------------
    def _refs(self, node: DNode | None, out: dict[str, set[str]], depth: int = 0) -> bool:
        """The parameters a condition reads, each with the literals it is compared with (into
        ``out``); False when the condition is too deep to read."""
        if node is None:
            return True
        if depth > 40:
            return False
        func = _intrinsic(node)
        if func is None:
            return True
        name, arg = func
        if name == "Condition" and arg.kind == SCALAR and self.conditions is not None:
            return self._refs(self.conditions.get(str(arg.value)), out, depth + 1)
        if name == "Ref" and arg.kind == SCALAR and isinstance(arg.value, str):
            out.setdefault(arg.value, set())
            return True
        items = arg.items if arg.kind == SEQ else []
        if name == "Equals" and len(items) == 2:
            for ref, literal in (items, items[::-1]):
                called = _intrinsic(ref)
                if called is not None and called[0] == "Ref" and called[1].kind == SCALAR:
                    values = out.setdefault(str(called[1].value), set())
                    if literal.kind == SCALAR and _intrinsic(literal) is None:
                        values.add(str(literal.value))
        return all(self._refs(item, out, depth + 1) for item in items)

    def exists_when(self, name: str) -> tuple[Template, str] | str | None:
        """For a resource whose condition ``name`` is false under the defaults (a nested stack,
        see formats/nested.py): this template as evaluated under parameter values that make it
        true, and those values as a message says them; a message when there are too many values
        to try; None when no allowed values make it true."""
        found = self._exists_when(name)
        if found is None or isinstance(found, str):
            return found
        assumed, when = found
        return Template(self.loc, self.root, self.overrides, assumed, self.passed), when

    def _exists_when(self, name: str) -> tuple[dict[str, str], str] | str | None:
        """Parameter values under which condition ``name`` (false under the defaults) is true:
        ``(assumed values, as a message says them)``; None when none is; a message (str) when
        the values to try are more than MAX_ASSIGNMENTS. The values tried for each parameter the
        condition reads: its default, its AllowedValues, the literals it is compared with, and,
        when AllowedValues do not forbid it, some other value. Given parameters stay as given.
        Assignments that change fewer parameters come first."""
        reads: dict[str, set[str]] = {}
        if not self._refs(self.conditions.get(name) if self.conditions else None, reads):
            return f"{TOO_COMPLEX}: condition {name} is nested too deeply"
        candidates: list[tuple[str, list[str]]] = []
        defaults: dict[str, str] = {}
        total = 1
        for param in sorted(reads):
            if param in self.overrides:
                continue
            node = self.parameters.get(param) if self.parameters is not None else None
            default = node.get("Default") if node is not None else None
            first = (
                str(default.value)
                if default is not None and default.kind == SCALAR and default.tag is None
                else None
            )
            allowed = node.get("AllowedValues") if node is not None else None
            values = [first] if first is not None else []
            if first is not None:
                defaults[param] = first
            if allowed is not None and allowed.kind == SEQ:
                values += [str(i.value) for i in allowed.items if i.kind == SCALAR]
            else:
                values += [*sorted(reads[param]), _OTHER]
            values = list(dict.fromkeys(values))
            candidates.append((param, values))
            total *= len(values)
            if total > MAX_ASSIGNMENTS:
                return (
                    f"{TOO_COMPLEX}: condition {name} reads parameters with more than "
                    f"{MAX_ASSIGNMENTS:,} combinations of values"
                )
        import itertools

        combos = list(itertools.product(*(range(len(v)) for _, v in candidates)))
        combos.sort(key=lambda c: sum(1 for i in c if i))
        for combo in combos:
            assumed = {p: v[i] for (p, v), i in zip(candidates, combo, strict=True)}
            if Template(self.loc, self.root, self.overrides, assumed).condition(name) is True:
                said = []
                for (param, values), i in zip(candidates, combo, strict=True):
                    value = values[i]
                    if value == defaults.get(param):
                        continue
                    if value == _OTHER:
                        others = ", ".join(sorted(reads[param]))
                        said.append(f"{param} is a value other than {others}")
                    else:
                        said.append(f"{param} is {value}")
                when = f"condition {name} is true"
                return assumed, when + (f" ({' and '.join(said)})" if said else "")
        return None

    def _ref(
        self, spec: KindSpec, key: str, node: DNode, name: str, in_branch: bool
    ) -> list[Value]:
        loc = self.loc
        if name in self.passed:
            # Evaluated in the parent; a literal written there is the parameter it passes.
            passed = self.passed[name]
            via = (Link(loc.node_span(node), LinkKind.PARAMETER_REFERENCE, name),)
            out = []
            for alternative in passed.parent.resolve(spec, key, passed.node):
                links = alternative.provenance
                if links and links[0].kind == LinkKind.LITERAL:
                    first = Link(links[0].span, LinkKind.STACK_PARAMETER, name, passed.stack)
                    links = (first, *links[1:])
                out.append(alternative._replace(provenance=(*links, *via)))
            return out
        if name in self.overrides:
            text = self.overrides[name]
            given = DNode(SCALAR, node.start, node.end, text)
            via = (Link(loc.node_span(node), LinkKind.PARAMETER_REFERENCE, name),)
            value = literal_value(
                loc,
                spec,
                key,
                given,
                link=(LinkKind.PARAMETER_CLI, name, self._given_by(name)),
                via=via,
                in_branch=True,
            )
            if value is None:
                return []
            return [value._replace(expression=f"{name}={text}")]
        if name == "AWS::NoValue":
            if not in_branch:
                return []
            return [
                Value(
                    True,
                    None,
                    None,
                    compact(loc.source(node)),
                    (Link(loc.node_span(node), LinkKind.NO_VALUE),),
                )
            ]
        param = self.parameters.get(name) if self.parameters is not None else None
        default = param.get("Default") if param is not None else None
        if default is None or default.kind != SCALAR or default.tag is not None:
            return [unknown_value(loc, node)]
        via = (Link(loc.node_span(node), LinkKind.PARAMETER_REFERENCE, name),)
        value = literal_value(
            loc,
            spec,
            key,
            default,
            link=(LinkKind.PARAMETER_DEFAULT, name),
            via=via,
            in_branch=True,
        )
        return [value] if value is not None else []

    def _given_by(self, name: str) -> str:
        """Where the value of parameter ``name`` was given (see model.Parameters)."""
        origins: dict[str, str] = getattr(self.overrides, "origins", None) or {}
        return origins.get(name, "the parameters given")

    def _find_in_map(self, args: list[DNode]) -> tuple[DNode, str] | None:
        if self.mappings is None or not all(a.kind == SCALAR and a.tag is None for a in args):
            return None
        names = [str(a.value) for a in args]
        node: DNode | None = self.mappings
        for name in names:
            node = node.get(name) if node is not None else None
        if node is None:
            return None
        return node, ".".join(names)

    # --- resources ----------------------------------------------------------------------------
    def targets(self) -> tuple[list[Target], list[ScanError]]:
        errors: list[ScanError] = []
        resources = self.root.get("Resources")
        for container in (self.root, resources):
            dup = container.duplicate_key() if container is not None else None
            if dup is not None:
                errors.append(self._error(dup, f"duplicate key {dup.value!r}"))
        if resources is None or resources.kind != MAP:
            return [], errors
        targets: list[Target] = []
        reported: set[int] = set()
        for key_node, resource in resources.pairs():
            # A key written twice in any mapping read for this resource (its own, its
            # MetadataOptions, a parameter, a mapping, ...) is an error at the second key, and
            # the resource is not evaluated: which value counts is not clear (the AWS CLI takes
            # the last, a JSON reader may take the first).
            with watch_duplicates() as read_twice:
                built = self._resource(key_node, resource)
            if built is None:
                continue
            ambiguous = [m for m in read_twice if m is not self.root and m is not resources]
            for mapping in ambiguous:
                if id(mapping) in reported:
                    continue  # one error for a mapping several resources read
                reported.add(id(mapping))
                dup = mapping.dup
                assert dup is not None
                errors.append(self._error(dup, f"duplicate key {dup.value!r} in {key_node.value}"))
            if not ambiguous:
                targets.extend(built)
        if synthesized(self.loc.path):
            # written by `cdk synth` from a CDK app (formats/cdk.py reads its source): read as
            # it deploys, never edited (the next synth would overwrite the edit)
            targets = [target._replace(recorded_state=True) for target in targets]
        return targets, errors

    def _resource(self, key_node: DNode, resource: DNode) -> list[Target] | None:
        """The targets of one resource; None when it is not one whose settings a rule reads."""
        if resource.kind != MAP:
            return None
        type_node = resource.get("Type")
        kind = type_node.value if type_node is not None else None
        if not isinstance(kind, str) or (kind not in TYPES and kind not in LAUNCHERS):
            return None
        only_if = resource.get("Condition")
        if only_if is not None and self.condition(str(only_if.value)) is False:
            # The stack does not create this resource under the defaults (and the parameters
            # given); it is evaluated under values that create it, when the parameters allow.
            if self.assumed:
                return None
            return self._exists_only_when(key_node, resource, str(only_if.value))
        if resource.dup is not None:
            return []  # reported by the caller
        type_key = resource.key_node("Type")
        assert type_key is not None and type_node is not None
        header = self.loc.span(type_key.start, type_node.end)
        props = resource.get("Properties")
        logical = str(key_node.value)
        suppress = _suppressions(self.loc, resource)
        targets: list[Target] = []
        launcher = LAUNCHERS.get(kind)
        if launcher is not None:
            if launches(props, launcher.needs, launcher.exempt, _nested):
                target = self._make(launcher.spec, logical, resource, header, None)
                refs = self._references(props, launcher.refs)
                targets.append(
                    target._replace(
                        template_ref=refs[0] if refs else None, more_refs=tuple(refs[1:])
                    )
                )
        elif kind == FLEET.kind:
            targets.extend(self._fleet(logical, resource, header, props))
        elif kind == EMR.kind:
            target = self._emr(logical, resource, header, props)
            targets.append(target._replace(template_keys=self._template_keys(logical, props)))
        else:
            target = self._target(KINDS[kind], logical, resource, header, props)
            if kind == "AWS::EC2::Instance" and props is not None:
                target = target._replace(template_ref=self._template_ref(props))
            elif target.spec.option is not None and TOKENS not in target.settings:
                # Not set here: the environment's configuration template may set it.
                refs = self._references(props, (BEANSTALK_TEMPLATE,))
                target = target._replace(template_ref=refs[0] if refs else None)
            if kind in NAMED_KINDS:
                target = target._replace(template_keys=self._template_keys(logical, props))
            targets.append(target)
        if suppress:
            targets = [t._replace(suppress=suppress) for t in targets]
        if kind in USER_DATA:
            reader = _UserData(self)
            targets = [
                t._replace(user_data=reader.payloads(kind, t.address, props)) for t in targets
            ]
        return targets

    def _exists_only_when(self, key_node: DNode, resource: DNode, name: str) -> list[Target] | None:
        found = self._exists_when(name)
        if found is None:
            return None  # no allowed parameter values create it
        if isinstance(found, str):  # too many values to try: say it was not evaluated
            type_key, type_node = resource.key_node("Type"), resource.get("Type")
            assert type_key is not None and type_node is not None
            header = self.loc.span(type_key.start, type_node.end)
            kind = str(type_node.value)
            spec = (
                KINDS[kind].spec
                if kind in KINDS
                else LAUNCHERS[kind].spec
                if kind in LAUNCHERS
                else (FLEET if kind == FLEET.kind else EMR)
            )
            condition = resource.get("Condition")
            assert condition is not None
            why = Value(
                False,
                None,
                None,
                found,
                (Link(self.loc.node_span(condition), LinkKind.TOO_COMPLEX),),
            )
            target = Target(
                spec=spec,
                address=str(key_node.value),
                path=self.loc.path,
                span=self.loc.node_span(resource),
                header=header,
                block_span=header,
                settings={},
                format=FORMAT,
                unknown_block=why,
            )
            return [target]
        assumed, when = found
        alternative = Template(self.loc, self.root, self.overrides, assumed)
        made = alternative._resource(key_node, resource)
        if made is None:
            return None
        return [target._replace(only_when=when) for target in made]

    def _template_ref(self, props: DNode) -> Value | None:
        """The launch template an instance names: ``LaunchTemplate.LaunchTemplateId`` (``Ref`` or
        ``GetAtt`` to a template of this stack, or a literal id) or ``LaunchTemplateName``."""
        return self._reference(
            props.get("LaunchTemplate"), "LaunchTemplateId", "LaunchTemplateName"
        )

    def _references(
        self, props: DNode | None, refs: tuple[tuple[tuple[str, ...], str, str, str], ...]
    ) -> list[Value]:
        """The resources ``refs`` (see :class:`CfnLauncher`) name, in order."""
        out: list[Value] = []
        for path, id_field, name_field, prefix in refs:
            if not id_field:  # the path ends at the reference itself
                for block in _nested(props, path[:-1]):
                    found = self._reference(block, path[-1], path[-1], prefix)
                    if found is not None:
                        out.append(found)
                continue
            for block in _nested(props, path):
                found = self._reference(block, id_field, name_field, prefix)
                if found is not None:
                    out.append(found)
        return out

    def _reference(
        self, spec: DNode | None, id_field: str, name_field: str, kind_prefix: str = ""
    ) -> Value | None:
        """The launch template the mapping ``spec`` names by ``id_field`` or ``name_field``
        (another kind: ``kind_prefix`` begins the keys of a literal, which is its name)."""
        if spec is None or spec.kind != MAP:
            return None
        loc = self.loc
        for field, prefix in ((id_field, "id"), (name_field, "name")):
            node = spec.get(field)
            if node is None:
                continue
            if kind_prefix:
                prefix = kind_prefix + "name"
            link = (Link(loc.node_span(node), LinkKind.TEMPLATE_REFERENCE),)
            text = compact(loc.source(node))
            func = _intrinsic(node)
            if func is None and node.kind == SCALAR and isinstance(node.value, str):
                return Value(True, f"{prefix}:{node.value}", node.value, text, link)
            if func is not None:
                name, arg = func
                target = None
                if name == "Ref" and arg.kind == SCALAR:
                    target = arg.value
                elif name == "GetAtt":
                    parts = (
                        str(arg.value).split(".", 1)
                        if arg.kind == SCALAR
                        else [str(item.value) for item in arg.items]
                    )
                    target = parts[0] if parts else None
                resources = self.root.get("Resources")
                if isinstance(target, str) and resources is not None and resources.get(target):
                    return Value(True, f"cfn:{target}", target, text, link)
            return Value(False, None, None, text, link)
        return None

    def _template_keys(self, logical: str, props: DNode | None) -> tuple[str, ...]:
        keys = [f"cfn:{logical}"]
        kind = self.root.get("Resources")
        resource = kind.get(logical) if kind is not None else None
        type_node = resource.get("Type") if resource is not None else None
        field, prefix = NAMED_KINDS.get(str(type_node.value) if type_node else "", ("", ""))
        name = props.get(field) if props is not None and field else None
        if name is not None and name.kind == SCALAR and name.tag is None:
            keys.append(f"{prefix}name:{name.value}")
        return tuple(keys)

    def _error(self, node: DNode, message: str) -> ScanError:
        line, column, _ = self.loc.position(node.start)
        return ScanError(self.loc.path, line, column, message)

    def _make(
        self,
        spec: KindSpec,
        address: str,
        resource: DNode,
        header: Span,
        options: DNode | None,
    ) -> Target:
        block_span = None
        settings: dict[str, tuple[Value, ...]] = {}
        unknown_block = None
        if options is not None:
            block_span = self.loc.node_span(options)
            if options.kind != MAP or _intrinsic(options) is not None:
                unknown_block = unknown_value(self.loc, options)
            else:
                settings = read_settings(
                    spec, options, lambda node, key: self.resolve(spec, key, node)
                )
        return Target(
            spec=spec,
            address=address,
            path=self.loc.path,
            span=self.loc.node_span(resource),
            header=header,
            block_span=block_span,
            settings=settings,
            format=FORMAT,
            unknown_block=unknown_block,
        )

    def _target(
        self, kind: CfnKind, logical: str, resource: DNode, header: Span, props: DNode | None
    ) -> Target:
        if kind.spec.option is not None:  # option entries (Elastic Beanstalk's OptionSettings)
            target = self._make(kind.spec, logical, resource, header, None)
            entries = _nested(props, ("OptionSettings",))
            spec = kind.spec

            def scalar(node: DNode) -> object:
                if node.kind == SCALAR and node.tag is None:
                    return node.value
                values = self.resolve(spec, "", node)
                if len(values) == 1 and values[0].known:
                    return values[0].raw
                return UNKNOWN

            settings = option_settings(
                self.loc,
                spec,
                entries,
                ("Namespace", "OptionName", "Value"),
                lambda node, key: self.resolve(spec, key, node),
                scalar,
            )
            named = props.key_node("OptionSettings") if props is not None else None
            return target._replace(
                block_span=self.loc.node_span(props) if props is not None else header,
                settings=settings,
                block_key=self.loc.node_span(named) if named is not None else None,
            )
        if not kind.path:  # settings on Properties itself
            options = props if props is not None else None
            target = self._make(kind.spec, logical, resource, header, options)
            if props is None:  # no Properties at all: nothing is set
                target = target._replace(block_span=header)
            return target
        node = props
        key: DNode | None = None
        for step in kind.path:
            if node is None:
                break
            if _intrinsic(node) is not None or node.kind != MAP:
                return self._make(kind.spec, logical, resource, header, node)
            key = node.key_node(step)
            node = node.get(step)
        target = self._make(kind.spec, logical, resource, header, node)
        if node is not None and key is not None:
            target = target._replace(block_key=self.loc.node_span(key))
        return target

    def _fleet(
        self, logical: str, resource: DNode, header: Span, props: DNode | None
    ) -> list[Target]:
        """EC2 Fleet overrides that set MetadataOptions (without them the launch template's
        settings apply: no target)."""
        configs = props.get("LaunchTemplateConfigs") if props is not None else None
        out: list[Target] = []
        if configs is None or configs.kind != SEQ:
            return out
        for i, config in enumerate(configs.items):
            overrides = config.get("Overrides") if config.kind == MAP else None
            if overrides is None or overrides.kind != SEQ:
                continue
            for j, override in enumerate(overrides.items):
                options = override.get("MetadataOptions") if override.kind == MAP else None
                if options is None:
                    continue
                address = f"{logical}.LaunchTemplateConfigs[{i}].Overrides[{j}]"
                target = self._make(FLEET, address, resource, header, options)
                key = override.key_node("MetadataOptions")
                if key is not None:
                    target = target._replace(block_key=self.loc.node_span(key))
                out.append(target)
        return out

    def _emr(self, logical: str, resource: DNode, header: Span, props: DNode | None) -> Target:
        config = props.get("SecurityConfiguration") if props is not None else None
        if config is None:
            return self._make(EMR, logical, resource, header, None)
        if config.kind == SCALAR and isinstance(config.value, str):
            # The configuration as a JSON string: values point at the string.
            try:
                data = json.loads(config.value)
            except (ValueError, RecursionError):  # not JSON, or nested past the C decoder's limit
                data = None
            imds = data.get(EMR.block) if isinstance(data, dict) else None
            if not isinstance(imds, dict):
                return self._make(EMR, logical, resource, header, None)
            settings: dict[str, tuple[Value, ...]] = {}
            for key, field in EMR.fields.items():
                if field in imds and not isinstance(imds[field], (dict, list)):
                    node = DNode(SCALAR, config.start, config.end, imds[field])
                    value = literal_value(self.loc, EMR, key, node)
                    if value is not None:
                        settings[key] = (value._replace(expression=json.dumps(imds[field])),)
            return self._make(EMR, logical, resource, header, None)._replace(
                block_span=self.loc.node_span(config), settings=settings
            )
        if config.kind != MAP or _intrinsic(config) is not None:
            return self._make(EMR, logical, resource, header, config)
        return self._make(EMR, logical, resource, header, config.get(EMR.block or ""))


def _suppressions(loc: Locator, resource: DNode) -> tuple[tuple[str, str, Span | None], ...]:
    """What a resource's Metadata accepts, as ``(code, reason, span)``: ``imds-iac: {ignore:
    [IMDS003 | {id, reason}]}`` (the code as written, with its span: IMDS005 judges these),
    cfn-lint's ``cfn-lint: {config: {ignore_checks: [E9002]}}`` and checkov's
    ``checkov: {skip: [{id: CKV_AWS_79, comment: ...}]}`` (the rule ids they map to; no span)."""
    metadata = resource.get("Metadata")
    if metadata is None or metadata.kind != MAP:
        return ()
    out: list[tuple[str, str, Span | None]] = []
    own = metadata.get("imds-iac")
    for item in _items(own.get("ignore") if own is not None and own.kind == MAP else None):
        if item.kind == SCALAR and item.value is not None:
            out.append((str(item.value), "Metadata imds-iac ignore", loc.node_span(item)))
        elif item.kind == MAP and item.get("id") is not None:
            code = item.get("id")
            assert code is not None
            reason = item.get("reason")
            why = str(reason.value) if reason is not None else "no reason given"
            out.append((str(code.value), f"Metadata imds-iac ignore: {why}", loc.node_span(code)))
    cfn_lint = metadata.get("cfn-lint")
    config = cfn_lint.get("config") if cfn_lint is not None else None
    for item in _items(config.get("ignore_checks") if config is not None else None):
        for rule in rules.peers().get(str(item.value), ()):
            out.append((rule, f"Metadata cfn-lint ignore_checks {item.value}", None))
    checkov = metadata.get("checkov")
    for item in _items(checkov.get("skip") if checkov is not None else None):
        check = item.get("id") if item.kind == MAP else None
        if check is None:
            continue
        comment = item.get("comment")
        why = str(comment.value) if comment is not None else "no reason given"
        for rule in rules.peers().get(str(check.value), ()):
            out.append((rule, f"Metadata checkov skip {check.value}: {why}", None))
    return tuple(out)


def resource_suppressions(
    loc: Locator, resource: DNode
) -> tuple[tuple[str, str, Span | None], ...]:
    """What a resource's Metadata accepts (see ``_suppressions``)."""
    return _suppressions(loc, resource)


def _items(node: DNode | None) -> list[DNode]:
    if node is None:
        return []
    return list(node.items) if node.kind == SEQ else [node]


def interpret(
    loc: Locator, root: DNode, overrides: dict[str, str] | None = None
) -> tuple[list[Target], list[ScanError]]:
    return Template(loc, root, overrides).targets()


# --- user data ---------------------------------------------------------------------------------
#
# The UserData of each kind that carries it (a path from Properties; lists are stepped through),
# read as the instance sees it: ``Fn::Base64`` over a literal, ``Fn::Sub`` (``${!Literal}`` is
# an escape of ``${Literal}``; a variable of its map is its value, any other ``${Name}`` a hole
# kept as written), ``Fn::Join`` (its literal parts; an intrinsic part is a hole written
# ``${Name}``, ``${Resource.Attribute}`` or ``${Fn::Function}``: a word to a shell) and
# ``Fn::If`` (the branch its condition takes under the parameters, else one payload per branch).
USER_DATA: dict[str, tuple[str, ...]] = {
    "AWS::EC2::Instance": ("UserData",),
    "AWS::EC2::LaunchTemplate": ("LaunchTemplateData", "UserData"),
    "AWS::AutoScaling::LaunchConfiguration": ("UserData",),
    "AWS::EC2::SpotFleet": ("SpotFleetRequestConfigData", "LaunchSpecifications", "UserData"),
}
# Payloads of one UserData at most (the branches of undecided Fn::If), and how deep intrinsic
# functions are followed in it.
MAX_USER_DATA = 8
MAX_USER_DATA_DEPTH = 32

_Parts = list[Part]


def _untagged(node: DNode) -> DNode:
    """A node written ``!Fn arg`` as its argument (the same node, without the tag)."""
    if not node.tag:
        return node
    return DNode(node.kind, node.start, node.end, node.value, node.items, None, node.quoted)


def _placeholder(name: str, arg: DNode) -> str:
    """The word a hole is written as: ``${Param}`` for ``Ref``, ``${Res.Attr}`` for
    ``Fn::GetAtt``, ``${Fn::Name}`` for any other intrinsic."""
    if name == "Ref" and arg.kind == SCALAR:
        return "${" + str(arg.value) + "}"
    if name == "GetAtt":
        if arg.kind == SCALAR:
            return "${" + str(arg.value) + "}"
        if arg.kind == SEQ and all(item.kind == SCALAR for item in arg.items):
            return "${" + ".".join(str(item.value) for item in arg.items) + "}"
    return "${Fn::" + name + "}"


def _product(choices: list[list[_Parts]]) -> list[_Parts]:
    """Every combination of one alternative of each, in order, at most MAX_USER_DATA."""
    out: list[_Parts] = [[]]
    for alternatives in choices:
        out = [done + more for done in out for more in alternatives][:MAX_USER_DATA]
    return out


class _UserData:
    """Reads the UserData values of one template (see USER_DATA)."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.loc = template.loc
        self.json = template.loc.text.lstrip("\ufeff \t\r\n").startswith("{")

    def payloads(self, kind: str, address: str, props: DNode | None) -> tuple[Payload, ...]:
        path = USER_DATA.get(kind)
        if path is None or props is None:
            return ()
        out: list[Payload] = []
        for holder in _nested(props, path[:-1]):
            node = holder.get(path[-1])
            if node is None:
                continue
            span = self.loc.node_span(node)
            for parts in self.read(node, 0)[:MAX_USER_DATA]:
                if any(text for text, *_ in parts):
                    out.append(make_payload(self.loc, parts, span, address))
        return tuple(out)

    def read(self, node: DNode, depth: int) -> list[_Parts]:
        """The alternatives of a value as text, each a list of parts."""
        func = _intrinsic(node)
        if func is None:
            if node.kind == SCALAR and node.value is not None:
                return [self.literal(node, "")]
            return [[hole(compact(self.loc.source(node)))]]
        name, arg = func
        if arg is node:  # ``!Fn arg``: the argument is the node itself, without its tag
            arg = _untagged(arg)
        if depth > MAX_USER_DATA_DEPTH:
            return [[hole(_placeholder(name, arg))]]
        if name == "Base64":
            return self.read(arg, depth + 1)
        if name == "Sub":
            string, variables = arg, None
            if arg.kind == SEQ and arg.items:
                string = arg.items[0]
                variables = arg.items[1] if len(arg.items) > 1 else None
            if string.kind == SCALAR and isinstance(string.value, str) and not string.tag:
                return self.sub(string, variables, depth)
        if name == "Join" and arg.kind == SEQ and len(arg.items) == 2:
            delimiter, items = arg.items
            if delimiter.kind == SCALAR and not delimiter.tag and items.kind == SEQ:
                glue = hole("" if delimiter.value is None else str(delimiter.value))
                choices: list[list[_Parts]] = []
                for i, item in enumerate(items.items):
                    if i and glue[0]:
                        choices.append([[glue]])
                    choices.append(self.read(item, depth + 1))
                return _product(choices)
        if name == "If" and arg.kind == SEQ and len(arg.items) == 3:
            condition = arg.items[0]
            decided = (
                self.template.condition(str(condition.value)) if condition.kind == SCALAR else None
            )
            if decided is not None:
                return self.read(arg.items[1] if decided else arg.items[2], depth + 1)
            both = self.read(arg.items[1], depth + 1) + self.read(arg.items[2], depth + 1)
            return both[:MAX_USER_DATA]
        if name == "Ref" and arg.kind == SCALAR and arg.value == "AWS::NoValue":
            return [[]]
        return [[hole(_placeholder(name, arg))]]

    def literal(self, node: DNode, layer: str) -> _Parts:
        """A scalar's parts (``layer``: an escape layer inside the scalar's own, "sub")."""
        found = scalar_runs(self.loc.text, node, self.json)
        if found is None:
            return [hole(str(node.value))]
        runs, escape = found
        if layer and escape:
            escape = f"{layer}+{escape}"
        return parts_of(runs, escape)

    def sub(self, string: DNode, variables: DNode | None, depth: int) -> list[_Parts]:
        """``Fn::Sub``'s string with ``${!X}`` read as ``${X}`` (one escape part), its map's
        variables as their values (the first use of each maps to the file; a later one is a
        hole with the same text) and any other ``${Name}`` a hole written as is."""
        parts = self.literal(string, "sub")
        value = "".join(part[0] for part in parts)
        choices: list[list[_Parts]] = []
        used: dict[str, list[_Parts]] = {}
        at = 0
        for match in re.finditer(r"\$\{([^}]*)\}", value):
            name = match.group(1)
            if name.startswith("!"):
                # ``${!`` is "${"; the rest is literal text
                choices.append([_cut(parts, at, match.start())])
                choices.append([_escape_at(parts, match.start())])
                at = match.start() + 3
                continue
            choices.append([_cut(parts, at, match.start())])
            at = match.end()
            given = variables.get(name) if variables is not None and variables.kind == MAP else None
            if given is None:
                choices.append([[hole(match.group(0))]])
            elif name in used:
                choices.append([[hole("".join(p[0] for p in alt))] for alt in used[name]])
            else:
                used[name] = self.read(given, depth + 1)
                choices.append(used[name])
        choices.append([_cut(parts, at, len(value))])
        return _product(choices)


def _cut(parts: _Parts, start: int, end: int) -> _Parts:
    """The parts of the text ``[start, end)`` of ``parts`` (a part written as is may be cut;
    an escape cut in two becomes a hole)."""
    out: _Parts = []
    at = 0
    for text, source_start, source_end, escape in parts:
        lo, hi = max(start, at), min(end, at + len(text))
        if lo < hi:
            piece = text[lo - at : hi - at]
            if source_start < 0:
                out.append(hole(piece))
            elif (lo, hi) == (at, at + len(text)):
                out.append((text, source_start, source_end, escape))
            elif source_end - source_start == len(text):  # written as is
                out.append((piece, source_start + lo - at, source_start + hi - at, escape))
            else:
                out.append(hole(piece))
        at += len(text)
    return out


def _escape_at(parts: _Parts, start: int) -> _Parts:
    """``${!`` at ``start`` as the text ``${``: one escape part over the three characters when
    they are written as is in one part, else a hole."""
    at = 0
    for text, source_start, source_end, escape in parts:
        if at <= start and start + 3 <= at + len(text) and source_start >= 0:
            if source_end - source_start == len(text):
                begin = source_start + start - at
                return [("${", begin, begin + 3, escape)]
            break
        at += len(text)
    return [hole("${")]
