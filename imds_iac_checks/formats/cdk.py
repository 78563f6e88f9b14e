"""AWS CDK source: TypeScript, JavaScript and Python apps, read with tree-sitter.

The constructs that decide instance metadata options (aws-cdk-lib v2; CDK v1 ``@aws-cdk/*``
and ``aws_cdk.*`` modules are read alike):

- ``ec2.Instance(scope, id, props)``: ``requireImdsv2`` (``require_imdsv2``). Without it CDK
  writes no ``MetadataOptions`` and EC2's default allows IMDSv1. ``true`` adds
  ``InstanceRequireImdsv2Aspect`` to the instance, which gives it a launch template with
  ``HttpTokens: required``.
- ``ec2.LaunchTemplate(scope, id, props?)``: ``requireImdsv2``, ``httpTokens``
  (``LaunchTemplateHttpTokens.REQUIRED``/``OPTIONAL``; CDK's default is OPTIONAL),
  ``httpPutResponseHopLimit``, ``httpEndpoint`` (a boolean). ``requireImdsv2: true`` renders
  tokens required; together with ``httpTokens: OPTIONAL`` it is a synthesis error.
- ``autoscaling.AutoScalingGroup(scope, id, props)``: ``requireImdsv2`` (its launch
  configuration, or the launch template CDK makes for it); a group given ``launchTemplate`` (or
  ``mixedInstancesPolicy.launchTemplate``) runs with that template's options: it is linked to
  a ``LaunchTemplate`` assigned to the same name in the same file, or made inline, else IMDS004.
- ``ec2.BastionHostLinux``: an Instance with ``requireImdsv2`` of its own (read as Instance).
- ``cluster.addCapacity(id, options)`` on an ``ecs.Cluster``: an AutoScalingGroup whose options
  take no ``requireImdsv2`` (IMDS006, with the remedy), unless an AutoScalingGroup aspect
  covers it.

Construct classes are found through the file's imports, under any alias (``import * as ec2
from 'aws-cdk-lib/aws-ec2'``, ``import { Instance } from ...``, ``from aws_cdk import aws_ec2
as ec2``, ``aws_cdk.aws_ec2.Instance``); a class of the same name not imported from CDK is not
read. Settings are read where they are literal (``true``, ``False``, a number, the
``LaunchTemplateHttpTokens`` member); anything else — a variable, ``props.strict``, a props
object that is not written in the call, a ``...spread`` or ``**kwargs`` that may set the
property — is an unknown value (IMDS004) naming the expression.

Aspects (``Aspects.of(scope).add(new ec2.InstanceRequireImdsv2Aspect())``,
``LaunchTemplateRequireImdsv2Aspect``, ``autoscaling.AutoScalingGroupRequireImdsv2Aspect``)
require tokens on every construct of their type below the scope. Which constructs count as
below it, statically (anything else is not credited, so it is reported):

- ``Aspects.of(this)`` (``self``) inside a class: the constructs written in that class's body.
- ``Aspects.of(app)``, ``app`` being ``new App()``: every construct of the CDK project. The
  project is found through the ``cdk.json`` nearest above the file (at most
  :data:`MAX_UP` directories up): its ``app`` command names the entry file (``npx ts-node
  --prefer-ts-exts bin/app.ts``, ``python3 app.py``), and an aspect there covers every source
  file below the ``cdk.json``'s directory. In a file without a ``cdk.json`` above it, an aspect
  on an App in the file itself covers that file.
- ``Aspects.of(stack)``, ``stack`` being ``new SomeStack(...)``: the constructs written in the
  body of class ``SomeStack`` (in the same file, or anywhere in the project when it is the
  entry file).

A covered construct's tokens setting is "required", written where the aspect is added.
"""

from __future__ import annotations

import json
import os
import shlex
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    Payload,
    Piece,
    ScanError,
    Span,
    Target,
    Value,
    compact,
    normalize,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

    from imds_iac_checks.source import Files

FORMAT = "cdk"
MARKERS = (b"aws-cdk-lib", b"@aws-cdk/", b"aws_cdk")

# How far up from a source file its project's cdk.json is looked for.
MAX_UP = 8
# Nodes visited per file (hostile input): the walk stops there and says so.
MAX_NODES = 2_000_000
# Source files whose aspects are remembered (the entry file of each project scanned).
_CACHE_SIZE = 16

# Kinds: the construct's jsii name (as CDK's own tree.json and construct metadata say it).
INSTANCE = "aws-cdk-lib.aws_ec2.Instance"
LAUNCH_TEMPLATE = "aws-cdk-lib.aws_ec2.LaunchTemplate"
AUTO_SCALING_GROUP = "aws-cdk-lib.aws_autoscaling.AutoScalingGroup"
# ecs.Cluster#addCapacity makes an AutoScalingGroup whose options take no requireImdsv2.
CLUSTER_CAPACITY = "aws-cdk-lib.aws_ecs.Cluster#addCapacity"
KINDS = frozenset({INSTANCE, LAUNCH_TEMPLATE, AUTO_SCALING_GROUP, CLUSTER_CAPACITY})

# Resolved names (see _Names) of what is read.
_CONSTRUCTS = {
    "aws_ec2.Instance": INSTANCE,
    "aws_ec2.BastionHostLinux": INSTANCE,  # an Instance with requireImdsv2 of its own
    "aws_ec2.LaunchTemplate": LAUNCH_TEMPLATE,
    "aws_autoscaling.AutoScalingGroup": AUTO_SCALING_GROUP,
}
_ASPECTS = {
    "aws_ec2.InstanceRequireImdsv2Aspect": INSTANCE,
    "aws_ec2.LaunchTemplateRequireImdsv2Aspect": LAUNCH_TEMPLATE,
    "aws_autoscaling.AutoScalingGroupRequireImdsv2Aspect": AUTO_SCALING_GROUP,
}
_TOKENS_ENUM = "aws_ec2.LaunchTemplateHttpTokens."
# The names read (their first one or two parts): what a star import may bring.
_KNOWN = frozenset(
    {
        *(n for n in _CONSTRUCTS),
        *(n for n in _ASPECTS),
        "aws_ec2.LaunchTemplateHttpTokens",
        "aws_ec2.UserData",
        "aws_ecs.Cluster",
        "App",
        "Aspects",
    }
)

_NO_OPTIONS = {
    INSTANCE: "CDK writes no metadata options for an Instance unless requireImdsv2 is true, "
    "and EC2's default allows IMDSv1",
    LAUNCH_TEMPLATE: "CDK's default for a LaunchTemplate is LaunchTemplateHttpTokens.OPTIONAL "
    "unless requireImdsv2 is true",
    AUTO_SCALING_GROUP: "CDK writes no metadata options for an AutoScalingGroup's instances "
    "unless requireImdsv2 is true, and EC2's default allows IMDSv1",
}


class _Lang(NamedTuple):
    """How one language writes the properties read."""

    require: str
    tokens: str
    hop_limit: str
    endpoint: str
    true: str
    launch_template: str
    mixed: str


