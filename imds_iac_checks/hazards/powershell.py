"""IMDSv1 calls in PowerShell scripts, and their fix: the token flow.

Calls: ``Invoke-RestMethod``/``Invoke-WebRequest`` and their aliases ``irm``/``iwr`` (and
``curl``/``wget``, which Windows PowerShell 5 aliases to ``Invoke-WebRequest``), with the URL
as ``-Uri`` or the first positional argument; ``.DownloadString``/``DownloadData``/
``DownloadFile``/``OpenRead`` of a ``System.Net.WebClient``. URLs are followed through the
script's variables (``$imds = "http://169.254.169.254/latest"``; ``"$imds/meta-data/..."``).
A call passes when it sends the ``X-aws-ec2-metadata-token`` header (``-Headers @{...}``, or
``-Headers $h`` where ``$h`` holds it), or when it is the ``-Method PUT`` to
``/latest/api/token``. ``Get-EC2InstanceMetadata`` (AWS Tools for PowerShell) fetches a token
itself since 4.0.1.0; it is an SDK version question, not a call hazard here.

EC2 user data wraps PowerShell in ``<powershell>...</powershell>`` (with ``<persist>`` and
``<script>`` siblings): when the tags are present only what is inside them is read.

The fix adds one ``$token = Invoke-RestMethod -Method PUT ...`` line before the first call
(or reuses a token the script already fetches) and ``-Headers @{"X-aws-ec2-metadata-token" =
$token}`` on each call (or the entry, into a ``-Headers`` hashtable written in the call).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks.hazards import unknown_spans
from imds_iac_checks.hazards.shell import MAX_DEPTH, imds_url
from imds_iac_checks.model import METADATA_CALL as KIND
from imds_iac_checks.model import Found, Payload

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Query

HEADER = "X-aws-ec2-metadata-token"
TOKEN_LINE = (
    '${name} = Invoke-RestMethod -Method PUT -Uri "http://{host}/latest/api/token" '
    '-Headers @{{"X-aws-ec2-metadata-token-ttl-seconds" = "21600"}}'
)
CHANGE = "adds the IMDSv2 session token to this call"

_UNKNOWN, _END = "\x00", "\x01"
_TOKEN = re.compile(r"(?i)x-aws-ec2-metadata-token(?!-)")
_TAGS = re.compile(r"(?is)<powershell>(.*?)(?:</powershell>|\Z)")
_CMDLETS = {
    "invoke-restmethod": "Invoke-RestMethod",
    "irm": "Invoke-RestMethod",
    "invoke-webrequest": "Invoke-WebRequest",
    "iwr": "Invoke-WebRequest",
    "curl": "Invoke-WebRequest",
    "wget": "Invoke-WebRequest",
}
# The real curl and wget (``curl.exe`` ships with Windows since 1803): read like shell's.
_NATIVE = {"curl.exe": "curl", "wget.exe": "wget"}
_SWITCHES = {
    "usebasicparsing",
    "usedefaultcredentials",
    "disablekeepalive",
    "passthru",
    "skipcertificatecheck",
    "noproxy",
    "verbose",
    "debug",
    "allowunencryptedauthentication",
    "skipheadervalidation",
    "skiphttperrorcheck",
    "resume",
    "preserveauthorizationonredirect",
    "allowinsecureredirect",
    "proxyusedefaultcredentials",
    "followrellink",
}
_DOWNLOADS = {"downloadstring", "downloaddata", "downloadfile", "openread", "downloadstringasync"}

_parser: Parser | None = None
_query: Query | None = None
_QUERY = """
(command command_name: (command_name) @name) @command
(assignment_expression) @assign
(invokation_expression) @invoke
"""


def _get() -> tuple[Parser, Query]:
    global _parser, _query
    if _parser is None or _query is None:
        import tree_sitter
        import tree_sitter_powershell

        language = tree_sitter.Language(tree_sitter_powershell.language())
        _parser = tree_sitter.Parser(language)
        _query = tree_sitter.Query(language, _QUERY)
    return _parser, _query


def check_syntax(text: str) -> str | None:
    """Why ``text`` does not parse as PowerShell (tree-sitter finds an error), or None."""
    parser, _ = _get()
    keep = [(m.start(1), m.end(1)) for m in _TAGS.finditer(text)]
    if keep:
        text = "\n".join(text[lo:hi] for lo, hi in keep)
    tree = parser.parse(text.encode("utf-8", "surrogatepass"))
    if not tree.root_node.has_error:
        return None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return f"syntax error at line {node.start_point[0] + 1}"
        stack.extend(c for c in node.children if c.has_error)
    return "syntax error"


class _Call(NamedTuple):
    node: Node
    tool: str
    url: str
    host: str
    method: str
    edits: tuple[tuple[int, int, str], ...]  # per-call edits (the header), before the token
    no_fix: str


def _variable_name(text: str) -> str:
    """``$imds``, ``${imds}``, ``$script:imds`` -> ``imds`` (lower case: names are not
    case-sensitive); "" for environment and automatic variables."""
    name = text.lstrip("$").strip("{}").lower()
    scope, colon, rest = name.partition(":")
    if colon:
        if scope in ("env", "function", "variable"):
            return ""
        name = rest
    return name


def _start(node: Node) -> int:
    return node.start_byte


def _descend(node: Node) -> Node:
    """Through the grammar's chains of one-child expressions."""
    while node.named_child_count == 1 and node.type not in (
        "string_literal",
        "variable",
        "hash_literal_expression",
        "command",
    ):
        node = node.named_children[0]
    return node


