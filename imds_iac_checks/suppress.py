"""Suppressions: findings a team has decided to accept, with the reason they gave.

Honoured, so that a repository already annotated for other tools needs nothing new:

- ``# imds-iac: ignore[IMDS003] reason`` (also ``//``) in HCL and YAML: on the finding's line, or
  on the resource's first line or the comment line above it (then for the whole resource).
  ``ignore`` without a rule list means every rule. A code is a rule id, a rule name or a prefix
  of ids (``IMDS00``), in any case.
- ``#checkov:skip=CKV_AWS_79:reason`` anywhere in a Terraform resource, as checkov reads it.
- CloudFormation resource ``Metadata``: ``imds-iac: {ignore: [IMDS003]}``,
  ``cfn-lint: {config: {ignore_checks: [E9002]}}`` and ``checkov: {skip: [{id: CKV_AWS_79}]}``
  (read by the CloudFormation adapter into ``Target.suppress``).

A suppressed finding is kept with ``suppressed`` set to its reason: reports show it as suppressed
(JSON, SARIF) and it does not count for the exit code.

Dead suppressions: :func:`audit` gives every code of every ``imds-iac: ignore`` of the files
scanned (comments and Metadata entries; other tools' suppressions are theirs to judge) to the
rules that judge suppressions (``Rule.audit``), with whether it suppressed a finding. Their
findings are suppressed only by a code naming such a rule exactly, on the same line (or in the
same Metadata), so that a bare ``ignore`` or a prefix never hides the dead code it is.
"""

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.model import Finding, Policy, Span, Target
from imds_iac_checks.rules import REGISTRY, Rule, Suppression, auditors, matching
from imds_iac_checks.rules import peers as rule_peers

_INLINE = re.compile(rb"(?:#|//)[ \t]*imds-iac:[ \t]*ignore(?:\[([^\]\r\n]*)\])?[ \t]*([^\r\n]*)")
_CHECKOV = r"(?:#|//)\s*checkov:skip=([A-Za-z0-9_]+)(?::([^\r\n]*))?"
_CODE = re.compile(rb"[^,\s]+")


class Code(NamedTuple):
    """A code in an ignore list: as written, and where (byte offsets in the file)."""

    text: str
    start: int
    end: int


class Comment(NamedTuple):
    """One ``imds-iac: ignore`` comment."""

    line: int
    start: int  # byte offset of its ``#`` or ``//``
    end: int  # the end of its line (before the line break)
    codes: tuple[Code, ...] | None  # None: a bare ``ignore`` (every rule)
    list_start: int  # the text between ``[`` and ``]`` (-1 for a bare ignore)
    list_end: int
    reason: str
    comment_only: bool  # nothing but blanks before it on its line


def comments(data: bytes, path: str, *, embedded: bool = False) -> list[Comment]:
    """Every ``imds-iac: ignore`` comment of a file (HCL ``#`` and ``//``, YAML ``#``; JSON has
    none). Text that only looks like one — in a heredoc, a quoted string, a YAML block scalar
    such as user data — is not a comment: it suppresses nothing, is not judged and never edited.
    With ``embedded``, it is: the comments of code embedded in the file (a shell comment in a
    user-data heredoc), which suppress findings on that code (rules with ``Rule.hazard``).
    Lines end at ``\r\n``, ``\n`` or a lone ``\r``, as the readers count them."""
    if b"imds-iac:" not in data:
        return []
    real = None if embedded else _comment_ranges(data, path)
    out = []
    line, pos = 1, 0  # the line number at byte ``pos``
    for m in _INLINE.finditer(data):
        start = m.start()
        if real is not None and not any(a <= start < b for a, b in real):
            continue
        line += _breaks(data, pos, start)
        pos = start
        begin = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
        codes = None
        if m.group(1) is not None:
            at = m.start(1)
            codes = tuple(
                Code(c.group().decode("utf-8", "replace"), at + c.start(), at + c.end())
                for c in _CODE.finditer(m.group(1))
            )
        before = data[begin:start].removeprefix(b"\xef\xbb\xbf")
        out.append(
            Comment(
                line,
                start,
                m.end(),  # the reason runs to the end of the line
                codes,
                m.start(1) if codes is not None else -1,
                m.end(1) if codes is not None else -1,
                m.group(2).decode("utf-8", "replace").strip(),
                not before.strip(b" \t"),
            )
        )
    return out


