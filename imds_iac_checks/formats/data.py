"""JSON and YAML files: detect what they are by content, then hand them to the interpreter.

Most JSON and YAML in a repository is not infrastructure code (package.json, Kubernetes manifests,
CI workflows). Those files are skipped silently and cheaply: a file is parsed only when its bytes
contain a marker that the formats we read must contain, and a parsed file that is none of them
yields nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from imds_iac_checks.formats import kind_of, syntax_of
from imds_iac_checks.formats.doc import (
    SKIPPABLE_SECTIONS,
    DocError,
    Locator,
    decode,
    parse_json,
    parse_yaml,
)
from imds_iac_checks.model import Payload, ScanError, Target

if TYPE_CHECKING:
    from imds_iac_checks.source import Files

# Where a data file is on disk (its real path) and what reads it: None, None for bytes given
# without a file.
_Where = tuple["str | None", "Files | None"]

_CFN_MARKERS = (b"AWS::", b"AWSTemplateFormatVersion")
_JSON_MARKERS = (
    *_CFN_MARKERS,
    b"MetadataOptions",
    b"HttpTokens",
    b"HttpPutResponseHopLimit",
    b"HttpEndpoint",
    b"LaunchTemplateData",
    b"LaunchTemplateVersions",
    b"Reservations",
    b"AccountLevel",
    b"ImageId",
    b"ImdsSupport",
    b"RootDeviceName",
    b"ImageLocation",
    b"VirtualizationType",
    b"planned_values",
    b"resource_changes",
)


def _utf16(data: bytes) -> bool:
    return data.startswith((b"\xff\xfe", b"\xfe\xff"))


def parse(
    path: str,
    data: bytes,
    cfn_parameters: dict[str, str] | None = None,
    *,
    origin: str | None = None,
    files: Files | None = None,
    payloads: list[Payload] | None = None,
) -> tuple[list[Target], list[ScanError]]:
    """Targets of one JSON or YAML file. ``cfn_parameters`` override CloudFormation parameter
    defaults (``--parameter``). ``origin`` (the file's path on disk) and ``files`` (what reads
    it) let a CloudFormation template's local nested stacks be followed (formats/nested.py).
    ``payloads`` receives the code the file holds that runs on instances and is no target's
    user data (a cloud-init document, Ansible tasks)."""
    where = (origin, files)
    if b"\x00" in data and not _utf16(data):
        return [], [ScanError(path, 0, 0, "not a text file (it holds NUL bytes): not scanned")]
    kind = kind_of(path)
    if kind is not None and kind.reads_as == "terraform-json":
        if b'"resource"' not in data and not _utf16(data):
            return [], []
        return _json(path, data, tf_config=True, where=where)
    if kind is not None and kind.reads_as == "ebextensions":
        return _ebextensions(path, data) if _has(data, (b"option_settings",)) else ([], [])
    params = cfn_parameters or {}
    if kind is not None and kind.syntax == "yaml":
        if _has(data, _CFN_MARKERS):
            found, errors = _yaml(path, data, params, where)
            if found or errors:
                return found, errors
        return _code(path, data, payloads, where)
    if kind is not None and kind.syntax == "json":
        if b'"builders"' in data and (b'"provisioners"' in data or b"amazon-" in data):
            found, errors = _packer(path, data, origin, files, payloads)
            if found or errors or b'"provisioners"' in data:
                return found, errors
        if not _has(data, _JSON_MARKERS):
            return [], []
        return _json(path, data, params=params, where=where)
    # .template: CloudFormation in JSON or YAML
    if not _has(data, _CFN_MARKERS):
        return [], []
    if syntax_of(path, data) == "json":
        return _json(path, data, params=params, where=where)
    return _yaml(path, data, params, where)


def _packer(
    path: str,
    data: bytes,
    origin: str | None,
    files: Files | None,
    payloads: list[Payload] | None,
) -> tuple[list[Target], list[ScanError]]:
    """A legacy Packer JSON template: its provisioners' payloads, and its Amazon builders'
    build instances and AMIs (formats/packer_targets.py), which run those payloads."""
    from imds_iac_checks.formats import packer, packer_targets

    more: list[Payload] = []
    errors: list[ScanError] = []
    if b'"provisioners"' in data:
        more, errors = packer.payloads(path, data, origin=origin, files=files)
        if payloads is not None:
            payloads.extend(more)
    if not packer_targets.worth(data) or errors:
        return [], errors
    return packer_targets.legacy_targets(path, data, more)


def _code(
    path: str, data: bytes, payloads: list[Payload] | None, where: _Where = (None, None)
) -> tuple[list[Target], list[ScanError]]:
    """A YAML file that is no CloudFormation template: the readers of :data:`_YAML_TARGETS`
    give the instances it declares (Kubernetes manifests, Ansible tasks), each only when its
    bytes hold the reader's markers (``worth``); a cloud-init document or Ansible tasks add
    their payloads (formats/playbooks.py), parsed only when its bytes may hold one."""
    found: list[Target] = []
    errors: list[ScanError] = []
    for first, module in _YAML_TARGETS:
        if not any(marker in data for marker in first):
            continue  # not the reader's: its module is not even imported
        reader = import_module(module)
        if reader.worth(data):
            # A reader that reads other files (an Ansible role's variables) gets where this
            # one is and what reads it.
            extra = where if getattr(reader, "READS_FILES", False) else ()
            more_found, errs = reader.targets(path, data, *extra)
            found += more_found
            errors += errs
    if payloads is None:
        return found, errors
    from imds_iac_checks.formats import playbooks

    if not playbooks.worth(data):
        return found, errors
    more, errs = playbooks.payloads(path, data)
    payloads.extend(more)
    return found, errors + errs


# Modules that read targets from YAML that is no CloudFormation template, each with
# ``worth(data) -> bool`` and ``targets(path, data) -> (targets, errors)``, and the bytes one of
# which a file must hold for the module to be imported at all (what its ``worth`` requires: most
# YAML files of a tree, and a pre-commit run on one, pay a byte search, not an import).
_YAML_TARGETS: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"ec2",), "imds_iac_checks.formats.ansible"),
    ((b"EC2NodeClass", b"AWSNodeTemplate"), "imds_iac_checks.formats.kubernetes"),
    ((b"eksctl.io/",), "imds_iac_checks.formats.eksctl"),
)


def load_parameters(path: str, limit: int) -> dict[str, str]:
    """CloudFormation parameters from a file, in the forms the AWS tools take: the AWS CLI's
    ``[{"ParameterKey": ..., "ParameterValue": ...}]``, CodePipeline's
    ``{"Parameters": {...}}``, or a plain ``{"Key": "Value"}`` object (at most ``limit``
    bytes; 0: any size). Raises ValueError."""
    import json

    from imds_iac_checks import source

    try:  # a regular file within the size limit (OSError otherwise)
        doc = json.loads(source.read_regular(path, limit).decode("utf-8-sig"))
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if isinstance(doc, dict) and isinstance(doc.get("Parameters"), dict):
        doc = doc["Parameters"]
    if isinstance(doc, list):
        out = {}
        for item in doc:
            if not isinstance(item, dict) or "ParameterKey" not in item:
                raise ValueError("expected a list of {ParameterKey, ParameterValue} objects")
            if "ParameterValue" in item:
                out[str(item["ParameterKey"])] = str(item["ParameterValue"])
        return out
    if isinstance(doc, dict):
        return {str(k): str(v) for k, v in doc.items() if not isinstance(v, (dict, list))}
    raise ValueError("expected a JSON list or object of parameters")


def _has(data: bytes, markers: tuple[bytes, ...]) -> bool:
    return _utf16(data) or any(m in data for m in markers)


def _error(loc: Locator | None, path: str, exc: DocError, what: str) -> ScanError:
    if loc is None:
        return ScanError(path, 0, 0, f"{what}: {exc.message}")
    line, column, _ = loc.position(min(exc.offset, len(loc.text)))
    return ScanError(path, line, column, f"{what}: {exc.message}")


def _read(path: str, data: bytes, parse: Any, what: str) -> tuple[Locator, Any] | ScanError:
    """Decode and parse a file: ``(locator, parsed)``, or the error to report."""
    try:
        text = decode(data)
    except DocError as exc:
        # The position of the bad byte: the text before it, decoded leniently.
        prefix = Locator(path, data.decode("utf-8", "replace")[: exc.offset])
        return _error(prefix, path, exc, "cannot read")
    loc = Locator(path, text)
    try:
        return loc, parse(text)
    except DocError as exc:
        return _error(loc, path, exc, what)


def _json(
    path: str,
    data: bytes,
    tf_config: bool = False,
    params: dict[str, str] | None = None,
    where: _Where = (None, None),
) -> tuple[list[Target], list[ScanError]]:
    from imds_iac_checks.formats import cloudformation, ec2api
    from imds_iac_checks.formats.terraform import tfjson as terraform_json

    read = _read(path, data, _parse_config if tf_config else _parse_document, "invalid JSON")
    if isinstance(read, ScanError):
        return [], [read]
    loc, root = read
    if tf_config:
        return terraform_json.interpret_config(loc, root, where)
    if terraform_json.is_plan(root):
        return terraform_json.interpret_plan(loc, root)
    if cloudformation.is_template(root):
        return _template(loc, root, params, where)
    shape = ec2api.classify(root)
    if shape is not None:
        return ec2api.interpret(loc, root, shape)
    return [], []


# Top-level JSON keys no interpreter reads: CloudFormation's Metadata/Outputs/Rules and the parts
# of a plan other than planned_values and resource_changes. Their values are checked but not built
# (doc.parse_json's skip).
_UNREAD_JSON_KEYS = frozenset(
    (
        *SKIPPABLE_SECTIONS,
        "prior_state",
        "configuration",
        "output_changes",
        "relevant_attributes",
        "resource_drift",
        "variables",
        "checks",
    )
)


def _parse_document(text: str) -> Any:
    return parse_json(text, _UNREAD_JSON_KEYS.__contains__)


def _parse_config(text: str) -> Any:
    return parse_json(text, lambda key: key != "resource")  # .tf.json: only resources are read


def _parse_template_yaml(text: str) -> Any:
    return parse_yaml(text, SKIPPABLE_SECTIONS)


def _yaml(
    path: str, data: bytes, params: dict[str, str] | None = None, where: _Where = (None, None)
) -> tuple[list[Target], list[ScanError]]:
    from imds_iac_checks.formats import cloudformation

    read = _read(path, data, _parse_template_yaml, "invalid YAML")
    if isinstance(read, ScanError):
        return [], [read]
    loc, roots = read
    templates = [root for root in roots if cloudformation.is_template(root)]
    if not templates:
        return [], []  # Kubernetes manifests, CI workflows, ...: not ours
    if len(roots) > 1:
        line, column, _ = loc.position(roots[1].start)
        message = "a CloudFormation template is one YAML document; this file has more"
        return [], [ScanError(path, line, column, message)]
    return _template(loc, templates[0], params, where)


def _ebextensions(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    """An Elastic Beanstalk configuration file, in JSON or YAML (one document)."""
    from imds_iac_checks.formats import ebextensions

    if syntax_of(path, data) == "json":
        read = _read(path, data, parse_json, "invalid JSON")
        if isinstance(read, ScanError):
            return [], [read]
        loc, root = read
        return ebextensions.interpret(loc, root)
    read = _read(path, data, parse_yaml, "invalid YAML")
    if isinstance(read, ScanError):
        return [], [read]
    loc, roots = read
    if len(roots) > 1:
        line, column, _ = loc.position(roots[1].start)
        message = "an Elastic Beanstalk configuration file is one YAML document; this file has more"
        return [], [ScanError(path, line, column, message)]
    return ebextensions.interpret(loc, roots[0]) if roots else ([], [])


def _template(
    loc: Locator, root: Any, params: dict[str, str] | None, where: _Where
) -> tuple[list[Target], list[ScanError]]:
    """A CloudFormation template's targets, then those of the nested stacks it names."""
    from imds_iac_checks.formats import cloudformation, nested

    template = cloudformation.Template(loc, root, params)
    found, errors = template.targets()
    if "AWS::CloudFormation::Stack" in loc.text or "AWS::Serverless::Application" in loc.text:
        more, errs = nested.nested_targets(template, *where)
        found, errors = found + more, errors + errs
    return found, errors