class _Script:
    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        text = payload.text
        self.text = text
        # Read only the inside of <powershell> tags when there are any.
        keep = [(m.start(1), m.end(1)) for m in _TAGS.finditer(text)] or [(0, len(text))]
        chars = list(text)
        at = 0
        for lo, hi in [*keep, (len(text), len(text))]:
            for i in range(at, lo):
                if chars[i] not in "\r\n":
                    chars[i] = " "
            at = hi
        # Unknown text (an expression left unevaluated) reads as `_`; known text outside
        # pieces (a decoded base64 literal, an interpolation's value) as written.
        self.holes: list[tuple[int, int]] = unknown_spans(payload)
        for lo, hi in self.holes:
            for i in range(lo, hi):
                if chars[i] not in "\r\n":
                    chars[i] = "_"
        self.source = "".join(chars).encode("utf-8", "surrogatepass")
        self.ascii = len(self.source) == len(text)
        self._b2c: list[int] | None = None
        parser, query = _get()
        self.tree = parser.parse(self.source)
        from tree_sitter import QueryCursor

        captures = QueryCursor(query).captures(self.tree.root_node)
        self.commands: list[Node] = sorted(captures.get("command", []), key=_start)
        self.invokes: list[Node] = sorted(captures.get("invoke", []), key=_start)
        self.assigns: dict[str, list[Node]] = {}
        self.all_assigns: list[Node] = sorted(captures.get("assign", []), key=_start)
        for node in self.all_assigns:
            left = node.named_children[0] if node.named_children else None
            if left is None:
                continue
            target = _descend(left)
            if target.type == "variable":
                self.assigns.setdefault(_variable_name(self.raw(target)), []).append(node)
        self._memo: dict[str, list[str]] = {}

    def c(self, byte: int) -> int:
        if self.ascii:
            return byte
        if self._b2c is None:
            table = [0] * (len(self.source) + 1)
            at = 0
            for i, ch in enumerate(self.text):
                for k in range(len(ch.encode("utf-8", "surrogatepass"))):
                    table[at + k] = i
                at += len(ch.encode("utf-8", "surrogatepass"))
            table[at] = len(self.text)
            self._b2c = table
        return self._b2c[byte]

    def raw(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def literal(self, start_byte: int, end_byte: int) -> str:
        start, end = self.c(start_byte), self.c(end_byte)
        out = self.text[start:end]
        for lo, hi in self.holes:
            if lo < end and hi > start:
                return _UNKNOWN + out + _END
        return out

    def value(self, node: Node, depth: int = 0) -> str:
        """What an expression evaluates to, as far as it is a string (unknown parts marked)."""
        node = _descend(node)
        if node.type == "string_literal" and node.named_children:
            node = node.named_children[0]
        if node.type in ("verbatim_string_characters", "verbatim_here_string_characters"):
            raw = self.literal(node.start_byte, node.end_byte)
            return raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        if node.type in ("expandable_string_literal", "expandable_here_string_literal"):
            quote = 2 if node.type == "expandable_here_string_literal" else 1
            start, end = node.start_byte + quote, node.end_byte - quote
            out: list[str] = []
            at = start
            for child in node.named_children:
                if child.start_byte < at or child.end_byte > end:
                    continue
                out.append(self.literal(at, child.start_byte))
                out.append(self.value(child, depth))
                at = child.end_byte
            out.append(self.literal(at, end))
            return "".join(out).replace("`", "")[:2048]
        if node.type == "variable":
            return self.variable(_variable_name(self.raw(node)), node, depth)
        if node.type == "sub_expression":
            inner = [c for c in node.named_children]
            if len(inner) == 1:
                return self.value(inner[0], depth)
        if node.type in ("generic_token", "command_name_expr"):
            return self.literal(node.start_byte, node.end_byte)
        if node.type == "statement_list" and node.named_child_count == 1:
            return self.value(node.named_children[0], depth)
        return _UNKNOWN + self.raw(node) + _END

    def variable(self, name: str, at: Node, depth: int) -> str:
        unknown = _UNKNOWN + self.raw(at) + _END
        if not name or depth >= MAX_DEPTH:
            return unknown
        if name in self._memo:
            return self._memo[name][0] if self._memo[name] else unknown
        self._memo[name] = []
        values = []
        for assign in self.assigns.get(name, ())[-4:]:
            right = assign.child_by_field_name("value")
            if right is not None:
                values.append(self.value(right, depth + 1))
        known = [v for v in values if _UNKNOWN not in v] or values
        self._memo[name] = known
        return known[0] if known else unknown

    def hashtable(self, node: Node, depth: int = 0) -> Node | None:
        """The hashtable literal an expression is (or a variable holds)."""
        node = _descend(node)
        if node.type == "hash_literal_expression":
            return node
        if node.type == "variable" and depth < MAX_DEPTH:
            for assign in self.assigns.get(_variable_name(self.raw(node)), ())[-4:]:
                right = assign.child_by_field_name("value")
                if right is not None:
                    found = self.hashtable(right, depth + 1)
                    if found is not None:
                        return found
        return None

    def mentions_token_with(self, variable: str) -> bool:
        """Whether a statement adds the token header to ``variable`` (``$h["X-aws-..."] =``,
        ``$wc.Headers.Add("X-aws-...", $token)``)."""
        for nodes in (self.invokes, self.all_assigns):
            for node in nodes:
                text = self.raw(node)
                if _TOKEN.search(text) and re.search(rf"(?i)\$\{{?{re.escape(variable)}\b", text):
                    return True
        return False


def find(payload: Payload) -> Iterator[Found]:
    """The IMDSv1 calls in a PowerShell payload, with their fix."""
    from imds_iac_checks.hazards import mentions_imds

    if not mentions_imds(payload.text):
        return
    script = _Script(payload)
    calls: list[_Call] = []
    tokens: list[tuple[str, Node]] = []
    hosts: set[str] = set()  # the hosts of every metadata request of the script
    for command in script.commands:
        name = command.child_by_field_name("command_name")
        written = _basename(script.raw(name).lower()) if name is not None else ""
        if name is None or (written not in _CMDLETS and written not in _NATIVE):
            continue
        if written in _NATIVE:
            judged = _native(script, command, _NATIVE[written])
        else:
            judged = _cmdlet(script, command, written)
        if judged is None:
            continue
        verdict, call = judged
        hosts.add(call.host)
        if verdict == "token":
            variable = _assigned_to(script, command)
            if variable:
                tokens.append((variable, command))
        elif verdict == "v1":
            calls.append(call)
    for invoke in script.invokes:
        client = _webclient(script, invoke)
        if client is not None:
            hosts.add(client.host)
            calls.append(client)
    if calls:
        yield from _fixed(script, calls, tokens, hosts)


def _elements(script: _Script, command: Node) -> list[Node]:
    elements = command.child_by_field_name("command_elements")
    if elements is None:
        return []
    return [c for c in elements.named_children if c.type != "command_argument_sep"]


def _cmdlet(script: _Script, command: Node, alias: str) -> tuple[str, _Call] | None:
    params: dict[str, Node | None] = {}
    positional: list[Node] = []
    elements = _elements(script, command)
    i = 0
    native = False
    while i < len(elements):
        element = elements[i]
        i += 1
        if element.type == "command_parameter":
            name = script.raw(element).lstrip("-").rstrip(":").lower()
            if (alias in ("curl", "wget") and len(name) == 1) or name in ("fssl", "qo"):
                native = True  # curl.exe / wget.exe options: not the alias
            key = _param(name)
            if key in _SWITCHES or i >= len(elements):
                params[key] = None
            else:
                params[key] = elements[i]
                i += 1
        else:
            positional.append(element)
    if native:
        # curl.exe / wget.exe: the URL is whichever word is one
        positional = [e for e in elements if e.type != "command_parameter"]
        positional = [e for e in positional if imds_url(script.value(e))] or positional
    uri_node = params.get("uri") or (positional[0] if positional else None)
    if uri_node is None:
        return None
    url = script.value(uri_node)
    host = imds_url(url)
    if host is None:
        return None
    method_node = params.get("method")
    method = script.value(method_node).upper() if method_node is not None else "GET"
    tool = _CMDLETS[alias]
    shown = url.replace(_UNKNOWN, "").replace(_END, "")
    if "api/token" in url and (method == "PUT" or _UNKNOWN in method):
        return "token", _Call(command, tool, shown, host[0], method, (), "")
    if native:
        if _TOKEN.search(script.raw(command)):
            return "v2", _Call(command, tool, shown, host[0], method, (), "")
        why = (
            f"`{alias}` here runs {alias}.exe (its options are not PowerShell's); "
            "add the token by hand"
        )
        return "v1", _Call(command, alias, shown, host[0], method, (), why)
    headers = params.get("headers")
    edits: tuple[tuple[int, int, str], ...] = ()
    no_fix = ""
    if headers is not None:
        table = script.hashtable(headers)
        if table is not None and _TOKEN.search(script.raw(table)):
            return "v2", _Call(command, tool, shown, host[0], method, (), "")
        target = _descend(headers)
        if target.type == "variable":
            variable = _variable_name(script.raw(target))
            if variable and script.mentions_token_with(variable):
                return "v2", _Call(command, tool, shown, host[0], method, (), "")
            no_fix = (
                f"the call's headers come from {script.raw(target)}: add the "
                f'"{HEADER}" entry to it by hand'
            )
        elif target.type == "hash_literal_expression":
            edits = (_entry_edit(script, target),)
        else:
            no_fix = "the call's -Headers is not a hashtable written here; add the token by hand"
    else:
        written = command.child_by_field_name("command_name")
        assert written is not None
        at = script.c(written.end_byte)
        edits = ((at, at, ' -Headers @{"X-aws-ec2-metadata-token" = $__TOKEN__}'),)
    return "v1", _Call(command, tool, shown, host[0], method, edits, no_fix)


def _basename(word: str) -> str:
    return re.split(r"[\\/]", word.strip().strip("'\""))[-1]


def _native(script: _Script, command: Node, tool: str) -> tuple[str, _Call] | None:
    """``curl.exe`` / ``wget.exe``: judged as shell judges curl and wget (their own options);
    the fix adds the header the way a shell fix does, with the PowerShell token variable."""
    from imds_iac_checks.hazards.shell import read_options

    words: list[tuple[str, bool]] = []
    for element in _elements(script, command):
        word = script.raw(element) if element.type == "command_parameter" else script.value(element)
        words.append((word, _UNKNOWN not in word))
    if any(e.type == "ERROR" for e in _elements(script, command)):
        # what the grammar cannot read (`-O -`): the words as written
        name = command.child_by_field_name("command_name")
        assert name is not None
        rest = script.source[name.end_byte : command.end_byte].decode("utf-8", "replace")
        words = [(w.strip("'\""), True) for w in rest.split()]
    operands, options = read_options(tool, words)
    url = host = ""
    for word in operands + options.get("--url", []):
        found = imds_url(word)
        if found is not None:
            url, host = word, found[0]
            break
    if not url:
        return None
    if tool == "curl":
        methods = options.get("-X", []) + options.get("--request", [])
    else:
        methods = options.get("--method", [])
    method = (methods[-1] if methods else "GET").upper()
    shown = url.replace(_UNKNOWN, "").replace(_END, "")
    if "api/token" in url and (method == "PUT" or _UNKNOWN in method):
        return "token", _Call(command, tool, shown, host, method, (), "")
    if any(_TOKEN.search(w) for w, _ in words) or _TOKEN.search(script.raw(command)):
        return "v2", _Call(command, tool, shown, host, method, (), "")
    name = command.child_by_field_name("command_name")
    assert name is not None
    at = script.c(name.end_byte)
    flag = "-H" if tool == "curl" else "--header"
    edit = (at, at, f' {flag} "{HEADER}: $__TOKEN__"')
    return "v1", _Call(command, f"{tool}.exe", shown, host, method, (edit,), "")


def _param(name: str) -> str:
    """A parameter as written (maybe abbreviated) -> its full lower-case name."""
    for full in ("uri", "method", "headers"):
        if name == full or (len(name) >= 2 and full.startswith(name)):
            return full
    return name


def _entry_edit(script: _Script, table: Node) -> tuple[int, int, str]:
    body = next((c for c in table.named_children if c.type == "hash_literal_body"), None)
    entry = '"X-aws-ec2-metadata-token" = $__TOKEN__'
    if body is None:
        at = script.c(table.start_byte) + 2  # after "@{"
        return (at, at, entry)
    at = script.c(body.end_byte)
    return (at, at, "; " + entry)


def _webclient(script: _Script, invoke: Node) -> _Call | None:
    member = None
    arguments = None
    for child in invoke.children:
        if child.type == "member_name":
            member = child
        elif child.type == "argument_list":
            arguments = child
    if member is None or arguments is None or script.raw(member).lower() not in _DOWNLOADS:
        return None
    listed = arguments.child_by_field_name("argument_expression_list")
    if listed is None or not listed.named_children:
        return None
    url = script.value(listed.named_children[0])
    host = imds_url(url)
    if host is None:
        return None
    target = _descend(invoke.named_children[0])
    shown = url.replace(_UNKNOWN, "").replace(_END, "")
    if target.type == "variable":
        variable = _variable_name(script.raw(target))
        if variable and script.mentions_token_with(variable):
            return None
    why = (
        'a WebClient call: add the token with $client.Headers.Add("X-aws-ec2-metadata-token", '
        "$token) or use Invoke-RestMethod -Headers, by hand"
    )
    return _Call(invoke, "WebClient", shown, host[0], "GET", (), why)


def _assigned_to(script: _Script, command: Node) -> str:
    node = command.parent
    for _ in range(8):
        if node is None:
            return ""
        if node.type == "assignment_expression":
            left = _descend(node.named_children[0])
            return script.raw(left) if left.type == "variable" else ""
        node = node.parent
    return ""


def _top(node: Node) -> Node:
    """The top-level statement that contains ``node``."""
    while node.parent is not None and node.parent.parent is not None:
        if node.parent.type == "statement_list" and node.parent.parent.type == "program":
            return node
        node = node.parent
    return node


def _fixed(
    script: _Script, calls: list[_Call], tokens: list[tuple[str, Node]], hosts: set[str]
) -> Iterator[Found]:
    """The Found for each call, with the edits of the one fix of the script. The token comes
    from the IPv6 endpoint only when every request of the script goes there (it is off by
    default)."""
    fixable = [c for c in calls if not c.no_fix]
    shared: tuple[tuple[int, int, str], ...] = ()
    variable = ""
    if fixable:
        first = min((_top(c.node) for c in fixable), key=lambda n: n.start_byte)
        for name, command in tokens:
            top = _top(command)
            if top.start_byte < first.start_byte and _enclosing_function(command) is None:
                variable = name
                break
        if not variable:
            variable = "$" + _free_name(script.text)
            ipv6 = bool(hosts) and all(h.startswith("[") for h in hosts)
            host = "[fd00:ec2::254]" if ipv6 else "169.254.169.254"
            at = script.c(first.start_byte)
            line = script.text.rfind("\n", 0, at) + 1
            indent = script.text[line:at]
            if indent.strip():
                indent = ""
            token_line = TOKEN_LINE.format(name=variable[1:], host=host)
            shared = ((at, at, f"{token_line}\n{indent}"),)
    for call in calls:
        start, end = script.c(call.node.start_byte), script.c(call.node.end_byte)
        what = f"{call.tool} {call.method} {call.url} without a session token"
        details = (("tool", call.tool), ("url", call.url))
        if call.no_fix:
            yield Found(KIND, start, end, what, no_fix=call.no_fix, details=details)
            continue
        edits = shared + tuple((s, e, t.replace("$__TOKEN__", variable)) for s, e, t in call.edits)
        if shared:
            change = f"{CHANGE}, fetched once into {variable} before the first call"
        else:
            change = f"{CHANGE}, the token the script already fetches into {variable}"
        yield Found(KIND, start, end, what, edits, change, details=details)


def _enclosing_function(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None:
        if parent.type in ("function_statement", "script_block_expression"):
            return parent
        parent = parent.parent
    return None


def _free_name(text: str) -> str:
    for name in ("token", "imdsToken"):
        if not re.search(rf"(?i)\${{?{name}(?![\w])", text):
            return name
    n = 2
    while re.search(rf"(?i)\$imdsToken{n}(?![\w])", text):
        n += 1
    return f"imdsToken{n}"


def apply(text: str, founds: Iterable[Found]) -> str:
    from imds_iac_checks.hazards.shell import apply as apply_edits

    return apply_edits(text, founds)