_TS = _Lang(
    "requireImdsv2",
    "httpTokens",
    "httpPutResponseHopLimit",
    "httpEndpoint",
    "true",
    "launchTemplate",
    "mixedInstancesPolicy",
)
_PY = _Lang(
    "require_imdsv2",
    "http_tokens",
    "http_put_response_hop_limit",
    "http_endpoint",
    "True",
    "launch_template",
    "mixed_instances_policy",
)


def _spec(kind: str, lang: _Lang, by_tokens: bool = False) -> KindSpec:
    fields = {TOKENS: lang.tokens if by_tokens else lang.require}
    suggest = {TOKENS: "LaunchTemplateHttpTokens.REQUIRED" if by_tokens else lang.true}
    if kind == LAUNCH_TEMPLATE:
        fields |= {HOP_LIMIT: lang.hop_limit, ENDPOINT: lang.endpoint}
        suggest |= {HOP_LIMIT: "{hop_limit}", ENDPOINT: lang.true}
    token_map = (
        {
            "LaunchTemplateHttpTokens.REQUIRED": "required",
            "LaunchTemplateHttpTokens.OPTIONAL": "optional",
        }
        if by_tokens
        else {"true": "required", "false": "optional"}
    )
    return KindSpec(
        kind,
        None,
        fields,
        suggest,
        needs_block=False,
        token_map=token_map,
        block_label="the construct",
        plugins=False,
        default_note=_NO_OPTIONS[kind],
    )


# One spec per kind and language (the property names differ); a LaunchTemplate that writes
# httpTokens (and not requireImdsv2: true) is judged on httpTokens.
TS_INSTANCE = _spec(INSTANCE, _TS)
TS_LAUNCH_TEMPLATE = _spec(LAUNCH_TEMPLATE, _TS)
TS_LAUNCH_TEMPLATE_TOKENS = _spec(LAUNCH_TEMPLATE, _TS, by_tokens=True)
TS_AUTO_SCALING_GROUP = _spec(AUTO_SCALING_GROUP, _TS)
PY_INSTANCE = _spec(INSTANCE, _PY)
PY_LAUNCH_TEMPLATE = _spec(LAUNCH_TEMPLATE, _PY)
PY_LAUNCH_TEMPLATE_TOKENS = _spec(LAUNCH_TEMPLATE, _PY, by_tokens=True)
PY_AUTO_SCALING_GROUP = _spec(AUTO_SCALING_GROUP, _PY)
CAPACITY = KindSpec(
    CLUSTER_CAPACITY,
    None,
    {},
    {},
    needs_block=False,
    plugins=False,
    remedy="add autoscaling.AutoScalingGroupRequireImdsv2Aspect to the stack or app "
    "(Aspects.of(this).add(...)), or create the AutoScalingGroup with requireImdsv2 and add it "
    "with an ecs.AsgCapacityProvider (addCapacity's options take no requireImdsv2)",
)
_SPECS = {
    "python": {
        INSTANCE: PY_INSTANCE,
        LAUNCH_TEMPLATE: PY_LAUNCH_TEMPLATE,
        AUTO_SCALING_GROUP: PY_AUTO_SCALING_GROUP,
    },
    "typescript": {
        INSTANCE: TS_INSTANCE,
        LAUNCH_TEMPLATE: TS_LAUNCH_TEMPLATE,
        AUTO_SCALING_GROUP: TS_AUTO_SCALING_GROUP,
    },
}
_TOKENS_SPECS = {"python": PY_LAUNCH_TEMPLATE_TOKENS, "typescript": TS_LAUNCH_TEMPLATE_TOKENS}


def worth(data: bytes) -> bool:
    """Whether a source file names a CDK module at all (most .py/.ts files do not)."""
    return any(marker in data for marker in MARKERS)


# --- parsing ------------------------------------------------------------------------------

_parsers: dict[str, Parser] = {}


def language_of(path: str) -> str:
    """The grammar a source file is parsed with: "python", "typescript" (``.ts``) or
    "javascript"."""
    lower = path.lower()
    if lower.endswith(".py"):
        return "python"
    if lower.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


def parser(language: str) -> Parser:
    """The tree-sitter parser of a language, made once (the grammar imported when first
    needed)."""
    if language not in _parsers:
        import tree_sitter

        if language == "python":
            import tree_sitter_python

            grammar = tree_sitter.Language(tree_sitter_python.language())
        elif language == "typescript":
            import tree_sitter_typescript

            grammar = tree_sitter.Language(tree_sitter_typescript.language_typescript())
        else:
            import tree_sitter_javascript

            grammar = tree_sitter.Language(tree_sitter_javascript.language())
        _parsers[language] = tree_sitter.Parser(grammar)
    return _parsers[language]


def first_error(root: Node) -> Node | None:
    """The first node tree-sitter could not parse (an ERROR or a MISSING node), or None."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return node
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return root


class _Positions:
    """Spans of byte ranges of one file (columns count characters)."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path, self.data = path, data
        self._starts: list[int] | None = None  # the byte offset of each line

    def span(self, start: int, end: int) -> Span:
        line, column = self.point(start)
        end_line, end_column = self.point(end)
        return Span(self.path, start, end, line, column, end_line, end_column)

    def node(self, node: Node) -> Span:
        return self.span(node.start_byte, node.end_byte)

    def point(self, byte: int) -> tuple[int, int]:
        if self._starts is None:
            lines = self.data.split(b"\n")[:-1]
            self._starts = [0, *accumulate(len(line) + 1 for line in lines)]
        line = bisect_right(self._starts, byte)
        line_start = self._starts[line - 1]
        column = len(self.data[line_start:byte].decode("utf-8", "replace")) + 1
        return line, column


def _text(data: bytes, node: Node) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", "replace")


# --- one file -------------------------------------------------------------------------------


class _Construct(NamedTuple):
    kind: str
    node: Node  # the whole call
    callee: Node
    args: Node  # arguments / argument_list
    klass: str | None  # the class whose body writes it
    variable: str | None  # the name it is assigned to
    first: int = 1  # the index of the construct id among the arguments (0: addCapacity)


class _Aspect(NamedTuple):
    kind: str  # the construct kind it covers
    node: Node  # the whole Aspects.of(...).add(...) call
    scope: str  # "app", "this" or "class"
    klass: str | None  # "this": the enclosing class; "class": the stack class instantiated
    condition: str | None = None  # added only when this holds (an ``if``, a loop, ...)


