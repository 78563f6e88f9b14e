"""YAML files that are not CloudFormation but run code on instances: cloud-init documents
(a file whose first line is ``#cloud-config``) and Ansible playbooks, roles' task files and
handlers.

A cloud-init file is one payload (language ``cloud-config``: its analyser splits ``runcmd``,
``bootcmd``, ``write_files``). In Ansible, the ``shell``/``command``/``raw`` modules (and
``win_shell``/``win_command``, PowerShell) give one shell payload per task, from their free-form
string, ``cmd:`` or ``argv:``; ``uri``/``get_url`` (and ``win_uri``/``win_get_url``) tasks
that send no ``X-aws-ec2-metadata-token`` header give a payload of their URL (language
``ansible-uri``, read by :mod:`imds_iac_checks.hazards.ansible`). Jinja (``{{ }}``, ``{% %}``)
is a hole: Ansible renders it before the command runs.

Files are parsed only when their bytes name a module read here and the metadata service or an
SDK (:func:`worth`): a Kubernetes manifest or a CI workflow costs a few byte searches.
"""

from __future__ import annotations

import shlex

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator, decode
from imds_iac_checks.formats.pieces import Builder, whole_file, yaml_scalar
from imds_iac_checks.formats.scripts import MARKERS
from imds_iac_checks.model import Payload, ScanError

_SHELL = {"shell": "shell", "command": "shell", "raw": "shell"}
_WINDOWS = {"win_shell": "powershell", "win_command": "powershell"}
_URI = frozenset(("uri", "get_url", "win_uri", "win_get_url"))
_PREFIXES = ("ansible.builtin.", "ansible.legacy.", "ansible.windows.", "community.windows.")
_MODULE_MARKERS = (b"shell", b"command", b"raw", b"uri", b"get_url")
# In the order a play runs them.
PLAY_TASKS = ("pre_tasks", "tasks", "post_tasks", "handlers")
PLAY_KEYS = frozenset(("hosts", "tasks", "roles", "pre_tasks", "post_tasks", "handlers"))
_JINJA = r"(?s)\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
# Tasks nested in blocks deeper than this are not read (a hostile file's nesting).
MAX_DEPTH = 32
_WHAT = "Ansible task"


def is_cloud_config(data: bytes) -> bool:
    """cloud-init reads a file as cloud-config when its first line is ``#cloud-config``."""
    first = data.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r \t")
    return first == b"#cloud-config"


def worth(data: bytes) -> bool:
    """A cloud-init file, or bytes that name an Ansible module read here and the metadata
    service or an AWS SDK."""
    if is_cloud_config(data):
        return True
    return any(m in data for m in _MODULE_MARKERS) and any(m in data for m in MARKERS)


