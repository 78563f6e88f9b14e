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

import re
import shlex
from collections.abc import Iterator
from typing import NamedTuple

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
# Tasks nested in blocks deeper than this are not read (a hostile file's nesting): a scan error.
MAX_DEPTH = 32
TOO_DEEP = f"blocks nested more than {MAX_DEPTH} deep: the tasks inside are not read"
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
    text, roots = read.text, read.roots
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
    return reader.out, reader.errors


# The last file parsed, by the identity of its bytes: formats/ansible.py reads the targets of the
# file whose payloads are read here (formats/data.py asks both), and it is parsed once.
_PARSED: list[tuple[bytes, Parsed | DocError]] = []


class Parsed(NamedTuple):
    """A YAML file as Ansible loads it: YAML merge keys (``<<: *name``) applied in place, as
    PyYAML does (keys written in the mapping win, then the merged mappings in their order). For
    each value a merge brought into a mapping, ``merged_from`` lists the mappings it came from;
    ``aliased`` holds the nodes an alias uses more than once (an anchor used elsewhere)."""

    text: str
    roots: list[DNode]
    merged_from: dict[int, list[DNode]]
    aliased: frozenset[int]
    # The first merge key (``<<``) written in each mapping that had one, by the mapping's id.
    merge_keys: dict[int, DNode]

    def shared(self, nodes: tuple[DNode | None, ...]) -> DNode | None:
        """The anchored node through which the last of ``nodes`` (a path, outermost first) is
        written where other places use it too, if any."""
        for node in nodes:
            if node is None:
                continue
            if id(node) in self.aliased:
                return node
            for source in self.merged_from.get(id(node), ()):
                if id(source) in self.aliased:
                    return source
        return None

    def anchor(self, node: DNode) -> str:
        """The name of the anchor written at ``node`` ("" when none is)."""
        match = _ANCHOR.match(self.text, node.start)
        return match.group(1) if match else ""


_ANCHOR = re.compile(r"(?:![^\s]*[ \t]+)?&([^\s,\[\]{}]+)")


def parsed(data: bytes) -> Parsed | None:
    """The text and YAML documents of ``data`` (None: not valid YAML), parsed once for the
    readers of one file."""
    read = parse_result(data)
    return None if isinstance(read, DocError) else read


def parse_result(data: bytes) -> Parsed | DocError:
    """:func:`parsed`, or why ``data`` cannot be read (not text, not YAML, a merge key whose
    value is no mapping)."""
    if _PARSED and _PARSED[0][0] is data:
        return _PARSED[0][1]
    from imds_iac_checks.formats.doc import parse_yaml

    read: Parsed | DocError
    try:
        text = decode(data)
        roots = parse_yaml(text)
        aliased: frozenset[int] = frozenset()
        if "*" in text:
            aliased = _aliased(roots)
            _repair_ends(roots, text)
        merged_from: dict[int, list[DNode]] = {}
        merge_keys: dict[int, DNode] = {}
        if "<<" in text:
            _merge(roots, merged_from, merge_keys)
        read = Parsed(text, roots, merged_from, aliased, merge_keys)
    except DocError as exc:
        read = exc
    _PARSED[:] = [(data, read)]
    return read


def _children(node: DNode) -> list[DNode]:
    if node.kind == SEQ:
        return list(node.items)
    if node.kind == MAP:
        return [v for _, v in node.items]
    return []


def _post_order(roots: list[DNode]) -> Iterator[DNode]:
    """Every mapping and sequence under ``roots``, children before their parent, each once
    (a node that aliases share is visited once: an alias bomb costs its size on disk)."""
    done: set[int] = set()
    stack: list[tuple[DNode, bool]] = [(root, False) for root in roots]
    while stack:
        node, ready = stack.pop()
        if id(node) in done or node.kind == SCALAR:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if id(c) not in done)
            continue
        done.add(id(node))
        yield node


def _aliased(roots: list[DNode]) -> frozenset[int]:
    """The nodes more than one place refers to (an anchor that aliases use), each visited once
    (an alias bomb costs its size on disk)."""
    count: dict[int, int] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        for child in _children(node):
            seen = count.get(id(child), 0)
            count[id(child)] = seen + 1
            if not seen:
                stack.append(child)
    return frozenset(key for key, n in count.items() if n > 1)


_ALIAS = re.compile(r"[ \t]*(?::[ \t]*|-[ \t]+)?\*[^\s,\[\]{}]+")


