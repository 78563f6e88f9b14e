"""IMDSv1 calls in program source: Python, JavaScript (Node), Go and Java.

A call is an HTTP client call (``requests.get``, ``urllib.request.urlopen``, ``fetch``,
``http.Get``, ``new URL(...).openConnection()``, ...) whose URL names the metadata service where
it is written: a literal, a local variable or constant assigned a literal in the same file, a
concatenation, f-string, template or format string whose literal prefix names the host. It is
an IMDSv1 call unless it sends the ``X-aws-ec2-metadata-token`` header: in the call itself (a
headers dict, an options object, a builder's ``.header(...)``), in a variable or helper function
the call is handed, or set on the request object in the same function (``req.add_header``,
``req.Header.Set``, ``conn.setRequestProperty``). The ``PUT`` to ``/latest/api/token`` is the
token fetch itself and passes. The ECS task metadata endpoint (169.254.170.2) is not IMDS.

The source is parsed with tree-sitter (the grammar imported when a payload of its language is
read); nothing is fixed in these languages (``no_fix`` says what to do by hand).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from imds_iac_checks.formats.pieces import ByteChars
from imds_iac_checks.hazards import mentions_imds
from imds_iac_checks.model import METADATA_CALL as KIND
from imds_iac_checks.model import Found, Payload

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Query

NO_FIX = (
    "rewrite it to fetch a session token first (PUT /latest/api/token) and send it in the "
    "X-aws-ec2-metadata-token header, or use the AWS SDK, which does this"
)
TOKEN_HEADER = "x-aws-ec2-metadata-token"
HOSTS = ("169.254.169.254", "[fd00:ec2::254]", "instance-data.ec2.internal", "instance-data")

# How far a URL is followed through variables, concatenations and constructors.
MAX_RESOLVE = 12
# Statements examined per request variable and call (hostile input). Every call of a file is
# judged (no cap: the work per call is bounded, the indexes are built once per file).
MAX_MENTIONS = 200

# Per language: the grammar module, the node types of calls, strings, scopes and statements,
# the HTTP client calls (by the called name), and the request-object constructors a URL is
# followed through (``urllib.request.Request(url)``, ``new URL(url)``, ``URI.create(url)``).
_LANGUAGES: dict[str, dict[str, Any]] = {
    "python": {
        "module": "tree_sitter_python",
        "calls": "(call) @c",
        "strings": "(string) @s",
        "assignments": "(assignment left: (identifier) @name right: (_) @value)",
        "functions": "(function_definition name: (identifier) @name body: (_) @value)",
        "scopes": ("function_definition", "lambda"),
        "tools": {
            "get",
            "post",
            "put",
            "head",
            "delete",
            "patch",
            "options",
            "request",
            "urlopen",
            "open",
            "stream",
        },
        "ctors": {"Request", "HTTPConnection", "HTTPSConnection"},
    },
    "javascript": {
        "module": "tree_sitter_javascript",
        "calls": "[(call_expression) (new_expression)] @c",
        "strings": "[(string) (template_string)] @s",
        "assignments": """
            (variable_declarator name: (identifier) @name value: (_) @value)
            (assignment_expression left: (identifier) @name right: (_) @value)
        """,
        "functions": """
            (function_declaration name: (identifier) @name body: (_) @value)
            (variable_declarator name: (identifier) @name
                value: [(arrow_function) (function_expression)] @value)
        """,
        "scopes": (
            "function_declaration",
            "function_expression",
            "arrow_function",
            "method_definition",
            "generator_function_declaration",
        ),
        "tools": {
            "get",
            "post",
            "put",
            "head",
            "delete",
            "patch",
            "request",
            "fetch",
            "axios",
            "got",
        },
        "ctors": {"URL", "Request"},
    },
    "go": {
        "module": "tree_sitter_go",
        "calls": "(call_expression) @c",
        "strings": "[(interpreted_string_literal) (raw_string_literal)] @s",
        "assignments": """
            (short_var_declaration left: (expression_list . (identifier) @name)
                right: (expression_list . (_) @value))
            (assignment_statement left: (expression_list . (identifier) @name)
                right: (expression_list . (_) @value))
            (var_spec name: (identifier) @name value: (expression_list . (_) @value))
            (const_spec name: (identifier) @name value: (expression_list . (_) @value))
        """,
        "functions": "(function_declaration name: (identifier) @name body: (_) @value)",
        "scopes": ("function_declaration", "method_declaration", "func_literal"),
        "tools": {"Get", "Post", "Head", "PostForm", "NewRequest", "NewRequestWithContext"},
        "ctors": set(),
    },
    "java": {
        "module": "tree_sitter_java",
        "calls": "[(method_invocation) (object_creation_expression)] @c",
        "strings": "(string_literal) @s",
        "assignments": """
            (variable_declarator name: (identifier) @name value: (_) @value)
            (assignment_expression left: (identifier) @name right: (_) @value)
        """,
        "functions": "(method_declaration name: (identifier) @name body: (_) @value)",
        "scopes": ("method_declaration", "constructor_declaration", "lambda_expression"),
        "tools": {
            "openConnection",
            "openStream",
            "uri",
            "newBuilder",
            "HttpGet",
            "HttpPost",
            "HttpPut",
            "HttpHead",
            "HttpDelete",
        },
        "ctors": {"URL", "create", "URI"},
    },
}
_LANGUAGES["typescript"] = _LANGUAGES["javascript"]

_BLOCKS = {
    "block",
    "module",
    "statement_block",
    "program",
    "statement_list",
    "source_file",
    "class_body",
    "switch_block",
    "constructor_body",
}
_WRAPPERS = {
    "parenthesized_expression",
    "cast_expression",
    "await_expression",
    "expression_list",
    "as_expression",
    "non_null_expression",
    "type_assertion",
    "satisfies_expression",
}
_FORMATS = {"format", "Sprintf", "formatted"}

_cache: dict[str, tuple[Parser, dict[str, Query]]] = {}


def _grammar(language: str) -> tuple[Parser, dict[str, Query]]:
    """The parser and compiled queries of a language, made once."""
    if language not in _cache:
        from importlib import import_module

        import tree_sitter

        spec = _LANGUAGES[language]
        grammar = tree_sitter.Language(import_module(spec["module"]).language())
        queries = {
            name: tree_sitter.Query(grammar, spec[name])
            for name in ("calls", "strings", "assignments", "functions")
        }
        queries["identifiers"] = tree_sitter.Query(grammar, "(identifier) @i")
        _cache[language] = (tree_sitter.Parser(grammar), queries)
    return _cache[language]


def find(payload: Payload) -> Iterator[Found]:
    """The IMDSv1 calls in a source file of one of the languages this module reads."""
    language = payload.language
    if language not in _LANGUAGES or not mentions_imds(payload.text):
        return iter(())
    return iter(_File(payload.text, language).found())


def _matches(query: Query, node: Node) -> Iterator[dict[str, list[Node]]]:
    from tree_sitter import QueryCursor

    for _, captures in QueryCursor(query).matches(node):
        yield captures


class _File:
    """One parsed source file and its indexes (built when first needed)."""

    def __init__(self, text: str, language: str) -> None:
        parser, self.queries = _grammar(language)
        self.text = text
        self.data = text.encode("utf-8", "surrogatepass")
        self.tree = parser.parse(self.data)
        self.spec = _LANGUAGES[language]
        self.language = language
        self._assignments: dict[str, list[tuple[Node, Node]]] | None = None
        self._functions: dict[str, list[Node]] | None = None
        # name -> (start bytes, nodes) of every identifier of that name, in file order
        self._identifiers: dict[str, tuple[list[int], list[Node]]] | None = None
        # (name, scope) -> (start bytes, values) of its assignments in that scope (the scope's
        # byte range, (-1, -1) outside functions), in file order
        self._scoped: dict[tuple[str, tuple[int, int]], tuple[list[int], list[Node]]] | None = None
        self._handed: dict[str, bool] = {}
        self._header_mentions: dict[str, tuple[list[int], list[Node]]] = {}
        self._chars: ByteChars | None = None
        self.headers: list[int] = []
        self.header_names: set[str] = set()
        self.tool_calls: list[tuple[int, int]] = []

    # --- indexes -----------------------------------------------------------------------

    def assignments(self) -> dict[str, list[tuple[Node, Node]]]:
        if self._assignments is None:
            index: dict[str, list[tuple[Node, Node]]] = {}
            for captures in _matches(self.queries["assignments"], self.tree.root_node):
                if captures.get("name") and captures.get("value"):
                    name = self.node_text(captures["name"][0])
                    index.setdefault(name, []).append((captures["name"][0], captures["value"][0]))
            self._assignments = index
        return self._assignments

    def functions(self) -> dict[str, list[Node]]:
        if self._functions is None:
            index: dict[str, list[Node]] = {}
            for captures in _matches(self.queries["functions"], self.tree.root_node):
                if captures.get("name") and captures.get("value"):
                    name = self.node_text(captures["name"][0])
                    index.setdefault(name, []).append(captures["value"][0])
            self._functions = index
        return self._functions

    def node_text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def offset(self, byte: int) -> int:
        """The payload (character) offset of a byte offset of the parsed text."""
        if len(self.data) == len(self.text):
            return byte
        if self._chars is None:
            self._chars = ByteChars(self.data)
        return self._chars.char(byte)

    # --- the scan ------------------------------------------------------------------------

    def found(self) -> Iterator[Found]:
        self._index_headers()
        calls: list[tuple[Node, str, Node | None]] = []
        for captures in _matches(self.queries["calls"], self.tree.root_node):
            for call in captures.get("c", ()):
                name, receiver = self.callee(call)
                if name in self.spec["tools"]:
                    calls.append((call, name, receiver))
        self.tool_calls = sorted((c.start_byte, c.end_byte) for c, _, _ in calls)
        for call, name, receiver in calls:
            found = self.judge(call, name, receiver)
            if found is not None:
                yield found

    def _index_headers(self) -> None:
        """Where the token header's name is written: string literals, and constants holding it."""
        for captures in _matches(self.queries["strings"], self.tree.root_node):
            for node in captures.get("s", ()):
                parts = self.string_parts(node)
                if (
                    None not in parts
                    and "".join(p for p in parts if p).strip().lower() == TOKEN_HEADER
                ):
                    self.headers.append(node.start_byte)
                    name = self._assigned_name(node)
                    if name:
                        self.header_names.add(name)
        if self.header_names:
            for name in self.header_names:
                for node in self.mentions(self.tree.root_node, name):
                    self.headers.append(node.start_byte)
        self.headers.sort()

    def _assigned_name(self, node: Node) -> str:
        parent = node.parent
        for _ in range(3):
            if parent is None:
                return ""
            if parent.type in _WRAPPERS:
                parent = parent.parent
                continue
            break
        if parent is None:
            return ""
        name = parent.child_by_field_name("name") or parent.child_by_field_name("left")
        if name is not None and name.type == "identifier":
            return self.node_text(name)
        return ""

    def has_header(self, node: Node) -> bool:
        i = bisect_left(self.headers, node.start_byte)
        return i < len(self.headers) and self.headers[i] < node.end_byte

    # --- one call ------------------------------------------------------------------------

    def judge(self, call: Node, name: str, receiver: Node | None) -> Found | None:
        trail: list[Node] = []
        subjects: set[str] = set()
        url = self.url_of(call, receiver, trail, subjects)
        if url is None:
            return None
        shown = "".join("…" if part is None else part for part in url)
        if "/latest/api/token" in shown:
            return None
        chain = self.chain(call)
        if self.has_header(chain) or any(self.has_header(node) for node in trail):
            return None
        if self.handed_header(call):
            return None
        assigned = self.assigned_to(chain)
        if assigned:
            subjects.add(assigned)
        if (
            receiver is not None
            and receiver.type == "identifier"
            and self.node_text(receiver) in self.assignments()
        ):
            subjects.add(self.node_text(receiver))
        scope = self.scope(call)
        for subject in sorted(subjects):
            if self.subject_has_header(scope, subject, call):
                return None
        tool = self.label(call, name, receiver)
        return Found(
            kind=KIND,
            start=self.offset(call.start_byte),
            end=self.offset(call.end_byte),
            what=f"{tool} {shown} without a session token",
            no_fix=NO_FIX,
            details=(("tool", tool), ("url", shown)),
        )

    def url_of(
        self, call: Node, receiver: Node | None, trail: list[Node], subjects: set[str]
    ) -> list[str | None] | None:
        """The call's URL (as parts, None for what is not literal) when it names IMDS."""
        arguments = self.arguments(call)
        for argument in arguments[:3] + self.keywords(call, ("url", "uri")):
            seen: list[Node] = []
            named: set[str] = set()
            parts = self.resolve(argument, 0, seen, named)
            if _names_imds(parts):
                trail.extend(seen)
                subjects.update(named)
                return parts
        if receiver is None:
            return None
        seen, named = [], set()
        parts = self.resolve(receiver, 0, seen, named, through_calls_only=True)
        if not _names_imds(parts):
            return None
        trail.extend(seen)
        subjects.update(named)
        prefix = _prefix(parts)
        if "://" not in prefix:
            # http.client: HTTPConnection(host).request("GET", "/latest/meta-data/")
            path: list[str | None] = []
            for argument in arguments[:3]:
                candidate = self.resolve(argument, 0, [], set())
                if _prefix(candidate).startswith("/"):
                    path = candidate
                    break
            return ["http://", *parts, *path]
        return parts

    def resolve(
        self,
        node: Node,
        depth: int,
        trail: list[Node],
        subjects: set[str],
        through_calls_only: bool = False,
    ) -> list[str | None]:
        """What an expression is, as literal parts and holes (None)."""
        if depth > MAX_RESOLVE:
            return [None]
        kind = node.type
        if kind in _WRAPPERS:
            inner = [c for c in node.named_children if c.type not in ("type_identifier", "comment")]
            cast = node.child_by_field_name("value") if kind == "cast_expression" else None
            if cast is not None:
                inner = [cast]
            if len(inner) >= 1:
                return self.resolve(
                    inner[-1] if kind == "cast_expression" else inner[0],
                    depth + 1,
                    trail,
                    subjects,
                    through_calls_only,
                )
            return [None]
        if kind == "identifier":
            value = self.value_of(node)
            if value is None:
                return [None]
            trail.append(value)
            if self.is_ctor(value):
                subjects.add(self.node_text(node))
            return self.resolve(value, depth + 1, trail, subjects, through_calls_only)
        if self.is_ctor(node):
            trail.append(node)
            arguments = self.arguments(node) + self.keywords(node, ("url", "host"))
            if not arguments:
                return [None]
            return self.resolve(arguments[0], depth + 1, trail, subjects)
        if through_calls_only:
            return [None]
        if kind in (
            "string",
            "template_string",
            "interpreted_string_literal",
            "raw_string_literal",
            "string_literal",
        ):
            return self.string_parts(node, depth, trail, subjects)
        if kind in ("binary_operator", "binary_expression"):
            operator = node.child_by_field_name("operator")
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if operator is None or left is None or right is None:
                return [None]
            op = self.node_text(operator)
            if op == "+":
                return self.resolve(left, depth + 1, trail, subjects) + self.resolve(
                    right, depth + 1, trail, subjects
                )
            if op == "%":
                return _cut(self.resolve(left, depth + 1, trail, subjects), "%")
            return [None]
        if kind in ("call", "call_expression", "method_invocation"):
            name, receiver = self.callee(node)
            if name in _FORMATS:
                if receiver is not None and receiver.type in ("string", "string_literal"):
                    return _cut(self.string_parts(receiver), "{%")
                arguments = self.arguments(node)
                if arguments:
                    return _cut(self.resolve(arguments[0], depth + 1, trail, subjects), "%{")
            return [None]
        if kind == "object":
            return self.object_url(node, depth, trail, subjects)
        return [None]

    def object_url(
        self, node: Node, depth: int, trail: list[Node], subjects: set[str]
    ) -> list[str | None]:
        """A JavaScript options object: ``{url: ...}`` or ``{host: ..., path: ...}``."""
        fields: dict[str, Node] = {}
        for pair in node.named_children:
            if pair.type != "pair":
                continue
            key_node, value = pair.child_by_field_name("key"), pair.child_by_field_name("value")
            if key_node is None or value is None:
                continue
            fields[self.node_text(key_node).strip("'\"")] = value
        for name in ("url", "uri", "href"):
            if name in fields:
                return self.resolve(fields[name], depth + 1, trail, subjects)
        host = fields.get("hostname") or fields.get("host")
        if host is None:
            return [None]
        parts: list[str | None] = ["http://", *self.resolve(host, depth + 1, trail, subjects)]
        if "path" in fields:
            parts += self.resolve(fields["path"], depth + 1, trail, subjects)
        return parts

    def string_parts(
        self,
        node: Node,
        depth: int = MAX_RESOLVE,
        trail: list[Node] | None = None,
        subjects: set[str] | None = None,
    ) -> list[str | None]:
        """A string literal's content; an interpolation of a variable the file assigns is
        followed (``f"{IMDS}meta-data/"``), any other is a hole."""
        parts: list[str | None] = []
        for child in node.named_children:
            kind = child.type
            if kind in ("string_start", "string_end"):
                continue
            if "interpolation" in kind or "substitution" in kind:
                inner = child.named_children
                if len(inner) == 1 and depth < MAX_RESOLVE:
                    parts += self.resolve(
                        inner[0],
                        depth + 1,
                        trail if trail is not None else [],
                        subjects if subjects is not None else set(),
                    )
                else:
                    parts.append(None)
            elif kind == "escape_sequence":
                parts.append(_unescape(self.node_text(child)))
            else:
                parts.append(self.node_text(child))
        return parts or [""]

    def value_of(self, identifier: Node) -> Node | None:
        """The expression last assigned to a name before its use, in the same function, else
        in the file outside functions (the last such assignment)."""
        name = self.node_text(identifier)
        if name not in self.assignments():
            return None
        scoped = self.scoped_assignments()
        # the identifier is itself the target of an assignment here
        own = scoped.get((name, self._scope_key(identifier)))
        if own is not None:
            i = bisect_left(own[0], identifier.start_byte)
            if i < len(own[0]) and own[0][i] < identifier.end_byte:
                return None
        scope = self.scope(identifier)
        if scope is not None:
            starts, values = scoped.get((name, (scope.start_byte, scope.end_byte)), ([], []))
            i = bisect_left(starts, identifier.start_byte)
            if i:
                return values[i - 1]
        starts, values = scoped.get((name, (-1, -1)), ([], []))
        return values[-1] if values else None

    def _scope_key(self, node: Node) -> tuple[int, int]:
        scope = self.scope(node)
        return (-1, -1) if scope is None else (scope.start_byte, scope.end_byte)

    def scoped_assignments(self) -> dict[tuple[str, tuple[int, int]], tuple[list[int], list[Node]]]:
        if self._scoped is None:
            index: dict[tuple[str, tuple[int, int]], tuple[list[int], list[Node]]] = {}
            for name, pairs in self.assignments().items():
                for target, value in pairs:
                    starts, values = index.setdefault((name, self._scope_key(target)), ([], []))
                    starts.append(target.start_byte)
                    values.append(value)
            for starts, values in index.values():
                order = sorted(range(len(starts)), key=starts.__getitem__)
                starts[:] = [starts[i] for i in order]
                values[:] = [values[i] for i in order]
            self._scoped = index
        return self._scoped

    def scope(self, node: Node) -> Node | None:
        parent = node.parent
        while parent is not None:
            if parent.type in self.spec["scopes"]:
                return parent
            parent = parent.parent
        return None

    def callee(self, call: Node) -> tuple[str, Node | None]:
        """The called name and the receiver it is called on (None for a plain function)."""
        kind = call.type
        if kind == "method_invocation":
            name = call.child_by_field_name("name")
            return (self.node_text(name) if name else "", call.child_by_field_name("object"))
        if kind == "object_creation_expression":
            target = call.child_by_field_name("type")
            return (self.node_text(target).rsplit(".", 1)[-1].split("<")[0] if target else "", None)
        function = call.child_by_field_name("function") or call.child_by_field_name("constructor")
        if function is None:
            return "", None
        if function.type == "identifier":
            return self.node_text(function), None
        for name_field, object_field in (
            ("attribute", "object"),
            ("property", "object"),
            ("field", "operand"),
        ):
            name = function.child_by_field_name(name_field)
            if name is not None:
                return self.node_text(name), function.child_by_field_name(object_field)
        return "", None

    def is_ctor(self, node: Node) -> bool:
        if node.type not in (
            "call",
            "call_expression",
            "new_expression",
            "object_creation_expression",
            "method_invocation",
        ):
            return False
        name, _ = self.callee(node)
        return name in self.spec["ctors"]

    def arguments(self, call: Node) -> list[Node]:
        arguments = call.child_by_field_name("arguments")
        if arguments is None:
            return []
        return [
            child
            for child in arguments.named_children
            if child.type not in ("keyword_argument", "comment", "dictionary_splat", "list_splat")
        ]

    def keywords(self, call: Node, names: Iterable[str]) -> list[Node]:
        arguments = call.child_by_field_name("arguments")
        out: list[Node] = []
        if arguments is None:
            return out
        wanted = set(names)
        for child in arguments.named_children:
            if child.type == "keyword_argument":
                name, value = child.child_by_field_name("name"), child.child_by_field_name("value")
                if name is not None and value is not None and self.node_text(name) in wanted:
                    out.append(value)
        return out

    def chain(self, call: Node) -> Node:
        """The whole method chain a call begins (``newBuilder(...).header(...).build()``)."""
        node = call
        for _ in range(50):
            parent = node.parent
            if parent is None:
                break
            if (
                parent.type in ("method_invocation",)
                and parent.child_by_field_name("object") == node
            ):
                node = parent
                continue
            if parent.type in ("attribute", "member_expression", "selector_expression"):
                grand = parent.parent
                if grand is not None and grand.type in ("call", "call_expression"):
                    node = grand
                    continue
            break
        return node

    def assigned_to(self, node: Node) -> str:
        """The variable a call's result is assigned to, if any."""
        parent = node.parent
        for _ in range(6):
            if parent is None:
                return ""
            if parent.type in _WRAPPERS:
                parent = parent.parent
                continue
            for field in ("name", "left"):
                target = parent.child_by_field_name(field)
                if target is not None:
                    if target.type == "expression_list" and target.named_children:
                        target = target.named_children[0]
                    if target.type == "identifier":
                        return self.node_text(target)
            return ""
        return ""

    def handed_header(self, call: Node) -> bool:
        """Does a variable or helper function the call is handed hold the token header?"""
        arguments = call.child_by_field_name("arguments")
        if arguments is None:
            return False
        stack = list(arguments.named_children)
        seen = 0
        while stack and seen < 200:
            node = stack.pop()
            seen += 1
            if node.type in ("identifier", "shorthand_property_identifier"):
                if self._name_has_header(self.node_text(node)):
                    return True
            else:
                stack.extend(node.named_children)
        return False

    def _name_has_header(self, name: str) -> bool:
        """Does an assignment to ``name``, or a function of that name, hold the header?"""
        known = self._handed.get(name)
        if known is None:
            known = any(
                self.has_header(value) or self.has_header(target.parent or target)
                for target, value in self.assignments().get(name, ())
            ) or any(self.has_header(body) for body in self.functions().get(name, ()))
            self._handed[name] = known
        return known

    def identifiers(self) -> dict[str, tuple[list[int], list[Node]]]:
        """Every identifier of the file by name (one query over the tree, run once)."""
        if self._identifiers is None:
            index: dict[str, tuple[list[int], list[Node]]] = {}
            for captures in _matches(self.queries["identifiers"], self.tree.root_node):
                for node in captures.get("i", ()):
                    starts, nodes = index.setdefault(self.node_text(node), ([], []))
                    starts.append(node.start_byte)
                    nodes.append(node)
            for starts, nodes in index.values():
                if any(a > b for a, b in pairwise(starts)):
                    order = sorted(range(len(starts)), key=starts.__getitem__)
                    starts[:] = [starts[i] for i in order]
                    nodes[:] = [nodes[i] for i in order]
            self._identifiers = index
        return self._identifiers

    def mentions(self, scope: Node, name: str) -> list[Node]:
        """The first :data:`MAX_MENTIONS` identifiers ``name`` inside ``scope``."""
        starts, nodes = self.identifiers().get(name, ([], []))
        lo = bisect_left(starts, scope.start_byte)
        hi = min(bisect_left(starts, scope.end_byte), lo + MAX_MENTIONS)
        return nodes[lo:hi]

    def subject_has_header(self, scope: Node | None, name: str, call: Node) -> bool:
        """Is the token header set on the request variable ``name`` in the call's function, by
        a statement that is not itself another request?"""
        scope = scope or self.tree.root_node
        starts, statements = self.header_mentions(name)
        lo = bisect_left(starts, scope.start_byte)
        hi = min(bisect_left(starts, scope.end_byte), lo + MAX_MENTIONS)
        for statement in statements[lo:hi]:
            if statement.start_byte <= call.start_byte < statement.end_byte:
                return True
            i = bisect_left(self.tool_calls, (statement.start_byte, -1))
            if i == len(self.tool_calls) or self.tool_calls[i][0] >= statement.end_byte:
                return True
        return False

    def header_mentions(self, name: str) -> tuple[list[int], list[Node]]:
        """The mentions of ``name`` (their start bytes) whose statement holds the token header,
        and those statements: worked out once per name."""
        known = self._header_mentions.get(name)
        if known is None:
            known = ([], [])
            starts, nodes = self.identifiers().get(name, ([], []))
            for start, node in zip(starts, nodes, strict=True):
                statement = self.statement(node)
                if self.has_header(statement):
                    known[0].append(start)
                    known[1].append(statement)
            self._header_mentions[name] = known
        return known

    def statement(self, node: Node) -> Node:
        current = node
        for _ in range(100):
            parent = current.parent
            if parent is None or parent.type in _BLOCKS:
                return current
            current = parent
        return current

    def label(self, call: Node, name: str, receiver: Node | None) -> str:
        """How the call is named in messages: ``requests.get``, ``URL.openConnection``."""
        if receiver is None:
            return name
        if self.is_ctor(receiver):
            return f"{self.callee(receiver)[0]}.{name}"
        text = self.node_text(receiver)
        if len(text) <= 40 and all(c.isalnum() or c in "._$" for c in text):
            return f"{text}.{name}"
        return name


