"""EC2 API JSON, in the shapes of botocore's EC2 service model.

Inputs (what ``--cli-input-json`` and ``--launch-template-data file://`` take): launch-template
data, create-launch-template(-version), run-instances, modify-instance-metadata-options,
modify-instance-metadata-defaults (``HttpTokensEnforced`` too), register-image (the AMI's
``ImdsSupport``). Outputs, which record state (their findings are not fixable):
describe-launch-template-versions, describe-instances, get-instance-metadata-defaults (its
``AccountLevel``), describe-images.
"""

from __future__ import annotations

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, Locator, watch_duplicates
from imds_iac_checks.formats.structured import (
    API_FIELDS,
    API_SUGGEST,
    make_payload,
    parts_of,
    plain_resolver,
    read_settings,
    scalar_runs,
    without_duplicates,
)
from imds_iac_checks.model import (
    IMDS_SUPPORT,
    KindSpec,
    Payload,
    ScanError,
    Span,
    Target,
    Value,
)

FORMAT = "ec2-api-json"

_FIELDS = API_FIELDS
_SUGGEST = API_SUGGEST


def _spec(kind: str, block: str | None = "MetadataOptions", **extra: object) -> KindSpec:
    return KindSpec(kind, block, _FIELDS, _SUGGEST, **extra)  # type: ignore[arg-type]


LAUNCH_TEMPLATE_DATA = _spec("ec2:LaunchTemplateData")
RUN_INSTANCES = _spec("ec2:RunInstances")
MODIFY_OPTIONS = _spec(
    "ec2:ModifyInstanceMetadataOptions",
    None,
    needs_block=False,
    absent_ok=True,
    block_label="the request",
)
MODIFY_DEFAULTS = _spec(
    "ec2:ModifyInstanceMetadataDefaults",
    None,
    needs_block=False,
    absent_ok=True,
    hop_no_preference=(-1, "no-preference"),
    block_label="the request",
    account_default=True,
)
LAUNCH_TEMPLATE_VERSION = _spec("ec2:LaunchTemplateVersion")
INSTANCE = _spec("ec2:Instance")
ACCOUNT_DEFAULTS = _spec(
    "ec2:InstanceMetadataDefaults",
    None,
    needs_block=False,
    hop_no_preference=(-1, "no-preference"),
    block_label="AccountLevel",
)

# AMIs (IMDS009): ``register-image`` input sets ``ImdsSupport`` (the one value is "v2.0");
# ``describe-images`` output records it (absent: not IMDSv2-only). An image that exists is marked
# with ``modify-image-attribute``, never by editing the output.
_AMI_FIELDS = {IMDS_SUPPORT: "ImdsSupport"}
_AMI_SUGGEST = {IMDS_SUPPORT: '"v2.0"'}
REGISTER_IMAGE = KindSpec(
    "ec2:RegisterImage",
    None,
    _AMI_FIELDS,
    _AMI_SUGGEST,
    needs_block=False,
    block_label="the request",
    plugins=False,
)
IMAGE = KindSpec(
    "ec2:Image",
    None,
    _AMI_FIELDS,
    _AMI_SUGGEST,
    needs_block=False,
    block_label="the image",
    plugins=False,
    remedy="the AMI exists: mark it with aws ec2 modify-image-attribute --image-id <id> "
    "--imds-support v2.0 (it cannot be undone), or register the next one with ImdsSupport v2.0",
)
# An AMI another account owns (``ImageOwnerAlias``: "amazon", "aws-marketplace"): only its owner
# can mark it.
FOREIGN_IMAGE = IMAGE._replace(
    remedy="only its owner can mark it: launch from an AMI that is v2.0 (Amazon Linux 2023 AMIs "
    "are), or require tokens in the launch's own metadata options"
)
# The AMI kinds, as the rule catalog names them (IMDS009's applies_to).
AMI_KINDS = (REGISTER_IMAGE, IMAGE)
# Keys of RegisterImage input (botocore's RegisterImageRequest) that launch data never has.
_REGISTER_KEYS = frozenset({"RootDeviceName", "ImageLocation", "ImdsSupport", "VirtualizationType"})

_LAUNCH_DATA_KEYS = frozenset(
    {
        "ImageId",
        "InstanceType",
        "BlockDeviceMappings",
        "NetworkInterfaces",
        "IamInstanceProfile",
        "UserData",
        "SecurityGroupIds",
        "KeyName",
        "TagSpecifications",
        "InstanceMarketOptions",
        "CpuOptions",
        "Monitoring",
    }
)


# Keys of a modify-instance-metadata-defaults request that say it is one: the settings, and
# ``HttpTokensEnforced`` (EC2 API, February 2026: ``enabled`` refuses launches that do not
# require tokens), which a request may send alone.
_DEFAULTS_KEYS = frozenset({*_FIELDS.values(), "HttpTokensEnforced"})