class _File:
    """One parsed source file: its imports, constructs and aspects."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path, self.data = path, data
        self._starts: list[int] | None = None  # the byte offset of each line
        self.language = language_of(path)
        self.tree = parser(self.language).parse(data)
        self.py = self.language == "python"
        self.names: dict[str, str] = {}  # local name -> resolved dotted name ("" = CDK root)
        self.stars: list[str] = []  # modules imported with ``from aws_cdk.aws_ec2 import *``
        self.constructs: list[_Construct] = []
        self.aspects: list[_Aspect] = []
        self.apps: set[str] = set()  # variables holding an App
        self.stacks: dict[str, str] = {}  # variable -> the class it is an instance of
        self.clusters: set[str] = set()  # variables holding an ecs.Cluster
        # (class, variable) -> the UserData object assigned to it, and the commands added
        self.user_data: dict[tuple[str | None, str], _UserData] = {}
        # (class, construct variable) -> commands added through the construct
        # (``instance.addUserData(...)``, ``instance.userData.addCommands(...)``)
        self.added: dict[tuple[str | None, str], _UserData] = {}
        self.construct_names: set[tuple[str | None, str]] = set()  # (class, variable)
        self.truncated = False
        self._read()

    # names

    def resolve(self, node: Node | None) -> str | None:
        """The CDK name an expression stands for (``aws_ec2.Instance``), or None."""
        parts: list[str] = []
        while node is not None and node.type in ("member_expression", "attribute"):
            prop = node.child_by_field_name("property" if not self.py else "attribute")
            if prop is None:
                return None
            parts.append(_text(self.data, prop))
            node = node.child_by_field_name("object")
        if node is None or node.type != "identifier":
            return None
        ident = _text(self.data, node)
        base = self.names.get(ident)
        if base is None:
            return self._starred(ident, list(reversed(parts)))
        name = ".".join(filter(None, [base, *reversed(parts)]))
        return name.removeprefix("core.")

    def _starred(self, ident: str, parts: list[str]) -> str | None:
        """A name a star import brings (``from aws_cdk.aws_ec2 import *``): only the names
        this reader knows (a name of the file's own is not taken for a CDK class)."""
        for module in self.stars:
            if module == "" and ident.startswith("aws_"):
                name = ".".join([ident, *parts])
            else:
                name = ".".join(filter(None, [module, ident, *parts]))
            if name.split(".")[0] == "core":
                name = name.removeprefix("core.")
            head = ".".join(name.split(".")[:2]) if "." in name else name
            if head in _KNOWN or name.split(".")[0] in _KNOWN:
                return name
        return None

    def _module(self, source: str) -> str | None:
        """The resolved prefix of a module: "" for the CDK root (``aws-cdk-lib``,
        ``aws_cdk``, ``@aws-cdk/core``), ``aws_ec2`` for ``aws-cdk-lib/aws-ec2``,
        ``@aws-cdk/aws-ec2`` and ``aws_cdk.aws_ec2``; None for anything else."""
        if self.py:
            if source == "aws_cdk":
                return ""
            if source.startswith("aws_cdk."):
                rest = source.removeprefix("aws_cdk.")
                return "" if rest == "core" else rest
            return None
        if source in ("aws-cdk-lib", "@aws-cdk/core", "aws-cdk-lib/core"):
            return ""
        for prefix in ("aws-cdk-lib/", "@aws-cdk/"):
            if source.startswith(prefix):
                return source.removeprefix(prefix).replace("-", "_")
        return None

    def _imports(self, node: Node) -> None:
        data = self.data
        if node.type == "import_statement" and self.py:
            for child in node.children_by_field_name("name"):
                if child.type == "aliased_import":
                    dotted, alias = (
                        child.child_by_field_name("name"),
                        child.child_by_field_name("alias"),
                    )
                    if dotted is not None and alias is not None:
                        module = self._module(_text(data, dotted))
                        if module is not None:
                            self.names[_text(data, alias)] = module
                elif child.type == "dotted_name" and _text(data, child).startswith("aws_cdk"):
                    self.names["aws_cdk"] = ""  # import aws_cdk.aws_ec2: aws_cdk.aws_ec2.X
        elif node.type == "import_from_statement":
            source = node.child_by_field_name("module_name")
            module = self._module(_text(data, source)) if source is not None else None
            if module is None:
                return
            if any(c.type == "wildcard_import" for c in node.children):
                self.stars.append(module)
            for child in node.children_by_field_name("name"):
                name, alias = child, child
                if child.type == "aliased_import":
                    name = child.child_by_field_name("name") or child
                    alias = child.child_by_field_name("alias") or name
                self.names[_text(data, alias)] = ".".join(filter(None, [module, _text(data, name)]))
        elif node.type == "import_statement":  # TypeScript / JavaScript
            source = node.child_by_field_name("source")
            required = next((c for c in node.children if c.type == "import_require_clause"), None)
            if source is None and required is not None:
                source = required.child_by_field_name("source")
            if source is None:
                return
            module = self._module(_text(data, source).strip("'\"`"))
            if module is None:
                return
            for clause in node.children:
                if clause.type == "import_require_clause":  # import ec2 = require('...')
                    ident = next((c for c in clause.children if c.type == "identifier"), None)
                    if ident is not None:
                        self.names[_text(data, ident)] = module
                    continue
                if clause.type != "import_clause":
                    continue
                for part in clause.children:
                    if part.type == "namespace_import":
                        ident = next((c for c in part.children if c.type == "identifier"), None)
                        if ident is not None:
                            self.names[_text(data, ident)] = module
                    elif part.type == "identifier":  # a default import: the module itself
                        self.names[_text(data, part)] = module
                    elif part.type == "named_imports":
                        self._specifiers(part, module)

    def _specifiers(self, named: Node, module: str) -> None:
        for spec in named.children:
            if spec.type not in ("import_specifier", "shorthand_property_identifier_pattern"):
                if spec.type == "pair_pattern":  # const { Instance: I } = require(...)
                    key, value = spec.child_by_field_name("key"), spec.child_by_field_name("value")
                    if key is not None and value is not None:
                        name = _text(self.data, key)
                        self.names[_text(self.data, value)] = ".".join(filter(None, [module, name]))
                continue
            if spec.type == "shorthand_property_identifier_pattern":
                name = alias = _text(self.data, spec)
            else:
                name_node = spec.child_by_field_name("name")
                alias_node = spec.child_by_field_name("alias") or name_node
                if name_node is None or alias_node is None:
                    continue
                name, alias = _text(self.data, name_node), _text(self.data, alias_node)
            self.names[alias] = ".".join(filter(None, [module, name]))

    def _alias(self, node: Node) -> None:
        """``const ec2 = cdk.aws_ec2`` and ``const { aws_autoscaling: asg } = cdk``: another
        name for a CDK module or class (a ``const``: never assigned again)."""
        declaration = node.parent
        if declaration is None or declaration.type != "lexical_declaration":
            return
        if not any(c.type == "const" for c in declaration.children):
            return
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if name is None or value is None:
            return
        if value.type not in ("identifier", "member_expression"):
            return
        module = self.resolve(value)
        if module is None:
            return
        if name.type == "identifier":
            self.names[_text(self.data, name)] = module
        elif name.type == "object_pattern":
            self._specifiers(name, module)

    def _require(self, node: Node) -> None:
        """``const ec2 = require('aws-cdk-lib/aws-ec2')`` (CommonJS)."""
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if name is None or value is None:
            return
        if value.type != "call_expression":
            self._alias(node)
            return
        function = value.child_by_field_name("function")
        args = value.child_by_field_name("arguments")
        if function is None or _text(self.data, function) != "require" or args is None:
            return
        strings = [c for c in args.named_children if c.type == "string"]
        if len(strings) != 1:
            return
        module = self._module(_text(self.data, strings[0]).strip("'\""))
        if module is None:
            return
        if name.type == "identifier":
            self.names[_text(self.data, name)] = module
        elif name.type == "object_pattern":
            self._specifiers(name, module)

    # the walk

    def _read(self) -> None:
        root = self.tree.root_node
        # imports first: they may come after their first use only in hoisted JavaScript
        for child in root.children:
            target = child
            if child.type in ("lexical_declaration", "variable_declaration"):
                for declarator in child.named_children:
                    if declarator.type == "variable_declarator":
                        self._require(declarator)
                continue
            self._imports(target)
        if not self.names and not self.stars:
            return
        stack: list[tuple[Node, str | None]] = [(root, None)]
        visited = 0
        while stack:
            node, klass = stack.pop()
            visited += 1
            if visited > MAX_NODES:
                self.truncated = True
                return
            kind = node.type
            if kind in (
                "class_declaration",
                "abstract_class_declaration",
                "class",
                "class_definition",
            ):
                name = node.child_by_field_name("name")
                klass = _text(self.data, name) if name is not None else None
            elif kind in ("new_expression", "call_expression", "call"):
                self._call(node, klass)
            elif kind in ("import_statement", "import_from_statement") and self.py:
                self._imports(node)  # imports inside functions
            elif kind == "variable_declarator" and node.parent is not root:
                self._alias(node)  # const ec2 = cdk.aws_ec2 inside a function
            stack.extend((child, klass) for child in reversed(node.children))

    def _call(self, node: Node, klass: str | None) -> None:
        if node.type == "new_expression":
            callee = node.child_by_field_name("constructor")
        else:
            callee = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if callee is None or args is None:
            return
        name = self.resolve(callee)
        if name in _USER_DATA_MAKERS:
            variable = self._assigned(node)
            if variable is not None:
                self.user_data[(klass, variable)] = _UserData.made(self, node, name, args)
        elif name is None and callee.type in ("member_expression", "attribute"):
            self._commands(node, callee, args, klass)
        if name in _CONSTRUCTS:
            variable = self._assigned(node)
            self.constructs.append(
                _Construct(_CONSTRUCTS[name], node, callee, args, klass, variable)
            )
            if variable is not None:
                self.construct_names.add((klass, variable))
        elif name == "aws_ecs.Cluster":
            variable = self._assigned(node)
            if variable is not None:
                self.clusters.add(variable)
        elif name is None and self._capacity(callee):
            # ecs.Cluster#addCapacity(id, options): an AutoScalingGroup of the cluster's
            self.constructs.append(
                _Construct(CLUSTER_CAPACITY, node, callee, args, klass, None, first=0)
            )
        elif name == "App":
            variable = self._assigned(node)
            if variable is not None:
                self.apps.add(variable)
        elif name is None and node.type in ("new_expression", "call"):
            # an instance of a class of this code (a stack): remembered by variable
            variable = self._assigned(node)
            if variable is not None and callee.type == "identifier":
                self.stacks[variable] = _text(self.data, callee)
        if callee.type in ("member_expression", "attribute"):
            self._aspect(node, callee, args, klass)

    def _commands(self, call: Node, callee: Node, args: Node, klass: str | None) -> None:
        """``userData.addCommands(...)`` on a UserData variable, ``instance.addUserData(...)``
        and ``instance.userData.addCommands(...)`` on a construct's variable."""
        prop = callee.child_by_field_name("attribute" if self.py else "property")
        holder = callee.child_by_field_name("object")
        if prop is None or holder is None:
            return
        method = _text(self.data, prop)
        adds = method in _ADD_COMMANDS or method in _EXECUTES
        if not adds and method not in ("addUserData", "add_user_data"):
            return
        text = _text(self.data, holder)
        found = (
            (self.user_data.get((klass, text)) or self.user_data.get((None, text)))
            if adds
            else None
        )
        if found is None:
            if adds:
                text = text.removesuffix(".userData").removesuffix(".user_data")
            if (klass, text) not in self.construct_names:
                return
            found = self.added.setdefault((klass, text), _UserData("linux", None, [], []))
        if method in _EXECUTES:
            found.unread.append(call)  # runs a file (an asset): what it calls is not read here
            return
        found.commands.extend(c for c in args.named_children if c.type != "comment")

    def _capacity(self, callee: Node) -> bool:
        """``cluster.addCapacity`` (``add_capacity``) on a variable holding an ecs.Cluster."""
        if callee.type not in ("member_expression", "attribute"):
            return False
        prop = callee.child_by_field_name("attribute" if self.py else "property")
        holder = callee.child_by_field_name("object")
        return (
            prop is not None
            and holder is not None
            and _text(self.data, prop) in ("addCapacity", "add_capacity")
            and _text(self.data, holder) in self.clusters
        )

    def _assigned(self, node: Node) -> str | None:
        """The name a construct is assigned to (``const lt = new ...``, ``self.lt = ...``)."""
        parent = node.parent
        while parent is not None and parent.type in (
            "parenthesized_expression",
            "as_expression",
            "non_null_expression",
            "satisfies_expression",
        ):
            node, parent = parent, parent.parent
        if parent is None:
            return None
        if parent.type == "variable_declarator" and parent.child_by_field_name("value") == node:
            name = parent.child_by_field_name("name")
        elif parent.type in ("assignment", "assignment_expression") and (
            parent.child_by_field_name("right") == node
        ):
            name = parent.child_by_field_name("left")
        else:
            return None
        if name is None or name.type not in (
            "identifier",
            "member_expression",
            "attribute",
        ):
            return None
        return _text(self.data, name)

    def _aspect(self, node: Node, callee: Node, args: Node, klass: str | None) -> None:
        """``Aspects.of(scope).add(new Aspect())``."""
        prop = callee.child_by_field_name("attribute" if self.py else "property")
        of_call = callee.child_by_field_name("object")
        if prop is None or _text(self.data, prop) != "add" or of_call is None:
            return
        if of_call.type not in ("call_expression", "call"):
            return
        of = of_call.child_by_field_name("function")
        of_args = of_call.child_by_field_name("arguments")
        if of is None or of_args is None or self.resolve(of) != "Aspects.of":
            return
        scopes = [c for c in of_args.named_children if c.type != "comment"]
        added = [c for c in args.named_children if c.type != "comment"]
        if (
            len(scopes) != 1
            or len(added) != 1
            or added[0].type
            not in (
                "new_expression",
                "call",
            )
        ):
            return
        aspect = added[0].child_by_field_name("function" if self.py else "constructor")
        covered = _ASPECTS.get(self.resolve(aspect) or "")
        if covered is None:
            return
        scope = _text(self.data, scopes[0])
        condition = self._condition(node)
        if scope in ("this", "self"):
            if klass is not None:
                self.aspects.append(_Aspect(covered, node, "this", klass, condition))
        elif scope in self.apps:
            self.aspects.append(_Aspect(covered, node, "app", None, condition))
        elif scope in self.stacks:
            self.aspects.append(_Aspect(covered, node, "class", self.stacks[scope], condition))

    def _condition(self, node: Node) -> str | None:
        """When a statement runs, if not always (within its function): the conditions of the
        ``if``s, ``&&``/``and``, ternaries, loops, ``case``s and ``catch``es around it."""
        found: list[str] = []
        child, parent = node, node.parent
        while parent is not None and parent.type not in _SCOPES:
            kind = parent.type
            if kind in (
                "if_statement",
                "elif_clause",
                "ternary_expression",
                "conditional_expression",
            ):
                test = parent.child_by_field_name("condition")
                if kind == "conditional_expression":  # Python: a if test else b
                    parts = [c for c in parent.named_children]
                    test = parts[1] if len(parts) == 3 else None
                    negate = len(parts) == 3 and child == parts[2]
                else:
                    negate = child.type == "else_clause" or (
                        child == parent.child_by_field_name("alternative")
                    )
                if test is not None and child != test:
                    text = _text(self.data, test)
                    if test.type == "parenthesized_expression":
                        text = text[1:-1]
                    found.append(f"not ({compact(text, 60)})" if negate else compact(text, 60))
            elif kind in ("binary_expression", "boolean_operator"):
                left = parent.child_by_field_name("left")
                operator = parent.child_by_field_name("operator")
                op = _text(self.data, operator) if operator is not None else ""
                if left is not None and child != left and op in ("&&", "||", "??", "and", "or"):
                    text = compact(_text(self.data, left), 60)
                    found.append(text if op in ("&&", "and") else f"not ({text})")
            elif kind in _LOOPS:
                found.append(f"the {_LOOPS[kind]} loop runs")
            elif kind in ("switch_case", "case_clause"):
                value = parent.child_by_field_name("value")
                found.append(f"case {compact(_text(self.data, value), 40)}" if value else "a case")
            elif kind in ("catch_clause", "except_clause"):
                found.append("an exception is caught")
            child, parent = parent, parent.parent
        return " and ".join(reversed(found)) or None


# Where a statement's function ends (the conditions around an aspect are looked for up to it).
_SCOPES = frozenset(
    {
        "program",
        "module",
        "class_body",
        "function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "function_definition",
        "generator_function_declaration",
        "lambda",
    }
)
_LOOPS = {
    "for_statement": "for",
    "for_in_statement": "for",
    "while_statement": "while",
    "do_statement": "do",
}

# --- user data ------------------------------------------------------------------------------

# ec2.UserData's factories (resolved names) and the operating system each renders for.
_USER_DATA_MAKERS = {
    "aws_ec2.UserData.forLinux": "linux",
    "aws_ec2.UserData.for_linux": "linux",
    "aws_ec2.UserData.forWindows": "windows",
    "aws_ec2.UserData.for_windows": "windows",
    "aws_ec2.UserData.custom": "custom",
}
# Methods whose string arguments are lines of the script (on exit: in the script's EXIT trap).
_ADD_COMMANDS = ("addCommands", "add_commands", "addOnExitCommands", "add_on_exit_commands")
# Methods that run a file: its content is not read (the fix of the tokens becomes unsafe).
# (addS3DownloadCommand runs the AWS CLI, addSignalOnExitCommand cfn-signal: both use IMDSv2.)
_EXECUTES = ("addExecuteFileCommand", "add_execute_file_command")


class _UserData(NamedTuple):
    """A UserData object as written: for which OS, the string it starts from (the ``shebang``
    of ``forLinux({ shebang })``, the content of ``custom(...)``), the commands added to it
    (argument nodes, in source order), and what is not read (a props object that is not
    written, an argument spread)."""

    system: str  # "linux", "windows" or "custom"
    head: Node | None
    commands: list[Node]
    unread: list[Node]

    @staticmethod
    def made(parsed: _File, call: Node, name: str, args: Node) -> _UserData:
        system = _USER_DATA_MAKERS[name]
        given = [c for c in args.named_children if c.type != "comment"]
        head: Node | None = None
        unread: list[Node] = []
        if system == "custom":
            if given:
                head = given[0]
        elif given:
            options = _unwrapped(given[0])
            shebang = (
                _inner(parsed, options, "shebang") if options.type in ("object", "call") else None
            )
            if parsed.py:
                shebang = next(
                    (
                        a.child_by_field_name("value")
                        for a in given
                        if a.type == "keyword_argument"
                        and _text(parsed.data, a.child_by_field_name("name") or a) == "shebang"
                    ),
                    shebang,
                )
            if shebang is not None:
                head = shebang
            elif options.type not in ("object", "call", "keyword_argument"):
                unread.append(options)
        return _UserData(system, head, [], unread)


_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"', "`": "`",
    "$": "$", "b": "\b", "f": "\f", "v": "\v",
}  # fmt: skip