def _comment_ranges(data: bytes, path: str) -> list[tuple[int, int]] | None:
    """The byte ranges of the comments of ``data``, read as its syntax (by ``path``) reads them;
    None when the text does not parse (then every match counts, as the scan reported the file)."""
    from imds_iac_checks.formats import syntax_of

    syntax = syntax_of(path, data)
    if syntax == "json":
        return []
    if syntax not in ("hcl", "yaml", ""):
        return None  # a script: its own comments (``#``) are every match
    if syntax == "hcl":
        from imds_iac_checks.formats.terraform.syntax import parse_tree

        root = parse_tree(data, blank=False).root_node
        if root.has_error:
            return None
        ranges: list[tuple[int, int]] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if node.type == "comment":
                ranges.append((node.start_byte, node.end_byte))
            else:
                stack.extend(node.children)
        return ranges
    return _yaml_comment_ranges(data)


def _yaml_comment_ranges(data: bytes) -> list[tuple[int, int]] | None:
    """The comments ruamel.yaml's scanner finds (it skips block scalars and quoted strings)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.tokens import CommentToken

    text = data.decode("utf-8", "replace")
    found: list[tuple[int, int]] = []

    def collect(held: object) -> None:
        if isinstance(held, CommentToken):
            found.append((held.start_mark.index, held.start_mark.index + len(held.value)))
        elif isinstance(held, (list, tuple)):
            for item in held:
                collect(item)

    try:
        try:
            for token in YAML(typ="rt").scan(text):
                collect(getattr(token, "_comment", None))
        except YAMLError:
            if "{{" not in text:
                raise
            # A Helm chart template: its Go template actions blanked (same offsets)
            from imds_iac_checks.formats import gotemplate

            found.clear()
            for token in YAML(typ="rt").scan(gotemplate.blank(text, gotemplate.actions(text))):
                collect(getattr(token, "_comment", None))
    except (YAMLError, ValueError, RecursionError):
        return None
    if text.isascii():
        return found
    # Character offsets to byte offsets.
    return [(len(text[:a].encode()), len(text[:b].encode())) for a, b in found]


def _breaks(data: bytes, start: int, end: int) -> int:
    """The line breaks in ``data[start:end]`` (``\r\n`` counts once)."""
    return (
        data.count(b"\n", start, end)
        + data.count(b"\r", start, end)
        - data.count(b"\r\n", start, end)
    )


# Identifies one suppression code of a scan (or a bare ignore): (path, byte offset).
Key = tuple[str, int]


class _Entry(NamedTuple):
    rules: frozenset[str] | None  # None: every rule that judges targets
    why: str
    key: Key


class _FileNotes:
    """The suppression comments of one file: line -> entries."""

    def __init__(self, path: str, data: bytes) -> None:
        self.inline: dict[int, list[_Entry]] = {}
        self.checkov: dict[int, list[tuple[frozenset[str], str]]] = {}
        self.comment_only: set[int] = set()
        self.path, self.data = path, data
        self._embedded: tuple[dict[int, list[_Entry]], set[int]] | None = None
        if b"imds-iac:" not in data and b"checkov:skip" not in data:
            return
        self._index(comments(data, path), self.inline, self.comment_only)
        if b"checkov:skip" not in data:
            return
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            for m in re.finditer(_CHECKOV, line):
                mapped = rule_peers().get(m.group(1).upper())
                if mapped:
                    reason = (m.group(2) or "").strip() or "no reason given"
                    entry = (frozenset(mapped), f"checkov:skip={m.group(1)}: {reason}")
                    self.checkov.setdefault(number, []).append(entry)

    def _index(self, found: list[Comment], inline: dict[int, list[_Entry]], only: set[int]) -> None:
        path = self.path
        for c in found:
            why = f"imds-iac: ignore: {c.reason or 'no reason given'}"
            entries = inline.setdefault(c.line, [])
            if c.codes is None:
                entries.append(_Entry(None, why, (path, c.start)))
            for code in c.codes or ():
                entries.append(_Entry(frozenset(matching(code.text)), why, (path, code.start)))
            if c.comment_only:
                only.add(c.line)

    def embedded(self) -> tuple[dict[int, list[_Entry]], set[int]]:
        """The comments of the code embedded in the file (see :func:`comments`), as ``inline``
        and ``comment_only``: what suppresses a finding on that code."""
        if self._embedded is None:
            inline: dict[int, list[_Entry]] = {}
            only: set[int] = set()
            if b"imds-iac:" in self.data:
                self._index(comments(self.data, self.path, embedded=True), inline, only)
            self._embedded = (inline, only)
        return self._embedded

    def __bool__(self) -> bool:
        return bool(self.inline or self.checkov)


def apply(
    findings: list[Finding],
    origins: dict[Finding, Any],
    cwd: str,
    files: source.Files,
    used: set[Key] | None = None,
    policies: Mapping[Finding, Policy] | None = None,
) -> list[Finding]:
    """The findings, with ``suppressed`` set on those a suppression covers (the comments are
    read through ``files``); the imds-iac codes that suppressed one are added to ``used``.
    ``policies``: the guardrail policy each finding of a rule that judges policies is on (its
    resource's comments and Metadata suppress it as a target's do)."""
    notes: dict[str, _FileNotes] = {}

    def of(path: str) -> _FileNotes:
        if path not in notes:
            try:
                notes[path] = _FileNotes(path, files.read(os.path.join(cwd, path)))
            except OSError:
                notes[path] = _FileNotes(path, b"")
        return notes[path]

    out = []
    for f in findings:
        origin = origins.get(f)
        target: Target | Policy | None = origin[0] if origin is not None else None
        if target is None and policies:
            target = policies.get(f)
        reason, key = _reason(f, target, of)
        out.append(f._replace(suppressed=reason) if reason else f)
        if reason and origin is not None:
            origins[out[-1]] = origin
        if key is not None and used is not None:
            used.add(key)
    return out


def _covers(entry: _Entry, rule_id: str) -> bool:
    return rule_id in entry.rules if entry.rules is not None else not _audits(rule_id)


def _judges_code(rule_id: str) -> bool:
    """A rule whose findings are on code that runs on instances (``Rule.hazard``): the code's
    own comments suppress them, wherever it is embedded."""
    rule = REGISTRY.get(rule_id)
    return rule is not None and rule.hazard is not None


def _audits(rule_id: str) -> bool:
    rule = REGISTRY.get(rule_id)
    return rule is not None and rule.audit is not None


def _reason(
    f: Finding, target: Target | Policy | None, of: Callable[[str], _FileNotes]
) -> tuple[str | None, Key | None]:
    if target is not None:
        for code, why, span in target.suppress:
            if f.rule_id in matching(code):
                return why, (span.path, span.start_byte) if span is not None else None
    here = of(f.path)
    if here or _judges_code(f.rule_id):
        inline, comment_only = here.inline, here.comment_only
        if _judges_code(f.rule_id):
            inline, comment_only = here.embedded()
        lines = [f.span.line]
        if f.span.line - 1 in comment_only:
            lines.append(f.span.line - 1)
        for line in lines:
            for entry in inline.get(line, ()):
                if _covers(entry, f.rule_id):
                    return entry.why, entry.key
    if target is None or not (target.path.endswith(".tf") or target.format == "ansible"):
        return None, None
    if isinstance(target, Policy):
        return _policy_reason(f, target, of(target.path))
    where = of(target.path)
    if not where:
        return None, None
    # The resource's first line (an Ansible task: its lines down to the module's key) or the
    # comment line above it.
    header = target.header.line
    first = min(target.span.line, header) if target.format == "ansible" else header
    # An Ansible task also: the lines inside it where the finding's value is used (``http_tokens:
    # "{{ web_http_tokens }}"`` for a value written in the role's defaults).
    used = _uses_in(f, target) if target.format == "ansible" else ()
    for line in (*range(first, header + 1), first - 1, *used):
        if line == first - 1 and line not in where.comment_only:
            continue
        for entry in where.inline.get(line, ()):
            if _covers(entry, f.rule_id):
                return entry.why, entry.key
    for line in range(target.span.line, target.span.end_line + 1):
        for rules, why in where.checkov.get(line, ()):
            if f.rule_id in rules:
                return why, None
    return None, None


def _policy_reason(
    f: Finding, policy: Policy, where: "_FileNotes"
) -> tuple[str | None, Key | None]:
    """A finding on a policy written in a Terraform resource or data block: an ignore on the
    block's first line or the comment line above it, or a checkov skip inside the block."""
    if not where or policy.header is None:
        return None, None
    first = policy.header.line
    for line in (first, first - 1):
        if line == first - 1 and line not in where.comment_only:
            continue
        for entry in where.inline.get(line, ()):
            if _covers(entry, f.rule_id):
                return entry.why, entry.key
    for line in range(policy.span.line, policy.span.end_line + 1):
        for rules, why in where.checkov.get(line, ()):
            if f.rule_id in rules:
                return why, None
    return None, None