def classify(root: DNode) -> str | None:
    """Which EC2 API shape a JSON document has, or None."""
    if root.kind != MAP:
        return None
    keys = set(root.keys())
    lists = {k for k in keys if (v := root.get(k)) is not None and v.kind == SEQ}
    if "LaunchTemplateVersions" in lists:
        return "describe-launch-template-versions"
    if "Reservations" in lists:
        return "describe-instances"
    if "Images" in lists:
        images = root.get("Images")
        assert images is not None
        if any(i.kind == MAP and i.get("ImageId") is not None for i in images.items):
            return "describe-images"
    account = root.get("AccountLevel")
    if account is not None and account.kind == MAP:
        return "get-instance-metadata-defaults"
    data = root.get("LaunchTemplateData")
    if data is not None and data.kind == MAP:
        return "create-launch-template"
    if "Name" in keys and keys & _REGISTER_KEYS and not keys & {"ImageId", "MinCount"}:
        return "register-image"
    if "InstanceId" in keys and keys & set(_FIELDS.values()):
        return "modify-instance-metadata-options"
    if keys & _DEFAULTS_KEYS and not keys & (_LAUNCH_DATA_KEYS | {"MetadataOptions"}):
        return "modify-instance-metadata-defaults"
    if {"MinCount", "MaxCount"} <= keys and "ImageId" in keys | {"LaunchTemplate"}:
        return "run-instances"
    if "MinCount" in keys and "MaxCount" in keys:
        return "run-instances"
    options = root.get("MetadataOptions")
    if options is not None and options.kind == MAP:
        return "launch-template-data"
    if "ImageId" in keys and len(keys & _LAUNCH_DATA_KEYS) >= 2:
        return "launch-template-data"
    return None


class _Reader:
    def __init__(self, loc: Locator) -> None:
        self.loc = loc

    def target(
        self,
        spec: KindSpec,
        address: str,
        container: DNode,
        header: Span,
        *,
        recorded: bool = False,
    ) -> Target:
        """A target whose options are ``container[spec.block]`` (or ``container`` itself)."""
        options = container.get(spec.block) if spec.block else container
        settings: dict[str, tuple[Value, ...]] = {}
        block_span = None
        key = container.key_node(spec.block) if spec.block and options is not None else None
        if options is not None and options.kind == MAP:
            block_span = self.loc.node_span(options)
            settings = read_settings(spec, options, plain_resolver(self.loc, spec))
        elif options is not None:  # a MetadataOptions that is not an object
            block_span = self.loc.node_span(options)
        return Target(
            spec=spec,
            address=address,
            path=self.loc.path,
            span=self.loc.node_span(container),
            header=header,
            block_span=block_span,
            settings=settings,
            format=FORMAT,
            recorded_state=recorded,
            block_key=self.loc.node_span(key) if key is not None else None,
            user_data=self.user_data(spec, address, container, recorded),
        )

    def user_data(
        self, spec: KindSpec, address: str, container: DNode, recorded: bool
    ) -> tuple[Payload, ...]:
        """The ``UserData`` of launch data, as the instance sees it. Launch-template data holds
        it base64-encoded (decoded here, gzip too: it cannot be edited in place); botocore
        encodes ``run-instances``' own, so the text there is the script itself, and editable."""
        if spec not in (LAUNCH_TEMPLATE_DATA, RUN_INSTANCES, LAUNCH_TEMPLATE_VERSION):
            return ()
        node = container.get("UserData") if container.kind == MAP else None
        if node is None or node.kind != SCALAR or not isinstance(node.value, str):
            return ()
        span = self.loc.node_span(node)
        if spec is RUN_INSTANCES:
            # botocore base64-encodes RunInstances' UserData itself (the AWS CLI and the SDKs
            # alike): the text written is the script.
            found = scalar_runs(self.loc.text, node, json_file=True)
            if found is None:
                return ()
            return (make_payload(self.loc, parts_of(*found), span, address),)
        decoded = decode_user_data(node.value)
        if decoded is None:
            return ()  # not base64 of text: EC2 refuses it, or it is binary
        if recorded:
            why = (
                "the user data is recorded state (an output of the AWS CLI, base64-encoded); "
                "edit the script or template it was launched from"
            )
        else:
            why = "the user data is base64-encoded in the file; edit the script it was encoded from"
        payload = Payload(decoded, (), span, "user data", no_fix=why, owner=address)
        return (payload,)

    def holder(self, container: DNode) -> Span:
        """Where a finding on a missing ``MetadataOptions`` points when the document itself is
        the object that should hold it: its ``MetadataOptions`` key when there is one, else its
        opening brace (not its first key, which says nothing about what is missing)."""
        key = container.key_node("MetadataOptions")
        if key is not None:
            return self.header(container, "MetadataOptions")
        return self.loc.span(container.start, container.start + 1)

    def header(self, container: DNode, *preferred: str) -> Span:
        for key in preferred:
            node = container.key_node(key)
            if node is not None:
                value = container.get(key)
                return self.loc.span(node.start, value.end if value is not None else node.end)
        if container.items:
            first = container.items[0][0] if container.kind == MAP else container.items[0]
            return self.loc.span(first.start, first.end)
        return self.loc.span(container.start, container.start + 1)


# Decoded user data larger than this is not read (EC2 takes 16 KB encoded; gzip may hold more).
MAX_USER_DATA = 1 << 20