_STRINGS = ("string", "template_string", "concatenated_string")


class _Text:
    """A payload's text built from string literals of the source (pieces) and holes."""

    def __init__(self, parsed: _File, pos: _Positions) -> None:
        self.parsed, self.pos = parsed, pos
        self.parts: list[str] = []
        self.pieces: list[Piece] = []
        self.at = 0
        self.unread: list[Node] = []

    def hole(self, text: str) -> None:
        self.parts.append(text)
        self.at += len(text)

    def piece(self, text: str, start: int, end: int, escape: str) -> None:
        if not text:
            return
        span = self.pos.span(start, end)
        self.pieces.append(Piece(self.at, self.at + len(text), span, escape))
        self.hole(text)

    def string(self, node: Node) -> None:
        """A string argument: its literal runs as pieces, escapes decoded, what is evaluated
        (``${x}``, ``{x}``) as holes; anything else is not read (a hole, remembered)."""
        node = _unwrapped(node)
        if node.type in ("binary_expression", "binary_operator"):
            # 'aws s3 cp s3://' + bucket.bucketName + '/x.sh': the strings, the rest holes
            operator = node.child_by_field_name("operator")
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if operator is not None and _text(self.parsed.data, operator) == "+" and left and right:
                for side in (left, right):
                    if _unwrapped(side).type in (*_STRINGS, "binary_expression", "binary_operator"):
                        self.string(side)
                    else:
                        self.hole(f"${{{compact(_text(self.parsed.data, side), 40)}}}")
                return
        if node.type == "concatenated_string":  # Python: "a" "b"
            for part in node.named_children:
                if part.type == "string":
                    self.string(part)
            return
        if node.type == "call" and self.parsed.py:
            # "mv {} x.conf".format(path): the string, its placeholders as written
            function = node.child_by_field_name("function")
            owner = function.child_by_field_name("object") if function is not None else None
            method = function.child_by_field_name("attribute") if function is not None else None
            if (
                owner is not None
                and method is not None
                and owner.type == "string"
                and _text(self.parsed.data, method) == "format"
            ):
                self.string(owner)
                return
        if node.type not in _STRINGS:
            self.unread.append(node)
            self.hole(f"${{{compact(_text(self.parsed.data, node), 40)}}}")
            return
        data = self.parsed.data
        prefix = ""
        if self.parsed.py:
            start = node.children[0] if node.children else None
            prefix = _text(data, start).lower() if start is not None else ""
            body_start = start.end_byte if start is not None else node.start_byte
            body_end = node.children[-1].start_byte if node.child_count > 1 else node.end_byte
        else:
            body_start, body_end = node.start_byte + 1, node.end_byte - 1
        raw = "r" in prefix
        formatted = "f" in prefix
        quote = data[body_start - 1 : body_start]
        if node.type == "template_string" or raw or formatted or "b" in prefix:
            escape = ""  # text inserted there would need more than backslash escapes
        else:
            escape = f"code-string:{quote.decode()}" if quote in (b"'", b'"') else ""
        holes: list[Node] = []
        stack = list(node.children)
        while stack:
            child = stack.pop()
            evaluated = child.type in ("template_substitution", "interpolation")
            if evaluated or (child.type == "escape_sequence" and not raw):
                holes.append(child)
            elif child.type == "string_content":
                stack.extend(child.children)
        at = body_start
        for hole in sorted(holes, key=lambda h: h.start_byte):
            self._run(at, hole.start_byte, escape)
            text = _text(data, hole)
            if hole.type == "escape_sequence":
                value = _decode_escape(text)
                if value is None:
                    self.hole(text)
                else:
                    self.piece(value, hole.start_byte, hole.end_byte, escape)
            else:
                inner = text[2:-1] if text.startswith("${") else text[1:-1]
                self.hole(f"${{{compact(inner, 40)}}}")
            at = hole.end_byte
        self._run(at, body_end, escape)

    def _run(self, start: int, end: int, escape: str) -> None:
        if start < end:
            self.piece(self.parsed.data[start:end].decode("utf-8", "replace"), start, end, escape)


