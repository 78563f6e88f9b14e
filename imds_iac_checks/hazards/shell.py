"""IMDSv1 calls in shell scripts (``curl``/``wget`` to the metadata service without a session
token), and their fix: the token flow.

The script is parsed with tree-sitter-bash; words are resolved through the script's own
variables (``IMDS=http://169.254.169.254/latest``, ``curl "$IMDS/meta-data/..."``), arrays,
``${X:-default}`` and function parameters (``imds() { curl "http://169.254.169.254/$1"; }``),
to a bounded depth. A call passes when one of its words carries the
``X-aws-ec2-metadata-token:`` header (written out, or from a variable or array holding it),
or when it is the ``PUT`` to ``/latest/api/token`` itself. Text the payload does not write
literally and is not known (an expression kept unevaluated: ``${var.host}`` in a Terraform
template; see :func:`~imds_iac_checks.hazards.unknown_spans`) is read as an unknown word: a URL
whose host is unknown is not judged. Known text that is not written literally (a decoded base64
literal, the value of ``${local.imds}``) is read as what the instance runs.

Heredocs fed to an interpreter (``python3 - <<'EOF'``, ``bash <<'EOF'``, ``cat > x.py <<EOF``)
and ``bash -c``/``python3 -c`` strings are handed back as nested payloads (analysed by the
analyser of their language); calls there get no fix (quoting them is left to a person).

The Amazon Linux ``ec2-metadata`` tool: the original "Instance Metadata Query Tool" (2008,
downloaded from ``s3.amazonaws.com/ec2metadata``) and ec2-utils before 1.1 call IMDSv1 only;
ec2-utils 1.1 (January 2020, changelog "Add IMDSv2 support") fetches a token first, and so does
every later release (amazon-ec2-utils 2.x on Amazon Linux 2023; Amazon Linux 2 images since
2020). Whether a call breaks depends on the image, which a script does not say, so every
``ec2-metadata`` call is reported, with a message naming the versions that break, and no fix
(the fix is updating the package, or replacing the call). Ubuntu's ``ec2metadata``
(cloud-utils / cloud-guest-utils) fetches a token since cloud-utils 0.32 (July 2020, "IMDSv2
session token support"); older releases call IMDSv1: reported the same way.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks.hazards import unknown_spans
from imds_iac_checks.model import Found, Payload

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Query

# The kind of Found this module yields: the IMDSv1-call rule's own constant (its name must
# appear only in that rule's module).
from imds_iac_checks.model import METADATA_CALL as KIND

HEADER = "X-aws-ec2-metadata-token"
TOKEN_LINE = (
    '{name}=$(curl -s -X PUT "http://{host}/latest/api/token" '
    '-H "X-aws-ec2-metadata-token-ttl-seconds: 21600")'
)
# With wget and no curl in the script (a busybox image may have no curl): GNU wget's --method.
WGET_TOKEN_LINE = (
    "{name}=$(wget -q -O - --method=PUT "
    '--header="X-aws-ec2-metadata-token-ttl-seconds: 21600" {url})'
)
CHANGE = "adds the IMDSv2 session token to this call"
# Options of ec2-metadata / ec2metadata that print text of the tool's own and query nothing.
_NO_QUERY = {"-h", "--help", "--version"}

# Bounds on hostile input.
MAX_DEPTH = 8  # variables / function parameters followed this deep
MAX_CANDIDATES = 8  # values one word may resolve to
MAX_VALUE = 2048  # characters of one resolved value kept
MAX_CALL_SITES = 16  # call sites of a function read for its parameters
MAX_BODY_LINES = 20000  # lines of a `<<-` heredoc mapped line by line

_UNKNOWN = "\x00"  # starts a word's part whose value is not known; ends at _END
_END = "\x01"
_SPACE = "\x02"  # whitespace inside an unknown part (not a word boundary)
_TOKEN_HEADER = re.compile(r"(?i)x-aws-ec2-metadata-token\s*:")
_URL = re.compile(r"(?i)^(?:([a-z][a-z0-9+.-]*)://)?([^/?#]*)(.*)$", re.S)
_IMDS = {"169.254.169.254", "[fd00:ec2::254]", "instance-data", "instance-data.ec2.internal"}

_SHELLS = {"bash", "sh", "dash", "zsh", "ksh", "ash"}
_WRAPPERS = {"sudo", "command", "exec", "env", "nice", "nohup", "time", "timeout", "stdbuf"}
_TOOLS = {"curl", "wget", "ec2-metadata", "ec2metadata"}
# Short options that take a value (the rest of the word, or the next word).
_SHORT_VALUE = {"curl": set("XHodwAubcKmeErTFYyCxzQUtDP"), "wget": set("OoaetTwPUQiBlDIXAR")}
_LONG_VALUE = {
    "curl": {
        "--request",
        "--header",
        "--output",
        "--data",
        "--data-raw",
        "--data-binary",
        "--data-urlencode",
        "--data-ascii",
        "--write-out",
        "--user-agent",
        "--user",
        "--cookie",
        "--cookie-jar",
        "--config",
        "--max-time",
        "--referer",
        "--cert",
        "--key",
        "--range",
        "--upload-file",
        "--form",
        "--proxy",
        "--noproxy",
        "--resolve",
        "--connect-to",
        "--interface",
        "--dns-servers",
        "--retry",
        "--retry-delay",
        "--retry-max-time",
        "--connect-timeout",
        "--cacert",
        "--capath",
        "--dump-header",
        "--url",
        "--limit-rate",
        "--speed-time",
        "--speed-limit",
        "--max-filesize",
        "--unix-socket",
        "--proxy-user",
        "--expect100-timeout",
        "--keepalive-time",
        "--retry-all-errors-delay",
        "--time-cond",
    },
    "wget": {
        "--output-document",
        "--output-file",
        "--append-output",
        "--execute",
        "--tries",
        "--timeout",
        "--wait",
        "--directory-prefix",
        "--user-agent",
        "--quota",
        "--input-file",
        "--base",
        "--level",
        "--header",
        "--method",
        "--body-data",
        "--post-data",
        "--read-timeout",
        "--connect-timeout",
        "--dns-timeout",
        "--no-proxy-list",
        "--http-user",
        "--http-password",
        "--user",
        "--password",
    },
}

_parser: Parser | None = None
_query: Query | None = None
_QUERY = """
(command name: (command_name) @name) @command
(variable_assignment name: (variable_name) @var) @assign
(function_definition name: (word) @fname) @function
(heredoc_redirect) @heredoc
"""


def _get() -> tuple[Parser, Query]:
    global _parser, _query
    if _parser is None or _query is None:
        import tree_sitter
        import tree_sitter_bash

        language = tree_sitter.Language(tree_sitter_bash.language())
        _parser = tree_sitter.Parser(language)
        _query = tree_sitter.Query(language, _QUERY)
    return _parser, _query


def check_syntax(text: str) -> str | None:
    """Why ``text`` is not valid shell according to ``bash -n`` (its message), or None when it
    is, or when bash is not installed (the caller decides whether that matters)."""
    return bash_n(text.encode("utf-8", "surrogatepass"))


def bash_n(data: bytes) -> str | None:
    """``bash -n``'s message on ``data``, or None when it accepts it or bash is not installed."""
    bash = shutil.which("bash")
    if bash is None:
        return None
    try:
        result = subprocess.run([bash, "-n"], input=data, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bash -n could not run: {exc}"
    if result.returncode == 0:
        return None
    return result.stderr.decode("utf-8", "replace").strip() or f"bash -n exited {result.returncode}"


def valid(data: bytes) -> bool:
    """A script ``bash -n`` accepts (where bash is installed; else one tree-sitter-bash parses
    without an error)."""
    if shutil.which("bash") is not None:
        return bash_n(data) is None
    parser, _ = _get()
    return not parser.parse(data).root_node.has_error


def mentions(text: str) -> bool:
    from imds_iac_checks.hazards import mentions_imds

    return mentions_imds(text) or "ec2metadata" in text


class _Call(NamedTuple):
    node: Node  # the command
    tool: str
    after_name: int  # payload offset just past the tool's word
    url: str
    host: str
    method: str
    no_fix: str


class _Script:
    """One parsed script: what its words resolve to."""

    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        text = payload.text
        self.text = text
        # Unknown text (an expression left unevaluated: ``${var.host}``), as sorted (start, end)
        # character ranges; the parser reads them as `_` words. Known text outside pieces (a
        # decoded base64 literal, an interpolation's value) is read as written.
        holes = unknown_spans(payload)
        self.holes = holes
        self.hole_starts = [h[0] for h in holes]
        parsed = text
        if holes:
            chars = list(text)
            for lo, hi in holes:
                for i in range(lo, hi):
                    if chars[i] != "\n":
                        chars[i] = "_"
            parsed = "".join(chars)
        self.source = parsed.encode("utf-8", "surrogatepass")
        self.ascii = len(self.source) == len(text)
        self._b2c: list[int] | None = None
        parser, query = _get()
        self.tree = parser.parse(self.source)
        from tree_sitter import QueryCursor

        captures = QueryCursor(query).captures(self.tree.root_node)
        # (captures come grouped by pattern, not in document order)
        self.commands: list[Node] = sorted(captures.get("command", []), key=_start)
        self.assigns: dict[str, list[Node]] = {}
        for node in sorted(captures.get("assign", []), key=_start):
            name = node.child_by_field_name("name")
            if name is not None:
                self.assigns.setdefault(self.raw(name), []).append(node)
        self.functions: dict[str, Node] = {}
        for node in captures.get("function", []):
            name = node.child_by_field_name("name")
            if name is not None:
                self.functions.setdefault(self.raw(name), node)
        self.heredocs: list[Node] = sorted(captures.get("heredoc", []), key=_start)
        self.call_sites: dict[str, list[Node]] = {}
        if self.functions:
            for command in self.commands:
                called = self.command_word(command)
                if called in self.functions:
                    sites = self.call_sites.setdefault(called, [])
                    if len(sites) < MAX_CALL_SITES:
                        sites.append(command)
        self._memo: dict[str, list[str]] = {}

    # --- coordinates ------------------------------------------------------------------------

    def c(self, byte: int) -> int:
        """The character offset of a byte offset."""
        if self.ascii:
            return byte
        if self._b2c is None:
            table = [0] * (len(self.source) + 1)
            at = 0
            for i, ch in enumerate(self.text):
                size = len(ch.encode("utf-8", "surrogatepass"))
                for k in range(size):
                    table[at + k] = i
                at += size
            table[at] = len(self.text)
            self._b2c = table
        return self._b2c[byte]

    def raw(self, node: Node) -> str:
        """The node's text as the parser read it (holes as `_`)."""
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def literal(self, start_byte: int, end_byte: int) -> str:
        """Payload text between two byte offsets, holes marked unknown."""
        start, end = self.c(start_byte), self.c(end_byte)
        if not self.holes:
            return self.text[start:end]
        out: list[str] = []
        at = start
        i = max(0, bisect_right(self.hole_starts, start) - 1)
        while i < len(self.holes) and self.holes[i][0] < end:
            lo, hi = self.holes[i]
            lo, hi = max(lo, start), min(hi, end)
            if lo < hi:
                out.append(self.text[at:lo])
                out.append(_opaque(self.text[lo:hi]))
                at = hi
            i += 1
        out.append(self.text[at:end])
        return "".join(out)

    def command_word(self, command: Node) -> str:
        name = command.child_by_field_name("name")
        return self.raw(name).strip() if name is not None else ""

    # --- resolution -------------------------------------------------------------------------

    def values(self, node: Node, depth: int = 0) -> list[str]:
        """What a word may be once the shell expands it (up to MAX_CANDIDATES values); parts
        not known are kept as written between _UNKNOWN and _END."""
        kind = node.type
        if kind in ("word", "number", "string_content", "variable_name", "heredoc_body"):
            return [_unescape(self.literal(node.start_byte, node.end_byte))]
        if kind == "raw_string":
            return [self.literal(node.start_byte + 1, node.end_byte - 1)]
        if kind == "ansi_c_string":
            return [self.literal(node.start_byte + 2, node.end_byte - 1)]
        if kind in ("string", "concatenation", "command_name", "translated_string"):
            inner_start, inner_end = node.start_byte, node.end_byte
            if kind == "string":
                inner_start, inner_end = inner_start + 1, inner_end - 1
            parts: list[list[str]] = []
            at = inner_start
            for child in node.children:
                if child.end_byte <= inner_start or child.start_byte >= inner_end:
                    continue
                if child.start_byte > at:
                    parts.append([self.literal(at, child.start_byte)])
                parts.append(self.values(child, depth))
                at = child.end_byte
            if at < inner_end:
                parts.append([self.literal(at, inner_end)])
            return _product(parts)
        if kind == "simple_expansion":
            name = node.named_children[-1] if node.named_children else None
            return self.variable(self.raw(name) if name is not None else "", node, depth)
        if kind == "expansion":
            return self.expansion(node, depth)
        return [_opaque(self.raw(node))]

    def expansion(self, node: Node, depth: int) -> list[str]:
        name = ""
        operator = ""
        default: Node | None = None
        for child in node.children:
            if child.type == "variable_name" and not name:
                name = self.raw(child)
            elif child.type == "subscript":
                inner = child.child_by_field_name("name")
                name = self.raw(inner) if inner is not None else ""
            elif child.type in ("special_variable_name",) and not name:
                name = self.raw(child)
            elif not child.is_named and child.type not in ("${", "}"):
                operator = child.type
            elif child.is_named and operator and default is None:
                default = child
        if not name:
            return [_opaque(self.raw(node))]
        if operator in (":-", "-", ":=", "="):
            found = self.variable(name, node, depth, unknown_ok=False)
            extra = self.values(default, depth) if default is not None else [""]
            return _cap(found + extra) if found else extra
        if operator:
            return [_opaque(self.raw(node))]
        return self.variable(name, node, depth)

    def variable(self, name: str, at: Node, depth: int, unknown_ok: bool = True) -> list[str]:
        unknown = [_opaque(self.raw(at))] if unknown_ok else []
        if depth >= MAX_DEPTH or not name:
            return unknown
        if name.isdigit() or name in ("@", "*"):
            return self.parameter(name, at, depth) or unknown
        if name in self._memo:
            return self._memo[name] or unknown
        self._memo[name] = []  # a cycle resolves to unknown
        out: list[str] = []
        for assign in self.assigns.get(name, ())[-MAX_CANDIDATES:]:
            value = assign.child_by_field_name("value")
            if value is None:
                out.append("")
            elif value.type == "array":
                elements = [self.values(e, depth + 1)[0] for e in value.named_children]
                out.append(" ".join(elements)[:MAX_VALUE])
            else:
                out.extend(v[:MAX_VALUE] for v in self.values(value, depth + 1))
        # A value not known at all reads better as the variable (`$ROLE`) than as its source.
        out = _cap([v for v in out if not _opaque_only(v)])
        self._memo[name] = out
        return out or unknown

    def parameter(self, name: str, at: Node, depth: int) -> list[str]:
        """A function's positional parameter: what its call sites pass."""
        function = _enclosing(at, "function_definition")
        if function is None:
            return []
        fname = function.child_by_field_name("name")
        if fname is None:
            return []
        out: list[str] = []
        for site in self.call_sites.get(self.raw(fname), ()):
            if _enclosing(site, "function_definition") == function:
                continue  # recursion: nothing new
            args = site.children_by_field_name("argument")
            if name in ("@", "*"):
                parts = [self.values(a, depth + 1) for a in args]
                out.extend(" ".join(p) for p in zip(*parts, strict=False)) if parts else None
                if not parts:
                    out.append("")
            else:
                index = int(name) - 1
                if 0 <= index < len(args):
                    out.extend(self.values(args[index], depth + 1))
        return _cap(out)

    # --- calls ------------------------------------------------------------------------------

    def tool_of(self, command: Node) -> tuple[str, Node, list[Node]] | None:
        """The tool a command runs (past `sudo`, `env`, ...), its word and its arguments."""
        name = command.child_by_field_name("name")
        if name is None:
            return None
        args = list(command.children_by_field_name("argument"))
        word = self.values(name)[0]
        base = _basename(word)
        if base in _WRAPPERS:
            for i, arg in enumerate(args):
                candidate = _basename(self.values(arg)[0])
                if candidate in _TOOLS or candidate in _SHELLS or _interpreter(candidate):
                    return candidate, arg, args[i + 1 :]
            return None
        return base, name, args


def _start(node: Node) -> int:
    return node.start_byte


def _basename(word: str) -> str:
    return word.strip().rsplit("/", 1)[-1]


def _interpreter(name: str) -> str:
    """The nested payload language of an interpreter command, or ""."""
    if re.fullmatch(r"python[0-9.]*", name):
        return "python"
    if name in ("node", "nodejs"):
        return "javascript"
    return ""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text


def _cap(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
        if len(seen) >= MAX_CANDIDATES:
            break
    return list(seen)


def _product(parts: list[list[str]]) -> list[str]:
    out = [""]
    for options in parts:
        out = _cap([(a + b)[:MAX_VALUE] for a in out for b in options])
    return out


def _enclosing(node: Node, kind: str) -> Node | None:
    parent = node.parent
    while parent is not None:
        if parent.type == kind:
            return parent
        parent = parent.parent
    return None


def _opaque(text: str) -> str:
    """An unknown part: kept as written, but one word."""
    return _UNKNOWN + re.sub(r"\s", _SPACE, text) + _END


def _opaque_only(value: str) -> bool:
    return value.startswith(_UNKNOWN) and value.endswith(_END) and value.count(_UNKNOWN) == 1


def _shown(text: str) -> str:
    return text.replace(_UNKNOWN, "").replace(_END, "").replace(_SPACE, " ")


def imds_url(word: str) -> tuple[str, str] | None:
    """``(host, rest)`` when ``word`` is a URL of the metadata service (scheme optional),
    else None; also None when its host is not known (a hole, an unknown variable)."""
    word = word.strip()
    if not word or word.startswith("-"):
        return None
    match = _URL.match(word)
    if match is None:
        return None
    scheme, authority, rest = match.groups()
    if scheme and scheme.lower() not in ("http", "https"):
        return None
    if _UNKNOWN in authority:
        return None
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    else:
        host = host.split(":", 1)[0]
    if host.lower() not in _IMDS:
        return None
    return host.lower(), rest


def _words(script: _Script, args: list[Node]) -> list[tuple[str, bool]]:
    """The words a command's arguments expand to: each (word, known), candidates of one
    argument one after another."""
    out: list[tuple[str, bool]] = []
    for arg in args:
        if arg.type in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
            continue
        for value in script.values(arg):
            quoted = arg.type in ("string", "raw_string")
            pieces = [value] if quoted and "${" not in script.raw(arg) else value.split()
            for piece in pieces:
                out.append((piece, _UNKNOWN not in piece))
    return out


def read_options(
    tool: str, words: list[tuple[str, bool]]
) -> tuple[list[str], dict[str, list[str]]]:
    """Operands (URLs) and option values of a curl/wget command line."""
    operands: list[str] = []
    options: dict[str, list[str]] = {}
    short, long = _SHORT_VALUE[tool], _LONG_VALUE[tool]
    i = 0
    while i < len(words):
        word, _ = words[i]
        i += 1
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word.partition("=")
            if eq:
                options.setdefault(name, []).append(value)
            elif name in long and i < len(words):
                options.setdefault(name, []).append(words[i][0])
                i += 1
            else:
                options.setdefault(name, []).append("")
        elif word.startswith("-") and len(word) > 1:
            for k, letter in enumerate(word[1:], 1):
                if letter in short:
                    value = word[k + 1 :]
                    if not value and i < len(words):
                        value = words[i][0]
                        i += 1
                    options.setdefault("-" + letter, []).append(value)
                    break
                options.setdefault("-" + letter, []).append("")
        else:
            operands.append(word)
    return operands, options


def _http_call(script: _Script, tool: str, args: list[Node]) -> tuple[str, str, str, str] | None:
    """``(url, host, method, verdict)`` for a curl/wget call of the metadata service, verdict
    "v1" (no token), "token" (the PUT that fetches one) or "v2"; None when it is not one."""
    words = _words(script, args)
    operands, options = read_options(tool, words)
    urls = operands + options.get("--url", [])
    url = host = ""
    for word in urls:
        found = imds_url(word)
        if found is not None:
            url, host = word, found[0]
            break
    if not url:
        return None
    if tool == "curl":
        methods = options.get("-X", []) + options.get("--request", [])
        if options.get("-T") or options.get("--upload-file"):
            methods.append("PUT")
        if not methods and any(k in options for k in ("-d", "--data", "--data-raw", "-F")):
            methods.append("POST")
        if not methods and ("-I" in options or "--head" in options):
            methods.append("HEAD")
        headers = options.get("-H", []) + options.get("--header", [])
    else:
        methods = options.get("--method", [])
        if not methods and ("--post-data" in options or "--body-data" in options):
            methods.append("POST")
        headers = options.get("--header", [])
    method = (methods[-1] if methods else "GET").upper()
    if "api/token" in url and (method == "PUT" or _UNKNOWN in method):
        return url, host, method, "token"
    if any(_TOKEN_HEADER.search(w) for w, _ in words):
        return url, host, method, "v2"
    # A header whose name is not known may be the token (from the environment, a file).
    for header in headers:
        if _UNKNOWN in header.split(":", 1)[0]:
            return url, host, method, "v2"
    return url, host, method, "v1"


def find(payload: Payload) -> Iterator[Found | Payload]:
    """The IMDSv1 calls in a shell payload, with their fix; nested payloads (heredocs fed to
    interpreters, ``bash -c`` strings)."""
    if not mentions(payload.text) and "<<" not in payload.text:
        return
    script = _Script(payload)
    calls: list[_Call] = []
    tokens: list[tuple[str, Node]] = []  # (variable, command) of each token fetch
    hosts: set[str] = set()  # the hosts of every metadata request of the script
    tools: set[str] = set()  # the tools the script runs
    for command in script.commands:
        word = script.command_word(command)
        base = _basename(word)
        known = base in _TOOLS or base in _WRAPPERS or base in _SHELLS
        if not known and not _interpreter(base):
            continue
        found = script.tool_of(command)
        if found is None:
            continue
        tool, name_node, args = found
        tools.add(tool)
        after = script.c(name_node.end_byte)
        if tool in ("curl", "wget"):
            judged = _http_call(script, tool, args)
            if judged is None:
                continue
            url, host, method, verdict = judged
            hosts.add(host)
            if verdict == "token":
                variable = _assigned_to(script, command)
                if variable:
                    tokens.append((variable, command))
                continue
            if verdict == "v2":
                continue
            calls.append(_Call(command, tool, after, _shown(url), host, method, _why_not(command)))
        elif tool in ("ec2-metadata", "ec2metadata"):
            if not any(script.raw(arg).strip("'\"") in _NO_QUERY for arg in args):
                yield _tool_found(script, command, tool)
        elif tool in _SHELLS or _interpreter(tool):
            nested = _dash_c(script, tool, args)
            if nested is not None:
                yield nested
    yield from _heredocs(script)
    if calls:
        yield from _fixed(
            script, calls, tokens, hosts, wget=("wget" in tools and "curl" not in tools)
        )


def _why_not(command: Node) -> str:
    """Why a call cannot be fixed where it is written, or ""."""
    node = command.parent
    backtick = False
    while node is not None:
        if node.type == "command_substitution" and node.children and node.children[0].type == "`":
            backtick = True
        elif backtick and node.type == "string":
            return (
                "the call is in backticks inside a double-quoted string: the header's quotes "
                "would need escaping; rewrite it as $(...) or add the token by hand"
            )
        node = node.parent
    return ""


def _assigned_to(script: _Script, command: Node) -> str:
    """The variable a command's output is assigned to (``TOKEN=$(curl ...)``), or ""."""
    node = command.parent
    for _ in range(4):
        if node is None:
            return ""
        if node.type == "variable_assignment":
            name = node.child_by_field_name("name")
            return script.raw(name) if name is not None else ""
        node = node.parent
    return ""


def _tool_found(script: _Script, command: Node, tool: str) -> Found:
    start, end = script.c(command.start_byte), script.c(command.end_byte)
    if tool == "ec2-metadata":
        if "s3.amazonaws.com/ec2metadata" in script.text:
            versions = "the standalone Instance Metadata Query Tool this script downloads"
        else:
            versions = "ec2-utils before 1.1 (January 2020) and the standalone 2008 tool"
        what = (
            f"ec2-metadata calls IMDSv1 in {versions}; ec2-utils 1.1 and later "
            "(Amazon Linux 2 since 2020, amazon-ec2-utils on Amazon Linux 2023) send a token"
        )
        no_fix = "update ec2-utils to 1.1 or later on the image (or use curl with a token)"
        minimum = "ec2-utils 1.1"
    else:
        what = (
            "ec2metadata calls IMDSv1 in cloud-utils before 0.32 (July 2020); "
            "0.32 and later send a token"
        )
        no_fix = "update cloud-utils (cloud-guest-utils) to 0.32 or later on the image"
        minimum = "cloud-utils 0.32"
    return Found(
        KIND,
        start,
        end,
        what,
        no_fix=no_fix,
        details=(("tool", tool), ("minimum", minimum), ("certain", "no"), ("help", no_fix)),
    )


def _dash_c(script: _Script, tool: str, args: list[Node]) -> Payload | None:
    """The script string of ``bash -c '...'`` / ``python3 -c "..."`` as a nested payload."""
    from imds_iac_checks.hazards import nest

    flag = "e" if _interpreter(tool) == "javascript" else "c"
    for i, arg in enumerate(args[:-1]):
        word = script.raw(arg)
        if not (word.startswith("-") and not word.startswith("--") and word.endswith(flag)):
            continue
        body = args[i + 1]
        start_b, end_b = body.start_byte, body.end_byte
        if body.type in ("string", "raw_string"):
            start_b, end_b = start_b + 1, end_b - 1
        start, end = script.c(start_b), script.c(end_b)
        text = script.text[start:end]
        if not mentions(text):
            return None
        language = "shell" if tool in _SHELLS else _interpreter(tool)
        return nest(
            script.payload,
            [(text, start, end, "raw")],
            language=language,
            no_fix=f"the call is in a string run by `{tool} -{flag}`; add the token there by hand",
        )
    return None


def _heredocs(script: _Script) -> Iterator[Payload]:
    """Heredoc bodies that run as scripts, as nested payloads."""
    from imds_iac_checks.hazards import nest

    for heredoc in script.heredocs:
        statement = heredoc.parent
        body = start = None
        dash = False
        for child in heredoc.children:
            if child.type == "heredoc_body":
                body = child
            elif child.type == "heredoc_start":
                start = child
            elif child.type == "<<-":
                dash = True
        if body is None or start is None or statement is None:
            continue
        command = statement.child_by_field_name("body")
        language = ""
        if command is not None and command.type == "command":
            tool = script.tool_of(command)
            name = tool[0] if tool else ""
            if name in _SHELLS:
                language = "shell"
            elif _interpreter(name):
                language = _interpreter(name)
        if not language:
            for redirect in statement.children_by_field_name("redirect"):
                destination = redirect.child_by_field_name("destination")
                if destination is not None:
                    target = script.raw(destination)
                    language = {".py": "python", ".js": "javascript", ".ps1": "powershell"}.get(
                        target[target.rfind(".") :] if "." in target else "", ""
                    )
        lo, hi = script.c(body.start_byte), script.c(body.end_byte)
        text = script.text[lo:hi]
        if not language and not mentions(text):
            continue
        if language in ("shell", "") and not mentions(text):
            continue
        quoted = any(q in script.raw(start) for q in "'\"\\")
        runs: list[tuple[str, int, int, str]] = []
        layer = "raw" if quoted else ""
        # The outer shell expands an unquoted heredoc: its command substitutions are the outer
        # script's calls (found there), a placeholder here.
        skips = [] if quoted else [c for c in body.children if c.type == "command_substitution"]
        at = lo
        for skip in skips:
            s, e = script.c(skip.start_byte), script.c(skip.end_byte)
            runs.extend(_lines(script.text, at, s, dash, layer))
            runs.append(("__", s, e, ""))
            at = e
        runs.extend(_lines(script.text, at, hi, dash, layer))
        no_fix = (
            ""
            if quoted
            else "the heredoc is unquoted (<<EOF): the outer shell would expand the token "
            "variable; quote its delimiter (<<'EOF') or add the token by hand"
        )
        yield nest(script.payload, runs, language=language, no_fix=no_fix or None)


def _lines(
    text: str, start: int, end: int, dash: bool, layer: str
) -> list[tuple[str, int, int, str]]:
    """Identity runs of ``text[start:end]``; with `<<-`, each line without its leading tabs."""
    if start >= end:
        return []
    if not dash or text.count("\n", start, end) > MAX_BODY_LINES:
        return [(text[start:end], start, end, layer)]
    runs = []
    at = start
    while at < end:
        line_end = text.find("\n", at, end)
        line_end = end if line_end < 0 else line_end + 1
        s = at
        if at == start and start > 0 and text[start - 1] != "\n":
            pass  # mid-line: not a line start
        else:
            while s < line_end and text[s] == "\t":
                s += 1
        if s < line_end:
            runs.append((text[s:line_end], s, line_end, layer))
        at = line_end
    return runs


def _fixed(
    script: _Script,
    calls: list[_Call],
    tokens: list[tuple[str, Node]],
    hosts: set[str],
    *,
    wget: bool = False,
) -> Iterator[Found]:
    """The Found for each call, with the edits of the one fix of the script. The token is
    fetched from the IPv6 endpoint only when every request of the script goes there (it is off
    by default: a script that falls back to it must not depend on it), with wget when the
    script runs wget and no curl."""
    fixable = [call for call in calls if not call.no_fix]
    no_token = ""
    top = _top_statements(script)
    starts = [n.start_byte for n in top]
    edits_shared: tuple[tuple[int, int, str], ...] = ()
    variable = ""
    if fixable:
        anchor = min(_top_index(starts, call.node) for call in fixable)
        for name, command in tokens:
            if _enclosing(command, "function_definition") is None:
                index = _top_index(starts, command)
                if index < anchor:
                    variable = name
                    break
        if not variable:
            variable = _free_name(script.text)
            ipv6 = bool(hosts) and all(h.startswith("[") for h in hosts)
            host = "[fd00:ec2::254]" if ipv6 else "169.254.169.254"
            placed = _token_edit(script, top, anchor, variable, host, wget)
            if isinstance(placed, str):
                no_token = placed
            else:
                edits_shared = (placed,)
    for call in calls:
        start, end = script.c(call.node.start_byte), script.c(call.node.end_byte)
        what = f"{call.tool} {call.method} {call.url} without a session token"
        details = (("tool", call.tool), ("url", call.url))
        if call.no_fix or no_token:
            why = call.no_fix or no_token
            yield Found(KIND, start, end, what, no_fix=why, details=details)
            continue
        if call.tool == "wget":
            header = f' --header="{HEADER}: ${{{variable}}}"'
        else:
            header = f' -H "{HEADER}: ${{{variable}}}"'
        edits = (*edits_shared, (call.after_name, call.after_name, header))
        if not edits_shared:
            change = f"{CHANGE}, the token the script already fetches into {variable}"
        elif wget:
            change = (
                f"{CHANGE}, fetched once into {variable} before the first call with "
                "wget --method=PUT (needs GNU wget: busybox wget has no --method)"
            )
        else:
            change = f"{CHANGE}, fetched once into {variable} before the first call"
        yield Found(KIND, start, end, what, edits, change, details=details)


def _top_statements(script: _Script) -> list[Node]:
    return list(script.tree.root_node.named_children)


def _top_index(starts: list[int], node: Node) -> int:
    """The index of the top-level statement that contains ``node`` (``starts``: the start
    bytes of the top-level statements)."""
    index = bisect_right(starts, node.start_byte) - 1
    return max(index, 0)


def _free_name(text: str) -> str:
    for name in ("TOKEN", "IMDS_TOKEN"):
        if not re.search(rf"(?<![\w]){name}(?![\w])", text):
            return name
    n = 2
    while re.search(rf"(?<![\w])IMDS_TOKEN_{n}(?![\w])", text):
        n += 1
    return f"IMDS_TOKEN_{n}"


def _token_edit(
    script: _Script, top: list[Node], anchor: int, variable: str, host: str, wget: bool = False
) -> tuple[int, int, str] | str:
    """The insertion of the token fetch line before top-level statement ``anchor``: at the
    start of its line (after the indentation), unless another statement ends on that line
    after the line starts (then right before the statement).

    Never inside a region of a Terraform template bracketed by directives (``%{ for }`` ...
    ``%{ endfor }``): the line goes before the first directive of the payload (before an
    earlier statement), or there is no fix (why, a str) when no statement starts before it."""
    barrier = _first_directive(script.payload, script.holes)
    for index in range(anchor, -1, -1):
        position, indent = _line_start(script, top, index)
        if barrier is not None and position >= barrier:
            continue
        if wget:
            url = f"http://{host}/latest/api/token"
            line_text = WGET_TOKEN_LINE.format(
                name=variable, url=f'"{url}"' if host.startswith("[") else url
            )
        else:
            line_text = TOKEN_LINE.format(name=variable, host=host)
        return (position, position, f"{line_text}\n{indent}")
    return (
        "the token line would go inside a template's %{ for } / %{ if } region and no "
        "statement comes before it; add the token by hand"
    )


def _line_start(script: _Script, top: list[Node], index: int) -> tuple[int, str]:
    """Where a line inserted before top-level statement ``index`` goes, and its indentation."""
    statement = top[index]
    text = script.text
    at = script.c(statement.start_byte)
    line = text.rfind("\n", 0, at) + 1
    indent_end = line
    while indent_end < at and text[indent_end] in " \t":
        indent_end += 1
    previous_end = script.c(top[index - 1].end_byte) if index > 0 else 0
    at_line_start = previous_end <= line and not text[indent_end:at].strip()
    if at_line_start:
        return indent_end, text[line:indent_end]
    return at, ""


_DIRECTIVE = re.compile(r"%\{~?\s*(?:for|if|else|endfor|endif)\b")


def _first_directive(payload: Payload, holes: list[tuple[int, int]]) -> int | None:
    """The offset of the first template directive of a payload, or None. A directive kept as
    written is a hole (``%{ for k in x }``); one the adapter rendered as nothing is a silent
    gap: two pieces of a Terraform template adjacent in the text with file text between them
    that is not a ``<<-`` heredoc's indentation."""
    for lo, hi in holes:
        if _DIRECTIVE.match(payload.text, lo, hi):
            return lo
    pieces = payload.pieces
    for left, right in pairwise(pieces):
        if left.end != right.start or "hcl-template" not in right.escape:
            continue
        if left.span.path != right.span.path:
            continue
        skipped = right.span.start_byte - left.span.end_byte
        indent = 0
        if left.end > 0 and payload.text[left.end - 1] == "\n":
            for layer in right.escape.split("+"):
                if layer.startswith("indent:"):
                    indent = len(layer[len("indent:") :])
        if skipped > indent:
            return right.start
    return None


def apply(text: str, founds: Iterable[Found]) -> str:
    """``text`` with the edits of ``founds`` applied (each distinct edit once)."""
    edits = sorted({edit for found in founds for edit in found.edits}, key=lambda e: (e[0], e[1]))
    out: list[str] = []
    at = 0
    for start, end, new in edits:
        out.append(text[at:start])
        out.append(new)
        at = end
    out.append(text[at:])
    return "".join(out)