def _uses_in(f: Finding, target: Target) -> tuple[int, ...]:
    """The lines of ``target``'s own file, inside it, through which the value a finding is on
    flowed (its provenance links there: the value may be written outside the task)."""
    if f.setting is None:
        return ()
    lines: list[int] = []
    for value in target.settings.get(f.setting, ()):
        if value.span != f.span:
            continue
        for link in value.provenance[1:]:
            where = link.span
            if (
                where.path == target.path
                and target.span.start_byte <= where.start_byte < target.span.end_byte
                and where.line not in lines
            ):
                lines.append(where.line)
    return tuple(lines)


# --- dead suppressions ------------------------------------------------------------------------


class _Found(NamedTuple):
    """A suppression code of a file, as an auditing rule sees it, and where it stands."""

    suppression: Suppression
    group: tuple[str, object]  # the line (comments) or resource (Metadata) it belongs to
    why: str  # the reason it gives, when it suppresses an auditing rule's finding


def audit(
    scanned: dict[str, tuple[str, ...]],
    targets: dict[str, list[Target]],
    used: set[Key],
    cwd: str,
    files: source.Files,
) -> list[Finding]:
    """The findings of the rules that judge suppressions on the files ``scanned`` (shown path
    -> the rules enabled for it), given the targets found in each file and the codes ``apply``
    found ``used``. A file that could not be read is skipped (the scan said so already)."""
    judges = auditors()
    out: list[Finding] = []
    for path, enabled in scanned.items():
        mine = [rule for rule in judges if rule.id in enabled]
        if not mine:
            continue
        full = os.path.join(cwd, path)
        try:  # a file the scan read without a comment holds none
            data = files.read(full) if files.may_suppress(full) else b""
        except OSError:
            continue
        found = _suppressions(path, data, targets.get(path, []), enabled, used)
        out += _judge(mine, found)
    return out