def _decode_escape(text: str) -> str | None:
    """The character a backslash escape of a JavaScript or Python string stands for ("" for
    a line continuation), or None for one not decoded here (``\\u{...}``, ``\\N{...}``)."""
    body = text[1:]
    if body in _ESCAPES:
        return _ESCAPES[body]
    if body[:1] in ("\n", "\r"):
        return ""
    if (body[:1] == "x" and len(body) == 3) or (body[:1] == "u" and len(body) == 5):
        try:
            return chr(int(body[1:], 16))
        except ValueError:
            return None
    return None


def _user_data(
    parsed: _File, pos: _Positions, construct: _Construct, props: _Props, address: str
) -> tuple[tuple[Payload, ...], str | None]:
    """The user data CDK renders for a construct from its ``userData`` prop (a UserData
    variable of the same class, or made in the call) and the commands added through the
    construct; and where user data it is given cannot be read (``Target.blocked_by``)."""
    lang = "user_data" if parsed.py else "userData"
    given = props.values.get(lang)
    unread: list[Node] = []
    found: _UserData | None = None
    if props.unknown is not None:
        unread.append(props.unknown)
    elif given is None and props.trailing:
        unread.append(props.trailing[-1])
    elif given is not None:
        value = _unwrapped(given)
        if value.type in ("call_expression", "call"):
            callee = value.child_by_field_name("function")
            args = value.child_by_field_name("arguments")
            name = parsed.resolve(callee)
            if name in _USER_DATA_MAKERS and args is not None:
                found = _UserData.made(parsed, value, name, args)
        else:
            name = _text(parsed.data, value)
            # a variable of the class, or of the module (made outside every class)
            found = parsed.user_data.get((construct.klass, name)) or parsed.user_data.get(
                (None, name)
            )
        if found is None:
            unread.append(given)
    added = parsed.added.get((construct.klass, construct.variable or ""))
    if found is None and added is not None and not unread:
        found = added
    elif found is not None and added is not None:
        found = found._replace(commands=[*found.commands, *added.commands])
    payloads: tuple[Payload, ...] = ()
    if found is not None:
        text = _Text(parsed, pos)
        if found.system == "custom":
            if found.head is not None:
                text.string(found.head)
        else:
            if found.system == "windows":
                text.hole("<powershell>")
            elif found.head is not None:
                text.string(found.head)
                text.hole("\n")
            else:
                text.hole("#!/bin/bash\n")
            for index, command in enumerate(found.commands):
                if command.type in ("spread_element", "list_splat"):
                    text.unread.append(command)
                    continue
                if index:
                    text.hole("\n")
                text.string(command)
            if found.system == "windows":
                text.hole("</powershell>")
        unread += found.unread + text.unread
        span = pos.node(given if given is not None else construct.node)
        payloads = (
            Payload("".join(text.parts), tuple(text.pieces), span, "user data", owner=address),
        )
    if not unread:
        return payloads, None
    places = [
        f"{pos.path}:{pos.point(n.start_byte)[0]} ({compact(_text(parsed.data, n), 40)})"
        for n in unread
    ]
    shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
    return payloads, (
        f"the user data given at {shown} is not read: code that runs on the instances may call "
        "IMDSv1; check it first"
    )


