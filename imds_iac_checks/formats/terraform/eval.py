"""Terraform expression evaluation with provenance.

An :class:`Val` is a Terraform value (null, bool, number, string, list, object/map) or *unknown*,
and carries the chain of places that produced it: its first link is the literal that set it
(``default of var.tokens``, ``var.tokens in terraform.tfvars``, ``literal``), later links the
references it flowed through (``var.tokens``, ``local.options``). A conditional whose condition
cannot be decided evaluates to a *choice* of both branches, each labelled with the condition.

Supported: literals, templates, tuples and objects, ``var.*``, ``local.*``, ``each.*``,
``count.index``, ``dynamic`` iterators and ``for`` variables, attribute/index/splat access,
``cond ? a : b``, unary and binary operators, ``for`` expressions with ``if``, and the functions
real modules use around metadata options (``try``, ``can``, ``coalesce``, ``lookup``, ``merge``,
``tostring``, ``tonumber``, ``tolist``, ``toset``, ``tomap``, ``length``, ``contains``, ``keys``,
``values``, ``lower``, ``upper``). Everything else — data sources, resource attributes, module
outputs, other functions — is unknown, and reported as such by the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from imds_iac_checks.formats.terraform import syntax
from imds_iac_checks.formats.terraform.syntax import Source
from imds_iac_checks.model import Decision, Link, LinkKind, Span, compact, show

if TYPE_CHECKING:
    from tree_sitter import Node

MAX_DEPTH = 64
# Bounds on the work of one evaluation (hostile input: values shared exponentially, huge `for`
# expressions). A step is one expression node evaluated or one value node built or copied.
MAX_STEPS = 100_000  # one setting, local or variable, with what it references
MAX_CHOICES = 32  # alternative values of undecided conditionals, after removing duplicates
MAX_STRING = 1 << 20  # characters of a string built by a template


class EvalError(Exception):
    """An expression that Terraform itself would reject (``try`` and ``can`` catch it)."""


class TooComplex(Exception):
    """Evaluation stopped at a bound (``try`` and ``can`` do not catch it): the value is unknown,
    reported as IMDS004 "too complex to evaluate statically"."""


class Budget:
    """Steps left for the evaluation under way (one per process: evaluation is single-threaded).
    ``active`` is True while an outermost evaluation runs, so nested ones share its budget."""

    left = 1 << 62  # outside an evaluation (copying its results): unbounded
    limit = MAX_STEPS
    active = False


def charge(steps: int = 1) -> None:
    Budget.left -= steps
    if Budget.left < 0:
        raise TooComplex(f"more than {Budget.limit:,} evaluation steps")


# What a relabelling says of the leaves it applies to: (kind, subject, place) of a Link.
Label = tuple[str, str, str]


class Val:
    """A value with provenance. A list or object shares its elements with the value it was made
    from: what flowing through a reference (:meth:`via`) or a relabelling (:meth:`relabelled`)
    does to every element is recorded once, as *pending*, and applied to an element only when
    the elements are read (``v``). So a reference costs the same for a value of any size, and a
    value built by sharing (``l2 = [local.l1, local.l1]``, 2^n leaves) is never expanded."""

    __slots__ = ("_pending", "_v", "choices", "expr", "known", "links")

    def __init__(
        self,
        v: Any,
        links: tuple[Link, ...],
        known: bool = True,
        expr: str = "",
        choices: tuple[tuple[str, Val], ...] = (),
    ) -> None:
        self._v = v
        self._pending: tuple[Label | None, tuple[Link, ...]] | None = None
        self.links = links
        self.known = known
        self.expr = expr
        self.choices = choices

    @property
    def v(self) -> Any:
        pending = self._pending
        if pending is None:
            return self._v
        self._pending = None
        label, tail = pending
        raw = self._v
        charge(len(raw))
        if isinstance(raw, list):
            self._v = [item._then(label, tail) for item in raw]
        else:
            self._v = {k: item._then(label, tail) for k, item in raw.items()}
        return self._v

    def _then(self, label: Label | None, tail: tuple[Link, ...]) -> Val:
        """This value relabelled with ``label`` (see :meth:`relabelled`), then having flowed
        through ``tail``."""
        if self.choices:
            return Val(
                None,
                self.links,
                False,
                self.expr,
                tuple((c, v._then(label, tail)) for c, v in self.choices),
            )
        links = self.links
        if label is not None and links and links[0].kind == LinkKind.LITERAL:
            links = (Link(links[0].span, *label), *links[1:])
        out = Val(self._v, (*links, *tail), self.known, self.expr)
        if isinstance(self._v, (list, dict)):
            # Relabelling and flowing commute (a relabelling changes only a first link that is
            # LITERAL; a flow appends), and the first relabelling wins.
            mine = self._pending
            if mine is None:
                out._pending = (label, tail)
            else:
                out._pending = (mine[0] if mine[0] is not None else label, (*mine[1], *tail))
        return out

    def via(self, link: Link) -> Val:
        """The same value, having flowed through ``link`` (applied to every leaf)."""
        charge()
        return self._then(None, (link,))

    def relabelled(self, kind: str, subject: str = "", place: str = "") -> Val:
        """Say what kind of place the leaves were written in: the default of ``var.x`` (kind
        VARIABLE_DEFAULT, subject ``var.x``) instead of a literal."""
        charge()
        return self._then((kind, subject, place), ())

    @property
    def is_null(self) -> bool:
        return self.known and not self.choices and self._v is None

    def plain(self) -> Any:
        v = self.v
        if isinstance(v, list):
            return [item.plain() for item in v]
        if isinstance(v, dict):
            return {k: item.plain() for k, item in v.items()}
        return v


def unknown(
    src: Source, node: Node, why: str | None = None, kind: str = LinkKind.EXPRESSION
) -> Val:
    return Val(
        None,
        (Link(src.span(node), kind),),
        False,
        why or compact(src.text(node)),
    )


class Scope:
    """Names an expression can see: variables, locals, each/count, iterators, for variables."""

    def __init__(
        self,
        variables: Callable[[str, Source, Node], Val],
        local: Callable[[str, Source, Node], Val],
        names: dict[str, Val] | None = None,
        literals: dict[int, Val] | None = None,
        written: Callable[[Span], bool] | None = None,
        declared: Callable[[str, str], tuple[Source, Node] | None] | None = None,
    ) -> None:
        self.variables = variables
        self.local = local
        self.names = names or {}
        # Literal values by syntax node (``Node.id``, unique while the module's trees live):
        # a literal inside a `for` body is evaluated once, not once per element.
        self.literals: dict[int, Val] = {} if literals is None else literals
        # Whether the text at a span is a literal (False: an expression computes the value
        # there, so a fix cannot write another value over it); None: not known.
        self.written = written
        # Where a name is declared, for explaining a decision (see decision()): ``("local",
        # name)`` gives the local's expression, ``("var", name)`` the variable block.
        self.declared = declared

    def with_names(self, **names: Val) -> Scope:
        return Scope(
            self.variables,
            self.local,
            {**self.names, **names},
            self.literals,
            self.written,
            self.declared,
        )


def evaluate(src: Source, node: Node, scope: Scope, depth: int = 0) -> Val:
    Budget.left -= 1
    if Budget.left < 0:
        raise TooComplex(f"more than {Budget.limit:,} evaluation steps")
    if depth > MAX_DEPTH:
        return unknown(src, node, "expression nested too deeply")
    kind = node.type
    if kind == "expression":
        named = node.named_children
        if len(named) == 1:
            return evaluate(src, named[0], scope, depth + 1)
        if named and named[0].type == "variable_expr":
            return _access(src, node, named, scope, depth)
        if len(named) > 1 and all(n.type in ("get_attr", "index", "splat") for n in named[1:]):
            value = evaluate(src, named[0], scope, depth + 1)  # `[for ...][0]`, `(expr).attr`
            for accessor in named[1:]:
                value = _apply(src, accessor, value, scope, depth)
            return value
        return unknown(src, node)
    if kind in ("literal_value", "template_expr"):
        known = scope.literals.get(node.id)
        if known is not None:
            return known
        literal = syntax.literal(src, node)
        if literal is not syntax.NOT_LITERAL:
            link = (Link(src.span(node), LinkKind.LITERAL),)
            value = Val(literal, link, expr=compact(src.text(node)))
            if not isinstance(literal, (list, dict)):
                scope.literals[node.id] = value
            return value
        if kind == "template_expr":
            return _template(src, node, scope, depth)
        return unknown(src, node)
    if kind == "collection_value":
        return _collection(src, node.named_children[0], scope, depth)
    if kind == "variable_expr":
        return _access(src, node, [node], scope, depth)
    if kind == "conditional":
        return _conditional(src, node, scope, depth)
    if kind == "function_call":
        return _call(src, node, scope, depth)
    if kind == "operation":
        return _operation(src, node.named_children[0], scope, depth)
    if kind == "for_expr":
        return _for(src, node.named_children[0], scope, depth)
    return unknown(src, node)


# --- names and access ---------------------------------------------------------------------------


def _access(src: Source, whole: Node, parts: list[Node], scope: Scope, depth: int) -> Val:
    root = src.text(parts[0])
    rest = parts[1:]
    if root in ("var", "local") and rest and rest[0].type == "get_attr":
        name = src.text(rest[0].named_children[-1])
        getter = scope.variables if root == "var" else scope.local
        value = getter(name, src, rest[0]).via(
            Link(src.span(whole), LinkKind.REFERENCE, f"{root}.{name}")
        )
        rest = rest[1:]
    elif root in scope.names:
        value = scope.names[root]
    else:
        return unknown(src, whole)
    for accessor in rest:
        value = _apply(src, accessor, value, scope, depth)
    return value


def _apply(src: Source, accessor: Node, value: Val, scope: Scope, depth: int) -> Val:
    if value.choices:
        return choice(
            value.links,
            value.expr,
            [(c, _apply(src, accessor, v, scope, depth)) for c, v in value.choices],
        )
    if not value.known:
        return value
    if accessor.type == "get_attr":
        name = src.text(accessor.named_children[-1])
        if isinstance(value.v, dict):
            if name not in value.v:
                raise EvalError(f"no attribute {name!r}")
            return value.v[name]  # type: ignore[no-any-return]
        if value.v is None:
            raise EvalError(f"attribute {name!r} of null")
        raise EvalError(f"attribute {name!r} of a non-object")
    if accessor.type == "index":
        inner = accessor.named_children[0]
        if inner.type == "legacy_index":
            key: Any = int(src.text(inner).lstrip(".").strip())
        else:
            index_expr = syntax.child(inner, "expression")
            if index_expr is None:
                return unknown(src, accessor)
            key_val = evaluate(src, index_expr, scope, depth + 1)
            if not key_val.known or key_val.choices:
                return unknown(src, accessor)
            key = key_val.v
        if isinstance(value.v, list):
            if not isinstance(key, (int, float)) or not 0 <= int(key) < len(value.v):
                raise EvalError("index out of range")
            return value.v[int(key)]  # type: ignore[no-any-return]
        if isinstance(value.v, dict):
            if str(key) not in value.v:
                raise EvalError(f"no element {key!r}")
            return value.v[str(key)]  # type: ignore[no-any-return]
        raise EvalError("index of a non-collection")
    if accessor.type == "splat":
        items = value.v if isinstance(value.v, list) else ([] if value.v is None else [value])
        out = []
        for item in items:
            result = item
            for sub in accessor.named_children[0].named_children:
                if sub.type in ("get_attr", "index"):
                    result = _apply(src, sub, result, scope, depth)
            out.append(result)
        return Val(out, value.links)
    return unknown(src, accessor)


# --- literals and collections -----------------------------------------------------------------


def _template(src: Source, node: Node, scope: Scope, depth: int) -> Val:
    inner = node.named_children[0]
    parts: list[str] = []
    for child in inner.named_children:
        if child.type == "template_literal":
            parts.append(src.text(child))
        elif child.type == "template_interpolation":
            expr = syntax.child(child, "expression")
            value = evaluate(src, expr, scope, depth + 1) if expr is not None else None
            if (
                value is None
                or not value.known
                or value.choices
                or isinstance(value.v, (list, dict))
            ):
                return unknown(src, node)
            parts.append(_to_string(value.v))
        elif child.type in (
            "quoted_template_start",
            "quoted_template_end",
            "heredoc_start",
            "heredoc_identifier",
        ):
            continue
        else:
            return unknown(src, node)
    text = "".join(parts)
    if len(text) > MAX_STRING:  # `"${local.s}${local.s}"` chains double the length each time
        raise TooComplex(f"a string of more than {MAX_STRING:,} characters")
    charge(len(text) >> 10)
    return Val(text, (Link(src.span(node), LinkKind.LITERAL),))


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _collection(src: Source, node: Node, scope: Scope, depth: int) -> Val:
    link = (Link(src.span(node), LinkKind.LITERAL),)
    if node.type == "tuple":
        items = [
            evaluate(src, c, scope, depth + 1)
            for c in node.named_children
            if c.type == "expression"
        ]
        return Val(items, link)
    out: dict[str, Val] = {}
    for elem in node.named_children:
        if elem.type != "object_elem":
            continue
        exprs = [c for c in elem.named_children if c.type == "expression"]
        if len(exprs) != 2:
            continue
        key_node = exprs[0]
        named = key_node.named_children
        if len(named) == 1 and named[0].type == "variable_expr":
            key: Any = src.text(named[0])
        else:
            key_val = evaluate(src, key_node, scope, depth + 1)
            if not key_val.known or key_val.choices:
                return unknown(src, node)
            key = _to_string(key_val.v)
        out[str(key)] = evaluate(src, exprs[1], scope, depth + 1)
    return Val(out, link)


# --- conditionals, operators, for -------------------------------------------------------------


def _truth(value: Val) -> bool | None:
    if not value.known or value.choices:
        return None
    if isinstance(value.v, bool):
        return value.v
    if isinstance(value.v, str) and value.v in ("true", "false"):
        return value.v == "true"
    raise EvalError("condition is not a boolean")


def _conditional(src: Source, node: Node, scope: Scope, depth: int) -> Val:
    cond, yes, no = [c for c in node.named_children if c.type == "expression"][:3]
    decided = _truth(evaluate(src, cond, scope, depth + 1))
    if decided is not None:
        taken = evaluate(src, yes if decided else no, scope, depth + 1)
        why = decision(src, cond, decided, node, scope, depth)
        why = why._replace(other=compact(src.text(no if decided else yes), 60))
        return taken.via(Link(src.span(node), LinkKind.DECISION, "conditional", decision=why))
    text = compact(src.text(cond), 60)
    when_yes = evaluate(src, yes, scope, depth + 1)
    when_no = evaluate(src, no, scope, depth + 1)
    if _same(when_yes, when_no):
        return when_yes  # the same value from the same place either way: the condition is moot
    return choice(
        (Link(src.span(node), LinkKind.CONDITIONAL),),
        compact(src.text(node)),
        [(f"{text} is true", when_yes), (f"{text} is false", when_no)],
    )


# The kinds of place a value that decides a condition can be written in, for a fix to change
# it: an input, a local, a default (not a value computed by an expression or a function).
_INPUTS = frozenset(
    {
        LinkKind.VARIABLE_DEFAULT,
        LinkKind.VARIABLE_FILE,
        LinkKind.VARIABLE_CLI,
        LinkKind.VARIABLE_ENV,
        LinkKind.LOCAL,
        LinkKind.MODULE_INPUT,
        LinkKind.OPTIONAL_DEFAULT,
    }
)


def decision(
    src: Source, cond: Node, taken: bool, node: Node, scope: Scope, depth: int
) -> Decision:
    """Why the conditional ``node`` took the branch ``taken``: the value its condition ``cond``
    reads and where it is written, and the value to write there to take the other branch.
    Conditions read as one value: ``v``, ``!v``, ``v == literal``, ``v != literal`` (and
    parentheses), where ``v`` is a variable, a local or an attribute of one; a local computed
    from one value is followed to it (``local.is_prod = var.env == "prod"``, an alias, a
    negation), through at most MAX_LOCAL_HOPS locals; ``a && b`` / ``a || b`` read as the one
    operand whose change flips them when exactly one input can (``var.x && true``). A value
    other than a literal (``var.mode == "legacy"`` to be false) is taken from the variable's
    ``validation`` blocks. Anything else (``var.a && var.b`` where either decides, a function)
    is named without an input."""
    text = compact(src.text(cond), 60)
    at = src.span(node)
    base = Decision(text, taken, at, reads_input=_reads_input(src, cond))
    found = _trace(src, cond, scope, False, (), depth)
    if isinstance(found, str):
        return base._replace(why=found)
    tsrc, parts, relation, literal, negated, through = found
    subject = compact(tsrc.text(parts[0]) + "".join(tsrc.text(p) for p in parts[1:]), 60)
    base = base._replace(subject=subject, through=", ".join(through))
    if through:  # a local's expression sees the module's names only
        scope = Scope(
            scope.variables, scope.local, None, scope.literals, scope.written, scope.declared
        )
    value = _operand(tsrc, parts, scope, depth + 1)
    if not value.known or value.choices or isinstance(value.v, (list, dict)) or not value.links:
        return base._replace(why=f"{subject} is not a single known value")
    first = value.links[0]
    base = base._replace(shown=show(value.v))
    computed = scope.written is not None and first.span.path and not scope.written(first.span)
    if (
        computed
        or first.kind not in _INPUTS
        or (
            not first.span.path and first.kind not in (LinkKind.VARIABLE_CLI, LinkKind.VARIABLE_ENV)
        )
    ):
        return base._replace(why=f"{subject} is computed, not written as one value")
    base = base._replace(input=(first.span, first.kind, first.subject, first.place))
    want = (not taken) != negated  # the value the relation must take for the other branch
    if relation == "is":
        flip = want if not isinstance(value.v, str) else ("true" if want else "false")
        return base._replace(flip=flip)
    if (relation == "==") == want and literal is not None:
        return base._replace(flip=literal)
    other = _allowed_other(tsrc, parts, scope, value.v, literal)
    if other is not None:
        return base._replace(flip=other)
    why = (
        f"{text} is {'false' if taken else 'true'} only for a value of {subject} other than "
        f"{show(literal)}, which imds-iac cannot choose"
    )
    name = _variable_name(tsrc, parts)
    if name is not None and literal is not None:  # `!= null`: any value would do, none listed
        why += (
            f": a validation block listing the allowed values of var.{name} (contains([...], "
            f"var.{name})) would let imds-iac choose one"
        )
    return base._replace(why=why)


# Locals followed to the value that decides a condition (``local.a = !local.b``, ...).
MAX_LOCAL_HOPS = 16
# Values of a variable tried against its validation blocks.
MAX_CANDIDATES = 32


# (source, operand, relation, literal, negated, locals followed): the condition is ``negated``
# XOR (``operand`` is true | == ``literal`` | != ``literal``).
if TYPE_CHECKING:
    _Trace = tuple[Source, list[Node], str, Any, bool, tuple[str, ...]]


def _trace(
    src: Source, cond: Node, scope: Scope, negated: bool, through: tuple[str, ...], depth: int
) -> _Trace | str:
    """The one value a condition reads (see :func:`decision`), or why there is none."""
    text = compact(src.text(cond), 60)
    node = cond
    for _ in range(MAX_DEPTH):
        while node.type == "expression" and len(node.named_children) == 1:
            node = node.named_children[0]
        if node.type == "variable_expr":
            return _follow(src, [node], "is", None, negated, through, scope, depth)
        if node.type == "expression":
            named = node.named_children
            if named and named[0].type == "variable_expr":
                return _follow(src, [node], "is", None, negated, through, scope, depth)
            break
        if node.type != "operation":
            break
        inner = node.named_children[0]
        operator, operands = _split(src, inner)
        if inner.type == "unary_operation" and operator == "!" and len(operands) == 1:
            negated = not negated
            if len(operands[0]) == 1:
                node = operands[0][0]
                continue
            if operands[0][0].type == "variable_expr":
                return _follow(src, operands[0], "is", None, negated, through, scope, depth)
            break
        if operator in ("==", "!=") and len(operands) == 2:
            literals = [
                syntax.literal(src, p[0]) if len(p) == 1 else syntax.NOT_LITERAL for p in operands
            ]
            for i in (0, 1):
                other = literals[1 - i]
                if (
                    literals[i] is syntax.NOT_LITERAL
                    and other is not syntax.NOT_LITERAL
                    and not isinstance(other, (list, dict))
                    and operands[i][0].type in ("variable_expr", "expression")
                ):
                    return _follow(
                        src, operands[i], operator, other, negated, through, scope, depth
                    )
            break
        if operator in ("&&", "||") and len(operands) == 2:
            return _junction(src, node, operator, operands, scope, negated, through, depth)
        break
    return f"{text} does not read a single value"


def _split(src: Source, inner: Node) -> tuple[str, list[list[Node]]]:
    """The operator of a unary or binary operation and its operands (runs of named nodes:
    ``var.x`` is (variable_expr) (get_attr))."""
    operator = ""
    operands: list[list[Node]] = [[]]
    for child in inner.children:
        if child.is_named and child.type != "comment":
            operands[-1].append(child)
        elif not child.is_named and not operator:
            operator = src.text(child)
            operands.append([])
    return operator, [part for part in operands if part]


def _junction(
    src: Source,
    node: Node,
    operator: str,
    operands: list[list[Node]],
    scope: Scope,
    negated: bool,
    through: tuple[str, ...],
    depth: int,
) -> _Trace | str:
    """``a && b`` / ``a || b``: the operand whose change alone flips the result (the other one
    is true for ``&&``, false for ``||``) when exactly one such operand reads an input; both
    operators are monotone, so the negations around it stay as they are."""
    text = compact(src.text(node), 60)
    truths: list[bool | None] = []
    for part in operands:
        try:
            truths.append(_truth(_operand(src, part, scope, depth + 1)))
        except EvalError:
            truths.append(None)
    if None in truths:
        return f"{text} does not read a single value"
    neutral = operator == "&&"  # the value of the other operand that lets one decide
    flippers = [part for i, part in enumerate(operands) if truths[1 - i] is neutral]
    deciding = [part for part in flippers if any(_reads_input(src, n) for n in part)]
    if not flippers:
        return f"both operands of {text} would have to change"
    if not deciding:
        return f"no input decides {text}"
    if len(deciding) > 1:
        shown = " or ".join(compact("".join(src.text(n) for n in p), 40) for p in operands)
        return f"changing {shown} alone changes {text}, and imds-iac does not choose which"
    part = deciding[0]
    if len(part) == 1:
        return _trace(src, part[0], scope, negated, through, depth + 1)
    if part[0].type == "variable_expr":
        return _follow(src, part, "is", None, negated, through, scope, depth + 1)
    return f"{text} does not read a single value"


def _follow(
    src: Source,
    parts: list[Node],
    relation: str,
    literal: Any,
    negated: bool,
    through: tuple[str, ...],
    scope: Scope,
    depth: int,
) -> _Trace | str:
    """The operand ``parts``, or, when it is a local computed by an expression, the value that
    expression reads: a reference (an alias) whatever the relation, a condition when the
    operand is read as true or false."""
    found: _Trace = (src, parts, relation, literal, negated, through)
    named = parts[0].named_children if len(parts) == 1 and parts[0].type == "expression" else parts
    if (
        scope.declared is None
        or len(named) != 2
        or named[0].type != "variable_expr"
        or src.text(named[0]) != "local"
        or named[1].type != "get_attr"
    ):
        return found
    name = src.text(named[1].named_children[-1])
    definition = scope.declared("local", name)
    if definition is None:
        return found
    dsrc, expr = definition
    if syntax.literal(dsrc, expr) is not syntax.NOT_LITERAL:
        return found  # the local is the value written
    if len(through) >= MAX_LOCAL_HOPS:
        return f"{through[0]} is computed through more than {MAX_LOCAL_HOPS} locals"
    through = (*through, f"local.{name}")
    inner = syntax.unwrap(expr)
    if inner.type == "variable_expr" or (
        inner.type == "expression" and inner.named_children[0].type == "variable_expr"
    ):
        return _follow(dsrc, [inner], relation, literal, negated, through, scope, depth + 1)
    if relation != "is":
        return found
    return _trace(dsrc, expr, scope, negated, through, depth + 1)


def _reads_input(src: Source, node: Node) -> bool:
    """Does the expression read a variable or a local (an input of the configuration)?"""
    stack = [node]
    for _ in range(10_000):
        if not stack:
            return False
        current = stack.pop()
        if current.type == "variable_expr" and src.text(current) in ("var", "local"):
            return True
        stack.extend(current.named_children)
    return True


def _variable_name(src: Source, parts: list[Node]) -> str | None:
    named = parts[0].named_children if len(parts) == 1 and parts[0].type == "expression" else parts
    if (
        len(named) == 2
        and named[0].type == "variable_expr"
        and src.text(named[0]) == "var"
        and named[1].type == "get_attr"
    ):
        return src.text(named[1].named_children[-1])
    return None


def _allowed_other(src: Source, parts: list[Node], scope: Scope, current: Any, literal: Any) -> Any:
    """A value of the variable ``parts`` other than ``literal`` (and ``current``) that every
    ``validation`` block of its declaration accepts: the candidates are the literals of the
    type of ``current`` written in those blocks' conditions (``contains(["legacy", "modern"],
    var.x)``, ``var.x == "a" || ...``), each checked by evaluating every condition with it.
    None when the variable has no validation block or none of them names such a value."""
    name = _variable_name(src, parts)
    if name is None or scope.declared is None:
        return None
    declared = scope.declared("var", name)
    if declared is None:
        return None
    vsrc, block = declared
    conditions = []
    for inner in syntax.children(block, "body"):
        for check in syntax.children(inner, "block"):
            if syntax.ident(check) == "validation":
                condition = syntax.attributes(syntax.child(check, "body")).get("condition")
                if condition is not None:
                    conditions.append(condition)
    if not conditions:
        return None
    candidates: list[Any] = []
    stack = list(reversed(conditions))
    while stack and len(candidates) < MAX_CANDIDATES:
        node = stack.pop()
        if node.type in ("literal_value", "template_expr"):
            found = syntax.literal(vsrc, node)
            if (
                type(found) is type(current)
                and found not in (literal, current)
                and found not in candidates
            ):
                candidates.append(found)
            continue
        stack.extend(reversed(node.named_children))
    for candidate in candidates:
        given = Val(candidate, (Link(src.span(parts[0]), LinkKind.LITERAL),))

        def variables(n: str, at: Source, node: Node, given: Val = given) -> Val:
            return given if n == name else unknown(at, node)

        check_scope = Scope(variables, lambda n, at, node: unknown(at, node))
        try:
            if all(_truth(evaluate(vsrc, c, check_scope)) is True for c in conditions):
                return candidate
        except EvalError:
            continue
    return None


def choice(links: tuple[Link, ...], expr: str, alternatives: list[tuple[str, Val]]) -> Val:
    """A value that is one of ``alternatives`` (labelled with the conditions that choose them),
    kept flat (an alternative never is a choice itself) and without duplicates. When every
    alternative is the same value from the same place, that value; past ``MAX_CHOICES``
    alternatives, TooComplex."""
    flat: list[tuple[str, Val]] = []
    for label, value in alternatives:
        if value.choices:
            flat.extend((f"{label} and {sub}", leaf) for sub, leaf in value.choices)
        else:
            flat.append((label, value))
    keys = [_key(value) for _, value in flat]
    if all(k == keys[0] for k in keys):
        return flat[0][1]
    seen: set[tuple[str, object]] = set()
    out: list[tuple[str, Val]] = []
    for (label, value), k in zip(flat, keys, strict=True):
        if (label, k) not in seen:
            seen.add((label, k))
            out.append((label, value))
    if len(out) > MAX_CHOICES:
        raise TooComplex(f"more than {MAX_CHOICES} alternative values")
    return Val(None, links, False, expr, tuple(out))


def _key(value: Val) -> object:
    """What makes two values the same for a rule: the value and where it was written (the first
    link: the place a finding points at), not the references it flowed through."""
    charge()
    origin = value.links[0].span if value.links else None
    if value.choices:
        return ("?", tuple((c, _key(v)) for c, v in value.choices))
    raw = value._v
    if isinstance(raw, (list, dict)):
        # The same elements (shared, not copied) with the same relabelling: the same value.
        # Equal elements that are not shared compare unequal, which only keeps an alternative.
        label = value._pending[0] if value._pending is not None else None
        return ("C", origin, value.known, id(raw), label)
    return (type(raw).__name__, raw, value.known, value.expr, origin)


def _same(a: Val, b: Val) -> bool:
    if a is b:
        return True
    if bool(a.choices) != bool(b.choices) or len(a.choices) != len(b.choices):
        return False
    return _key(a) == _key(b)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


def _operation(src: Source, node: Node, scope: Scope, depth: int) -> Val:
    link = (Link(src.span(node), LinkKind.LITERAL),)
    # Operands are runs of named nodes between operator tokens: `var.x != null` is
    # (variable_expr) (get_attr) "!=" (literal_value).
    operator, operands = _split(src, node)
    values = [_operand(src, part, scope, depth) for part in operands]
    if any(not v.known or v.choices for v in values):
        if operator == "&&" and any(v.known and not v.choices and v.v is False for v in values):
            return Val(False, link)
        if operator == "||" and any(v.known and not v.choices and v.v is True for v in values):
            return Val(True, link)
        return unknown(src, node)
    raw = [v.plain() for v in values]
    try:
        if node.type == "unary_operation":
            return Val((not raw[0]) if operator == "!" else -raw[0], link)
        if operator == "&&":
            return Val(bool(raw[0]) and bool(raw[1]), link)
        if operator == "||":
            return Val(bool(raw[0]) or bool(raw[1]), link)
        if operator in ("==", "!="):
            return Val(_COMPARE[operator](raw[0], raw[1]), link)
        numbers = [_number(x) for x in raw]
        return Val(_COMPARE[operator](numbers[0], numbers[1]), link)
    except (TypeError, ZeroDivisionError, KeyError, ValueError) as exc:
        raise EvalError(str(exc)) from None


def _operand(src: Source, parts: list[Node], scope: Scope, depth: int) -> Val:
    if len(parts) == 1:
        return evaluate(src, parts[0], scope, depth + 1)
    if parts[0].type == "variable_expr":
        return _access(src, parts[0], parts, scope, depth)
    return unknown(src, parts[0])


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or value is None:
        raise EvalError("not a number")
    if isinstance(value, (int, float)):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EvalError(f"{value!r} is not a number") from None
    return int(number) if number.is_integer() else number


def _for(src: Source, node: Node, scope: Scope, depth: int) -> Val:
    intro = syntax.child(node, "for_intro")
    if intro is None:
        return unknown(src, node)
    names = [src.text(c) for c in intro.named_children if c.type == "identifier"]
    source_expr = syntax.child(intro, "expression")
    exprs = [c for c in node.named_children if c.type == "expression"]
    cond = syntax.child(node, "for_cond")
    if source_expr is None or not exprs:
        return unknown(src, node)
    collection = evaluate(src, source_expr, scope, depth + 1)
    if not collection.known or collection.choices:
        return unknown(src, node)
    if isinstance(collection.v, dict):
        pairs = [(Val(k, collection.links), v) for k, v in collection.v.items()]
    elif isinstance(collection.v, list):
        pairs = [(Val(i, collection.links), v) for i, v in enumerate(collection.v)]
    else:
        raise EvalError("for expression over a non-collection")
    link = (Link(src.span(node), LinkKind.LITERAL),)
    is_object = node.type == "for_object_expr"
    out_list: list[Val] = []
    out_map: dict[str, Val] = {}
    for key, value in pairs:
        bound = {names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value}
        inner = scope.with_names(**bound)
        if cond is not None:
            cond_expr = syntax.child(cond, "expression")
            keep = (
                _truth(evaluate(src, cond_expr, inner, depth + 1))
                if cond_expr is not None
                else True
            )
            if keep is None:
                return unknown(src, node)
            if not keep:
                continue
        if is_object:
            k = evaluate(src, exprs[0], inner, depth + 1)
            if not k.known or k.choices or len(exprs) < 2:
                return unknown(src, node)
            out_map[_to_string(k.v)] = evaluate(src, exprs[1], inner, depth + 1)
        else:
            out_list.append(evaluate(src, exprs[0], inner, depth + 1))
    return Val(out_map if is_object else out_list, link)


# --- functions --------------------------------------------------------------------------------


def _call(src: Source, node: Node, scope: Scope, depth: int) -> Val:
    name = src.text(node.named_children[0])
    args_node = syntax.child(node, "function_arguments")
    args = [c for c in args_node.named_children if c.type == "expression"] if args_node else []
    link = (Link(src.span(node), LinkKind.FUNCTION, name),)
    if name in ("try", "can"):
        for arg in args:
            try:
                value = evaluate(src, arg, scope, depth + 1)
            except EvalError:
                continue
            if name == "can":
                return Val(True, link) if value.known else unknown(src, node)
            return value
        if name == "can":
            return Val(False, link)
        raise EvalError("no argument of try() could be evaluated")
    values = [evaluate(src, arg, scope, depth + 1) for arg in args]
    if name == "coalesce":
        for value in values:
            if not value.known or value.choices:
                return unknown(src, node)
            if value.v is not None and value.v != "":
                return value
        raise EvalError("coalesce() with no non-null argument")
    if any(not v.known or v.choices for v in values):
        return unknown(src, node)
    if name == "lookup" and len(values) in (2, 3):
        mapping, key = values[0].v, _to_string(values[1].v)
        if isinstance(mapping, dict) and key in mapping:
            return mapping[key]  # type: ignore[no-any-return]
        if len(values) == 3:
            return values[2]
        raise EvalError(f"lookup(): no key {key!r}")
    if name == "merge":
        merged: dict[str, Val] = {}
        for value in values:
            if value.v is None:
                continue
            if not isinstance(value.v, dict):
                raise EvalError("merge() of a non-object")
            merged.update(value.v)
        return Val(merged, link)
    if name in ("tostring", "tonumber") and len(values) == 1:
        value = values[0]
        if value.v is None:
            return value
        converted: Any = _to_string(value.v) if name == "tostring" else _number(value.v)
        return Val(converted, value.links)
    if name in ("tolist", "toset", "tomap") and len(values) == 1:
        return values[0]
    if name in ("lower", "upper") and len(values) == 1 and isinstance(values[0].v, str):
        text = values[0].v.lower() if name == "lower" else values[0].v.upper()
        return Val(text, values[0].links)
    if name == "length" and len(values) == 1 and isinstance(values[0].v, (list, dict, str)):
        return Val(len(values[0].v), link)
    if name == "contains" and len(values) == 2 and isinstance(values[0].v, list):
        return Val(values[1].plain() in [item.plain() for item in values[0].v], link)
    if name in ("keys", "values") and len(values) == 1 and isinstance(values[0].v, dict):
        mapping = values[0].v
        if name == "keys":
            return Val([Val(k, link) for k in sorted(mapping)], link)
        return Val([mapping[k] for k in sorted(mapping)], link)
    return unknown(src, node)