def _repair_ends(roots: list[DNode], text: str) -> None:
    """A block mapping or sequence whose last value is an alias ends, as parsed, where the
    anchored node ends (elsewhere in the file): end it after the alias (``<<: *imds``), so that
    a task's span covers its lines. Children first, each node once."""
    for node in _post_order(roots):
        if not node.items:
            continue
        if node.kind == MAP:
            key, last = node.items[-1]
            after = key.end
        else:
            last = node.items[-1]
            previous = node.items[-2] if len(node.items) > 1 else None
            after = (
                previous.end
                if previous is not None and previous.start >= node.start
                else node.start
            )
        if last.start >= after:  # written here: the end its own end (repaired) gives
            node.end = max(node.end, last.end)
            continue
        if node.end > after:
            continue  # a flow collection, ended by its bracket
        pattern = _ALIAS if node.kind == MAP else _NEXT_ALIAS
        match = pattern.match(text, after)
        if match is not None:
            node.end = max(node.start, match.end())


_NEXT_ALIAS = re.compile(r"[^*]*\*[^\s,\[\]{}]+")


def _is_merge(key: DNode) -> bool:
    return key.kind == SCALAR and key.value == "<<" and not key.quoted and key.tag is None


# How many key/value pairs merge keys may bring in, in all, per file (a hostile file that merges
# a large mapping into many mappings would cost their product).
MAX_MERGED = 1_000_000


def _merge(
    roots: list[DNode], merged_from: dict[int, list[DNode]], merge_keys: dict[int, DNode]
) -> None:
    """Apply the merge keys of every mapping, sources before the mappings that merge them (each
    mapping once). Raises DocError for a merge key whose value is no mapping (Ansible cannot
    load the file), or past :data:`MAX_MERGED`."""
    budget = [MAX_MERGED]
    for node in _post_order(roots):
        if node.kind == MAP and any(_is_merge(k) for k, _ in node.items):
            merge_keys[id(node)] = next(k for k, _ in node.items if _is_merge(k))
            _flatten(node, merged_from, budget)


def _identity(key: DNode) -> object:
    return (type(key.value), key.value) if key.kind == SCALAR else id(key)


def _flatten(node: DNode, merged_from: dict[int, list[DNode]], budget: list[int]) -> None:
    """PyYAML's flatten_mapping: the merged mappings' pairs (a list's later mappings first),
    then the pairs written; the last of each key wins. Kept: the pairs written (a key written
    twice stays an error), then each merged key not written, once."""
    merged: list[tuple[DNode, DNode, DNode]] = []
    for key, value in node.items:
        if not _is_merge(key):
            continue
        if value.kind == MAP:
            sources = [value]
        elif value.kind == SEQ and all(item.kind == MAP for item in value.items):
            sources = list(reversed(value.items))
        else:
            raise DocError(
                "expected a mapping or a list of mappings for merging (<<)", max(value.start, 0)
            )
        for source in sources:
            budget[0] -= len(source.items)
            if budget[0] < 0:
                raise DocError(
                    f"merge keys bring in more than {MAX_MERGED:,} keys: not read", key.start
                )
            merged += [(k, v, source) for k, v in source.items]
    written = [(k, v) for k, v in node.items if not _is_merge(k)]
    taken = {_identity(k) for k, _ in written}
    extra: list[tuple[DNode, DNode]] = []
    for key, value, source in reversed(merged):
        name = _identity(key)
        if name in taken:
            continue
        taken.add(name)
        extra.append((key, value))
        merged_from.setdefault(id(value), []).append(source)
    node.items = written + extra[::-1]


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
        self.errors: list[ScanError] = []

    def tasks(self, node: DNode | None, depth: int) -> None:
        if node is None or node.kind != SEQ:
            return
        for item in node.items:
            if item.kind == MAP:
                self.task(item, depth + 1)

    def task(self, task: DNode, depth: int) -> None:
        if depth > MAX_DEPTH:
            if not self.errors:  # once per file
                self.errors.append(too_deep(self.loc, task))
            return
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


def too_deep(loc: Locator, task: DNode) -> ScanError:
    """The error at a task nested in blocks deeper than :data:`MAX_DEPTH` (formats/ansible.py
    reports the same one: the scan reports it once)."""
    line, column, _ = loc.position(task.start)
    return ScanError(loc.path, line, column, TOO_DEEP)


def free_form(text: str) -> dict[str, str]:
    """``k=v`` words of a module's free-form arguments."""
    try:
        words = shlex.split(text)
    except ValueError:
        return {}
    return dict(word.split("=", 1) for word in words if "=" in word)