# --- targets ----------------------------------------------------------------------------------


class _Cover(NamedTuple):
    """An aspect that covers a construct: where it is added (a span of its file)."""

    kind: str
    klass: str | None  # None: every construct
    span: Span
    text: str
    condition: str | None = None  # added only when this holds


def targets(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Target], list[ScanError]]:
    """The constructs of one CDK source file that decide metadata options, as Targets."""
    if (
        origin is not None
        and origin.lower().endswith(".js")
        and os.path.isfile(origin[:-3] + ".ts")
    ):
        return [], []  # tsc's output of the TypeScript file beside it, which is read
    parsed = _File(shown, data)
    errors: list[ScanError] = []
    if not parsed.constructs:
        return [], errors
    pos = _Positions(shown, data)
    bad = first_error(parsed.tree.root_node)
    if bad is not None:
        line, column = pos.point(bad.start_byte)
        errors.append(
            ScanError(
                shown,
                line,
                column,
                f"{parsed.language} syntax error: the constructs in the part that does not "
                "parse may be misread",
            )
        )
    if parsed.truncated:
        errors.append(ScanError(shown, 1, 1, f"too large: only the first {MAX_NODES} nodes read"))
    covers = _own_covers(parsed, pos) + _project_covers(shown, origin, files)
    out = [
        target
        for construct in parsed.constructs
        if (target := _target(parsed, pos, construct, covers, errors)) is not None
    ]
    return out, errors


def _own_covers(parsed: _File, pos: _Positions) -> list[_Cover]:
    return [
        _Cover(
            a.kind,
            None if a.scope == "app" else a.klass,
            pos.node(a.node),
            compact(_text(parsed.data, a.node)),
            a.condition,
        )
        for a in parsed.aspects
    ]


_entries: dict[tuple[str, bytes], list[_Cover]] = {}