def _suppressions(
    path: str, data: bytes, targets: list[Target], enabled: tuple[str, ...], used: set[Key]
) -> list[_Found]:
    out: list[_Found] = []
    judged = tuple(r for r in enabled if not _audits(r))
    for c in comments(data, path):
        resource = _around(targets, c.line, c.comment_only)
        why = f"imds-iac: ignore: {c.reason or 'no reason given'}"
        group = ("line", c.line)
        if c.codes is None:
            span = _span(path, data, c.line, c.start, c.end)
            s = Suppression(
                span, None, judged, (path, c.start) in used, bool(judged), resource, True
            )
            out.append(_Found(s, group, why))
        for code in c.codes or ():
            rules = matching(code.text)
            s = Suppression(
                _span(path, data, c.line, code.start, code.end),
                code.text,
                rules,
                (path, code.start) in used,
                any(r in judged for r in rules),
                resource,
                True,
            )
            out.append(_Found(s, group, why))
    seen: set[int] = set()
    for target in targets:
        for text, why, where in target.suppress:
            if where is None or where.path != path or where.start_byte in seen:
                continue
            seen.add(where.start_byte)
            rules = matching(text)
            s = Suppression(
                where,
                text,
                rules,
                (path, where.start_byte) in used,
                any(r in judged for r in rules),
                target.address,
                False,
            )
            out.append(_Found(s, ("resource", target.address), why))
    return out


def _judge(judges: Iterable[Rule], found: list[_Found]) -> list[Finding]:
    """Each auditing rule's findings on the codes found; a code naming an auditing rule exactly
    is judged last, once it is known whether it suppressed one of them."""
    own: dict[str, list[_Found]] = {}  # an auditing rule's id -> the codes naming it exactly
    rest: list[_Found] = []
    for item in found:
        code = item.suppression.code
        named = _exactly(code) if code is not None else None
        if named is not None:
            own.setdefault(named.id, []).append(item)
        else:
            rest.append(item)
    out: list[Finding] = []
    used: set[int] = set()
    for rule in judges:
        assert rule.audit is not None
        for item in rest:
            for f in rule.audit(item.suppression):
                for other in own.get(rule.id, ()):
                    if other.group == item.group:
                        f = f._replace(suppressed=other.why)
                        used.add(id(other))
                        break
                out.append(f)
    for rule in judges:
        assert rule.audit is not None
        for item in own.get(rule.id, ()):
            s = item.suppression._replace(used=id(item) in used, enabled=True)
            out.extend(rule.audit(s))
    return out


def _exactly(code: str) -> Rule | None:
    """The auditing rule a code names by its id or name (not by a prefix), if any."""
    text = code.strip()
    for rule in auditors():
        if text.upper() == rule.id or text.lower() == rule.name:
            return rule
    return None


def _around(targets: list[Target], line: int, comment_only: bool) -> str:
    """The resource a comment on ``line`` sits in (or above, as a comment line), as written in
    its file (no module path, no instance keys); "" outside every resource."""
    best: Target | None = None
    for t in targets:
        first = t.span.line - 1 if comment_only else t.span.line
        if first <= line <= t.span.end_line and (
            best is None
            or t.span.end_byte - t.span.start_byte < best.span.end_byte - best.span.start_byte
        ):
            best = t
    if best is None:
        return ""
    address = best.generic(best.address)
    if best.format == "terraform":
        at = address.rfind(best.kind + ".")
        address = address[at:] if at >= 0 else address
    return address


def _span(path: str, data: bytes, line: int, start: int, end: int) -> Span:
    """The span of bytes ``start:end`` of line ``line`` (columns in characters)."""
    begin = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
    prefix = data[begin:start]
    if begin == 0:
        prefix = prefix.removeprefix(b"\xef\xbb\xbf")
    column = len(prefix.decode("utf-8", "replace")) + 1
    width = len(data[start:end].decode("utf-8", "replace"))
    return Span(path, start, end, line, column, line, column + width)