def _prefix(parts: list[str | None]) -> str:
    out = []
    for part in parts:
        if part is None:
            break
        out.append(part)
    return "".join(out)


def _names_imds(parts: list[str | None]) -> bool:
    """Does a URL's literal prefix name the metadata service's host?"""
    prefix = _prefix(parts).strip()
    lower = prefix.lower()
    for scheme in ("http://", "https://"):
        if lower.startswith(scheme):
            lower = lower[len(scheme) :]
            break
    else:
        if "://" in lower:
            return False
    for host in HOSTS:
        if lower.startswith(host):
            rest = lower[len(host) :]
            if rest[:1] in ("/", ":", "?") or not rest:
                return True
    return False


def _cut(parts: list[str | None], marks: str) -> list[str | None]:
    """A format string's literal prefix, up to its first placeholder."""
    out: list[str | None] = []
    for part in parts:
        if part is None:
            out.append(None)
            return out
        cut = min((part.find(m) for m in marks if m in part), default=-1)
        if cut >= 0:
            out += [part[:cut], None]
            return out
        out.append(part)
    return out


def _unescape(text: str) -> str:
    simple = {"\\n": "\n", "\\t": "\t", "\\\\": "\\", '\\"': '"', "\\'": "'", "\\/": "/"}
    return simple.get(text, text)