def _project_covers(shown: str, origin: str | None, files: Files | None) -> list[_Cover]:
    """The aspects the entry file of the file's CDK project adds to its App (or to the stacks
    it makes), found through the nearest ``cdk.json`` above the file."""
    if origin is None:
        return []
    from imds_iac_checks import source

    reader = files if files is not None else source.Files()
    absolute = os.path.abspath(origin)
    directory = os.path.dirname(absolute)
    for _ in range(MAX_UP + 1):
        config = os.path.join(directory, "cdk.json")
        if os.path.isfile(config):
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            return []
        directory = parent
    else:
        return []
    try:
        settings = json.loads(reader.read(config))
    except (OSError, ValueError, RecursionError):
        return []
    command = settings.get("app") if isinstance(settings, dict) else None
    if not isinstance(command, str):
        return []
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    entry = next(
        (w for w in words if w.lower().endswith((".ts", ".js", ".mjs", ".cjs", ".py"))), None
    )
    if entry is None:
        return []
    entry_path = os.path.normpath(os.path.join(directory, entry))
    if entry_path == absolute:
        return []  # the file itself: its own aspects are read
    try:
        entry_data = reader.read(entry_path)
    except OSError:
        return []
    key = (entry_path, entry_data)
    if key not in _entries:
        relative = os.path.relpath(entry_path, os.path.dirname(absolute))
        entry_shown = os.path.normpath(os.path.join(os.path.dirname(shown), relative))
        if not worth(entry_data):
            found: list[_Cover] = []
        else:
            entry_file = _File(entry_shown, entry_data)
            found = _own_covers(entry_file, _Positions(entry_shown, entry_data))
            found = [c for c in found if c.klass is None or c.klass in entry_file.stacks.values()]
        if len(_entries) >= _CACHE_SIZE:
            _entries.pop(next(iter(_entries)))
        _entries[key] = found
    return _entries[key]


class _Props(NamedTuple):
    """A construct's props as written: each property's value node (the last one written),
    the spreads before it, and the node a property is added to."""

    values: dict[str, Node]
    spreads: dict[str, list[Node]]  # property -> the spreads written after it
    trailing: list[Node]  # spreads after every property written (or all spreads)
    container: Node
    unknown: Node | None  # the props are an expression, not written in the call


def _props(parsed: _File, construct: _Construct) -> _Props:
    data = parsed.data
    args = [c for c in construct.args.named_children if c.type != "comment"]
    values: dict[str, Node] = {}
    after: dict[str, list[Node]] = {}
    spreads: list[Node] = []
    if parsed.py:
        items = [a for a in args if a.type in ("keyword_argument", "dictionary_splat")]
        container = construct.args
        unknown = None
    else:
        if len(args) < construct.first + 2:
            return _Props({}, {}, [], construct.args, None)
        props = _unwrapped(args[construct.first + 1])
        if props.type != "object":
            return _Props({}, {}, [], props, props)
        items = list(props.named_children)
        container = props
        unknown = None
    for item in items:
        if item.type in ("keyword_argument", "pair"):
            key = item.child_by_field_name("name" if parsed.py else "key")
            value = item.child_by_field_name("value")
            if key is None or value is None:
                continue
            name = _text(data, key).strip("'\"")
            values[name] = value
            after[name] = []
        elif item.type == "shorthand_property_identifier":
            values[_text(data, item)] = item
            after[_text(data, item)] = []
        elif item.type in ("spread_element", "dictionary_splat"):
            spreads.append(item)
            for later in after.values():
                later.append(item)
    trailing = (
        spreads
        if not values
        else [s for s in spreads if s.start_byte > max(v.start_byte for v in values.values())]
    )
    return _Props(values, after, spreads if not values else trailing, container, unknown)


# Expressions that only say the type of what they wrap: ``{...} as ec2.InstanceProps``,
# ``{...} satisfies ...``, ``<ec2.InstanceProps>{...}``, ``({...})``, ``x!``.
_WRAPPERS = (
    "as_expression",
    "satisfies_expression",
    "type_assertion",
    "parenthesized_expression",
    "non_null_expression",
)


def _unwrapped(node: Node) -> Node:
    """The expression a cast or parentheses wrap (the object literal of ``{...} as T``)."""
    while node.type in _WRAPPERS:
        inner = [c for c in node.named_children if c.type not in ("comment", "type_arguments")]
        if not inner:
            break
        # a type assertion writes the type first (<T>expr); the others the expression first
        node = inner[-1] if node.type == "type_assertion" else inner[0]
    return node


def _target(
    parsed: _File,
    pos: _Positions,
    construct: _Construct,
    covers: list[_Cover],
    errors: list[ScanError],
) -> Target | None:
    """The target of a construct; None for a cluster's capacity that an aspect covers."""
    data = parsed.data
    lang = _PY if parsed.py else _TS
    language = "python" if parsed.py else "typescript"
    if construct.kind == CLUSTER_CAPACITY:
        if any(
            c.kind == AUTO_SCALING_GROUP and c.klass in (None, construct.klass) and not c.condition
            for c in covers
        ):
            return None  # the aspect requires tokens on the group addCapacity makes
        spec = CAPACITY
    else:
        spec = _SPECS[language][construct.kind]
    props = _props(parsed, construct)
    settings: dict[str, tuple[Value, ...]] = {}

    def read(field: str, key: str, use: KindSpec) -> Value | None:
        """The value of a property, or an unknown value when it is not written but a spread or
        a props expression may set it; None when it is not set."""
        if props.unknown is not None:
            return _unknown(
                pos,
                props.unknown,
                f"{compact(_text(data, props.unknown))} (the "
                f"props are not written in the call: {field} may be set there)",
            )
        node = props.values.get(field)
        later = props.spreads.get(field, []) if node is not None else props.trailing
        if later:
            spread = later[-1]
            return _unknown(pos, spread, f"{compact(_text(data, spread))} (may set {field})")
        if node is None:
            return None
        return _literal(parsed, pos, use, key, node)

    ref: Value | None = None
    if construct.kind == AUTO_SCALING_GROUP:
        ref = _template_ref(parsed, pos, props, lang)
    if construct.kind == LAUNCH_TEMPLATE:
        require = read(lang.require, TOKENS, spec)
        tokens_spec = _TOKENS_SPECS[language]
        tokens = read(lang.tokens, TOKENS, tokens_spec)
        if require is not None and require.known and require.value == "required":
            settings[TOKENS] = (require,)
            if tokens is not None and tokens.known and tokens.value == "optional":
                # cdk synth fails ("httpTokens must be required when requireImdsv2 is true"):
                # judged on httpTokens, which the fix makes REQUIRED
                spec = tokens_spec
                why = (
                    f"with {lang.require} {lang.true}, cdk synth fails: requireImdsv2 with OPTIONAL"
                )
                link = Link(tokens.span, LinkKind.REFERENCE, why)
                settings[TOKENS] = (tokens._replace(provenance=(link,)),)
        elif tokens is not None and (
            (tokens.known and tokens.value == "required") or require is None or require.known
        ):
            spec = tokens_spec
            settings[TOKENS] = (tokens,)
        elif require is not None:
            settings[TOKENS] = (require,)
        for key, field in ((HOP_LIMIT, lang.hop_limit), (ENDPOINT, lang.endpoint)):
            value = read(field, key, spec)
            if value is not None and (value.known or key != ENDPOINT or field in props.values):
                # (an endpoint a spread may set is not reported: it could only turn IMDS off)
                settings[key] = (value,)
    elif ref is None and construct.kind != CLUSTER_CAPACITY:
        value = read(lang.require, TOKENS, spec)
        if value is not None:
            settings[TOKENS] = (value,)
    for cover in covers:
        if cover.kind == construct.kind and (cover.klass is None or cover.klass == construct.klass):
            if construct.kind == AUTO_SCALING_GROUP and ref is not None:
                continue  # the aspect does not reach a template the group is given
            if cover.condition:
                # added only when a condition holds: required then, else as written
                current = settings.get(TOKENS, ())
                if current and all(v.known and v.value == "required" for v in current):
                    break
                link = Link(cover.span, LinkKind.EXPRESSION)
                text = f"{cover.condition} (only then is {cover.text} added)"
                settings[TOKENS] = (Value(False, None, None, text, (link,)),)
                break
            link = Link(cover.span, LinkKind.LITERAL)
            settings[TOKENS] = (Value(True, "required", True, cover.text, (link,)),)
            if construct.kind == LAUNCH_TEMPLATE:
                spec = _SPECS[language][LAUNCH_TEMPLATE]
            break
    identifier = _construct_id(parsed, construct)
    address = f"{construct.klass}/{identifier}" if construct.klass else identifier
    user_data: tuple[Payload, ...] = ()
    unread: str | None = None
    if construct.kind != CLUSTER_CAPACITY:
        user_data, unread = _user_data(parsed, pos, construct, props, address)
    # a LaunchTemplate is found by the name it is assigned to, as written (``lt``, ``this.lt``),
    # or, made inside an Auto Scaling group's props, by where it is written
    keys: tuple[str, ...] = (f"at:{construct.node.start_byte}",)
    if construct.variable:
        keys += (f"var:{construct.variable}",)
    return Target(
        spec=spec,
        address=address,
        path=pos.path,
        span=pos.node(construct.node),
        header=pos.span(construct.node.start_byte, construct.callee.end_byte),
        block_span=pos.node(props.container),
        settings=settings,
        format=FORMAT,
        template_ref=ref,
        template_keys=keys if construct.kind == LAUNCH_TEMPLATE else (),
        user_data=user_data,
        fix_unsafe=unread,
    )