def payloads(shown: str, data: bytes) -> tuple[list[Payload], list[ScanError]]:
    """The payloads of a YAML file that may be a cloud-init document or Ansible tasks. A file
    that is neither (or not valid YAML: then it is not ours to report) yields nothing."""
    if is_cloud_config(data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return [], []
        return [whole_file(shown, data, text, "cloud-init file", "cloud-config")], []
    read = parsed(data)
    if read is None:
        return [], []
    text, roots = read
    reader = _Ansible(Locator(shown, text))
    for root in roots:
        if root.kind != SEQ:
            continue
        for item in root.items:
            if item.kind != MAP:
                continue
            if any(k.value in PLAY_KEYS for k, _ in item.pairs()) and not _module(item):
                for key in PLAY_TASKS:
                    reader.tasks(item.get(key), 0)
            else:
                reader.task(item, 0)
    return reader.out, []


# The last file parsed, by the identity of its bytes: formats/ansible.py reads the targets of the
# file whose payloads are read here (formats/data.py asks both), and it is parsed once.
_PARSED: list[tuple[bytes, tuple[str, list[DNode]] | None]] = []


def parsed(data: bytes) -> tuple[str, list[DNode]] | None:
    """The text and YAML documents of ``data`` (None: not valid YAML), parsed once for the
    readers of one file."""
    if _PARSED and _PARSED[0][0] is data:
        return _PARSED[0][1]
    from imds_iac_checks.formats.doc import parse_yaml

    try:
        text = decode(data)
        read: tuple[str, list[DNode]] | None = (text, parse_yaml(text))
    except DocError:
        read = None
    _PARSED[:] = [(data, read)]
    return read


def _module(task: DNode) -> tuple[str, DNode] | None:
    """The module a task calls, by its short name, and its arguments."""
    for key, value in task.pairs():
        name = key.value if isinstance(key.value, str) else ""
        for prefix in _PREFIXES:
            name = name.removeprefix(prefix)
        if name in _SHELL or name in _WINDOWS or name in _URI:
            return name, value
    return None


class _Ansible:
    def __init__(self, loc: Locator) -> None:
        self.loc = loc
        self.out: list[Payload] = []

    def tasks(self, node: DNode | None, depth: int) -> None:
        if node is None or node.kind != SEQ or depth > MAX_DEPTH:
            return
        for item in node.items:
            if item.kind == MAP:
                self.task(item, depth + 1)

    def task(self, task: DNode, depth: int) -> None:
        if task.get("block") is not None:
            for key in ("block", "rescue", "always"):
                self.tasks(task.get(key), depth)
            return
        found = _module(task)
        if found is None:
            return
        name, args = found
        extra = task.get("args")
        if name in _URI:
            self._uri(name, args, extra)
            return
        language = _SHELL.get(name) or _WINDOWS[name]
        given: DNode | None = args
        if args.kind == MAP:
            given = args.get("cmd") or args.get("_raw_params") or args.get("argv")
        elif extra is not None and extra.kind == MAP and (args.kind != SCALAR or not args.value):
            given = extra.get("cmd") or extra.get("argv")
        if given is None:
            return
        args = given
        b = Builder(self.loc)
        if args.kind == SCALAR and isinstance(args.value, str):
            if not yaml_scalar(b, args.start, args.end, args.value):
                b.hole(args.value)
        elif args.kind == SEQ:
            self._argv(b, args)
        else:
            return
        span = self.loc.node_span(args)
        self.out.append(b.payload(span, _WHAT, language, holes=_JINJA))

    def _argv(self, b: Builder, node: DNode) -> None:
        """``argv:`` as shell words: a word is a piece (no insertion) where written as is."""
        for index, item in enumerate(node.items):
            if index:
                b.hole(" ")
            word = item.value if item.kind == SCALAR and isinstance(item.value, str) else ""
            quoted = shlex.quote(word)
            probe = Builder(self.loc)
            if quoted == word and yaml_scalar(probe, item.start, item.end, word):
                b.pieces.extend(
                    p._replace(start=p.start + b.at, end=p.end + b.at, escape="")
                    for p in probe.pieces
                )
                b.parts.append(word)
                b.at += len(word)
            else:
                b.hole(quoted)

    def _uri(self, name: str, args: DNode, extra: DNode | None) -> None:
        """A ``uri``/``get_url`` task: its URL, unless it sends the token header or is the
        token request itself (``PUT .../latest/api/token``)."""
        options = args if args.kind == MAP else extra if extra is not None else None
        url = options.get("url") if options is not None and options.kind == MAP else None
        if options is not None and options.kind == MAP:
            headers = options.get("headers") or options.get("http_headers")
            if headers is not None and any(
                isinstance(k.value, str) and k.value.lower() == TOKEN_HEADER
                for k, _ in headers.pairs()
            ):
                return
            method = options.get("method")
            if method is not None and str(method.value).upper() == "PUT":
                return
        b = Builder(self.loc)
        if url is not None and url.kind == SCALAR and isinstance(url.value, str):
            if not yaml_scalar(b, url.start, url.end, url.value):
                b.hole(url.value)
            span = self.loc.node_span(url)
        elif args.kind == SCALAR and isinstance(args.value, str):  # free form: url=... k=v
            words = free_form(args.value)
            value = words.get("url")
            if value is None or words.get("method", "").upper() == "PUT":
                return
            b.hole(value)
            span = self.loc.node_span(args)
        else:
            return
        what = f"Ansible {name} task"
        self.out.append(b.payload(span, what, "ansible-uri", holes=_JINJA))


def free_form(text: str) -> dict[str, str]:
    """``k=v`` words of a module's free-form arguments."""
    try:
        words = shlex.split(text)
    except ValueError:
        return {}
    return dict(word.split("=", 1) for word in words if "=" in word)