def decode_user_data(value: str) -> str | None:
    """Base64 user data as text (gunzipped when it is gzip, as cloud-init reads it), None when
    it is not base64 of UTF-8 text."""
    import base64
    import binascii
    import zlib

    compact = "".join(value.split())
    if not compact:
        return None
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if data[:2] == b"\x1f\x8b":
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflate.decompress(data, MAX_USER_DATA)
        except zlib.error:
            return None
        if inflate.unconsumed_tail:
            return None  # larger than any user data EC2 takes
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _text(node: DNode | None) -> str | None:
    return str(node.value) if node is not None and node.value is not None else None


def interpret(loc: Locator, root: DNode, shape: str) -> tuple[list[Target], list[ScanError]]:
    """Targets of one document. A key written twice in an object a target reads is an error at
    the second key (the AWS CLI takes the last value, other readers the first), and that target
    is not evaluated."""
    with watch_duplicates() as read_twice:
        targets = _interpret(loc, root, shape)
    return without_duplicates(loc, targets, read_twice, "the AWS CLI takes the last value")


def _interpret(loc: Locator, root: DNode, shape: str) -> list[Target]:
    reader = _Reader(loc)
    targets: list[Target] = []
    if shape == "launch-template-data":
        header = reader.holder(root)
        targets.append(reader.target(LAUNCH_TEMPLATE_DATA, "LaunchTemplateData", root, header))
    elif shape == "create-launch-template":
        data = root.get("LaunchTemplateData")
        assert data is not None
        name = _text(root.get("LaunchTemplateName")) or _text(root.get("LaunchTemplateId"))
        address = f"{name} LaunchTemplateData" if name else "LaunchTemplateData"
        header = reader.header(root, "LaunchTemplateData")
        targets.append(reader.target(LAUNCH_TEMPLATE_DATA, address, data, header))
    elif shape == "run-instances":
        header = reader.holder(root)
        targets.append(reader.target(RUN_INSTANCES, "RunInstances", root, header))
    elif shape == "modify-instance-metadata-options":
        address = _text(root.get("InstanceId")) or "ModifyInstanceMetadataOptions"
        header = reader.header(root, "InstanceId")
        targets.append(reader.target(MODIFY_OPTIONS, address, root, header))
    elif shape == "modify-instance-metadata-defaults":
        header = reader.header(root, "HttpTokens", "HttpPutResponseHopLimit")
        targets.append(
            reader.target(MODIFY_DEFAULTS, "ModifyInstanceMetadataDefaults", root, header)
        )
    elif shape == "describe-launch-template-versions":
        versions = root.get("LaunchTemplateVersions")
        assert versions is not None
        for i, version in enumerate(versions.items):
            if version.kind != MAP:
                continue
            data = version.get("LaunchTemplateData")
            name = _text(version.get("LaunchTemplateName")) or _text(
                version.get("LaunchTemplateId")
            )
            number = _text(version.get("VersionNumber"))
            label = " ".join(filter(None, (name, f"v{number}" if number else None)))
            address = f"LaunchTemplateVersions[{i}]" + (f" ({label})" if label else "")
            header = reader.header(version, "LaunchTemplateData", "VersionNumber")
            container = data if data is not None and data.kind == MAP else version
            if container is version:  # no data: nothing is set
                container = DNode(MAP, version.start, version.end)
            targets.append(
                reader.target(LAUNCH_TEMPLATE_VERSION, address, container, header, recorded=True)
            )
    elif shape == "describe-instances":
        reservations = root.get("Reservations")
        assert reservations is not None
        for r, reservation in enumerate(reservations.items):
            instances = reservation.get("Instances") if reservation.kind == MAP else None
            if instances is None or instances.kind != SEQ:
                continue
            for i, instance in enumerate(instances.items):
                if instance.kind != MAP:
                    continue
                address = _text(instance.get("InstanceId")) or f"Reservations[{r}].Instances[{i}]"
                header = reader.header(instance, "InstanceId")
                targets.append(reader.target(INSTANCE, address, instance, header, recorded=True))
    elif shape == "register-image":
        name = _text(root.get("Name"))
        header = reader.header(root, "Name")
        targets.append(reader.target(REGISTER_IMAGE, name or "RegisterImage", root, header))
    elif shape == "describe-images":
        images = root.get("Images")
        assert images is not None
        for i, image in enumerate(images.items):
            if image.kind != MAP:
                continue
            address = _text(image.get("ImageId")) or f"Images[{i}]"
            name = _text(image.get("Name"))
            if name:
                address += f" ({name})"
            header = reader.header(image, "ImageId")
            alias = _text(image.get("ImageOwnerAlias"))
            spec = FOREIGN_IMAGE if alias in ("amazon", "aws-marketplace") else IMAGE
            targets.append(reader.target(spec, address, image, header, recorded=True))
    elif shape == "get-instance-metadata-defaults":
        account = root.get("AccountLevel")
        assert account is not None
        header = reader.header(root, "AccountLevel")
        target = reader.target(ACCOUNT_DEFAULTS, "AccountLevel", account, header, recorded=True)
        targets.append(target._replace(block_span=loc.node_span(account)))
    return targets