def _construct_id(parsed: _File, construct: _Construct) -> str:
    args = [c for c in construct.args.named_children if c.type not in ("comment",)]
    index = construct.first
    node: Node | None = None
    if parsed.py:  # ec2.Instance(self, id="Web", ...), ec2.Instance(scope=self, id="Web")
        keywords = {}
        for arg in args:
            key = arg.child_by_field_name("name") if arg.type == "keyword_argument" else None
            if key is not None:
                keywords[_text(parsed.data, key)] = arg.child_by_field_name("value")
        node = keywords.get("id")
        if "scope" in keywords:
            index -= 1
        args = [a for a in args if a.type not in ("keyword_argument", "dictionary_splat")]
    if node is None:
        if len(args) <= index:
            return compact(_text(parsed.data, construct.callee))
        node = args[index]
    text = _text(parsed.data, node)
    if node.type == "string" and not any(
        c.type in ("template_substitution", "interpolation") for c in node.named_children
    ):
        literal = _string(parsed, node)
        if literal is not None:
            return literal
    if node.type == "template_string" and not any(
        c.type == "template_substitution" for c in node.named_children
    ):
        return text[1:-1]
    return compact(text, 60)


def _string(parsed: _File, node: Node) -> str | None:
    text = _text(parsed.data, node)
    if parsed.py:
        body = text.lstrip("rRbBuU")
        for quote in ('"""', "'''", '"', "'"):
            if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
                inner = body[len(quote) : -len(quote)]
                return inner if "\\" not in inner else None
        return None
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0] and "\\" not in text:
        return text[1:-1]
    return None


def _unknown(pos: _Positions, node: Node, expression: str) -> Value:
    return Value(False, None, None, expression, (Link(pos.node(node), LinkKind.EXPRESSION),))


def _literal(parsed: _File, pos: _Positions, spec: KindSpec, key: str, node: Node) -> Value:
    """The Value of a property written as ``node``: a literal, else unknown."""
    data = parsed.data
    text = _text(data, node)
    link = (Link(pos.node(node), LinkKind.LITERAL),)
    if node.type in ("true", "false"):
        raw = node.type == "true"
        if key == ENDPOINT:
            return Value(True, "enabled" if raw else "disabled", raw, text, link)
        value, problem = normalize(spec, key, raw)
        return Value(True, value, raw, text, link, None, problem)
    if node.type in ("number", "integer") and key == HOP_LIMIT:
        try:
            number = int(text.replace("_", ""), 0)
        except ValueError:
            return _unknown(pos, node, compact(text))
        value, problem = normalize(spec, key, number)
        return Value(True, value, number, text, link, None, problem)
    if key == TOKENS and node.type in ("member_expression", "attribute"):
        name = parsed.resolve(node) or ""
        if name.startswith(_TOKENS_ENUM) and name.count(".") == 2:
            raw_text = name.removeprefix("aws_ec2.")
            value, problem = normalize(spec, key, raw_text)
            return Value(True, value, raw_text, text, link, None, problem)
    return _unknown(pos, node, compact(text))


def _template_ref(parsed: _File, pos: _Positions, props: _Props, lang: _Lang) -> Value | None:
    """The launch template an Auto Scaling group is given (``launchTemplate``, or
    ``mixedInstancesPolicy.launchTemplate``), as a key of the file's LaunchTemplate targets."""
    node = props.values.get(lang.launch_template)
    if node is None:
        mixed = props.values.get(lang.mixed)
        if mixed is None:
            return None
        node = _inner(parsed, mixed, lang.launch_template)
        if node is None:
            return _unknown(pos, mixed, compact(_text(parsed.data, mixed)))
    text = _text(parsed.data, node)
    link = (Link(pos.node(node), LinkKind.TEMPLATE_REFERENCE),)
    names = ("identifier", "member_expression", "attribute", "shorthand_property_identifier")
    if node.type in names and "(" not in text:
        return Value(True, f"var:{text}", text, text, link)
    if any(c.node == node and c.kind == LAUNCH_TEMPLATE for c in parsed.constructs):
        # a LaunchTemplate made in the group's props: found by where it is written
        return Value(True, f"at:{node.start_byte}", text, compact(text), link)
    return Value(False, None, None, compact(text), link)


def _inner(parsed: _File, node: Node, name: str) -> Node | None:
    """The value of property ``name`` of an object literal (TS) or of the keyword argument of a
    props class call (Python ``autoscaling.MixedInstancesPolicy(launch_template=lt)``)."""
    if node.type == "object":
        for item in node.named_children:
            if item.type == "pair":
                key = item.child_by_field_name("key")
                if key is not None and _text(parsed.data, key).strip("'\"") == name:
                    return item.child_by_field_name("value")
            elif item.type == "shorthand_property_identifier" and _text(parsed.data, item) == name:
                return item
        return None
    if node.type == "call":
        args = node.child_by_field_name("arguments")
        for item in args.named_children if args is not None else ():
            if item.type == "keyword_argument":
                key = item.child_by_field_name("name")
                if key is not None and _text(parsed.data, key) == name:
                    return item.child_by_field_name("value")
    return None
