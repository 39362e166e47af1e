"""Parse and type-check an expression against a schema of field names."""

from __future__ import annotations

import ast
import difflib
import keyword
from collections.abc import Callable
from dataclasses import dataclass, field

from trialdesk.core.rules.functions import FUNCTIONS, Function
from trialdesk.core.rules.types import (
    ANY,
    BOOLEAN,
    NUMBER,
    TEXT,
    ExprType,
    Kind,
    Schema,
)

MAX_LENGTH = 2000
MAX_DEPTH = 25
MAX_NODES = 400

_ORDERED = frozenset({Kind.NUMBER, Kind.DATE, Kind.DATETIME, Kind.TIME})
_TEXTUAL = frozenset({Kind.TEXT, Kind.CODE})
_REFUSED = {
    ast.Subscript: "subscripts ([...]) are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "* unpacking is not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "slices are not allowed",
}
_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_CMPOPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


class ExpressionError(ValueError):
    """An expression is not valid: syntax, a refused construct, a name or a type error.

    Attributes
    ----------
    text : str
        The expression.
    reason : str
        What is wrong, without the expression (for located messages).
    """

    def __init__(self, reason: str, text: str = "") -> None:
        self.reason = reason
        self.text = text
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{reason} in expression {shown!r}" if text else reason)


@dataclass(frozen=True)
class Compiled:
    """Output of :func:`check`: the tree, resolved names and the result type."""

    tree: ast.expr
    names: frozenset[str]
    type: ExprType
    resolved: dict[int, str] = field(default_factory=dict)
    ordinal: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)


def parse(text: str) -> ast.expr:
    """Parse ``text`` into one expression node, enforcing the size limits first."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long (max {MAX_LENGTH})")
    _check_bracket_depth(text)
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error at column {exc.offset}: {exc.msg}", text) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply", text) from None
    _check_tree_size(tree, text)
    return tree


def _check_bracket_depth(text: str) -> None:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise ExpressionError(f"brackets are nested {deepest} deep (max {MAX_DEPTH})")


def _check_tree_size(tree: ast.expr, text: str) -> None:
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ExpressionError(f"the expression has {count} parts (max {MAX_NODES})", text)
    if _depth(tree) > MAX_DEPTH * 2:
        raise ExpressionError(f"the expression is nested too deeply (max {MAX_DEPTH * 2})", text)


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def check(text: str, *, context: str | None, schema: Schema) -> Compiled:
    """Parse ``text`` and type-check it against ``schema``.

    Parameters
    ----------
    text : str
        The expression.
    context : str or None
        The form the expression belongs to (bare names resolve to its fields), or ``None``
        (eligibility, study-level rules: every name must be ``form.field``).
    schema : Schema
        The referable fields.

    Raises
    ------
    ExpressionError
        Naming the construct, name or types that are wrong.
    """
    tree = parse(text)
    checker = _Checker(text, context, schema)
    result = checker.visit(tree)
    return Compiled(tree, frozenset(checker.names), result, checker.resolved, checker.ordinal)


class _Checker:
    """Walks the tree once: refuses constructs, resolves names, infers types."""

    def __init__(self, text: str, context: str | None, schema: Schema) -> None:
        self.text = text
        self.context = context
        self.schema = schema
        self.names: set[str] = set()
        self.resolved: dict[int, str] = {}
        self.ordinal: dict[tuple[int, int], tuple[str, ...]] = {}

    def fail(self, reason: str) -> ExpressionError:
        return ExpressionError(reason, self.text)

    def visit(self, node: ast.AST) -> ExprType:
        if type(node) in _REFUSED:
            raise self.fail(_REFUSED[type(node)])
        method: Callable[[ast.AST], ExprType] | None = getattr(
            self, f"visit_{type(node).__name__}", None
        )
        if method is None:
            raise self.fail(f"{type(node).__name__} is not allowed in an expression")
        return method(node)

    # -- leaves --------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> ExprType:
        value = node.value
        if isinstance(value, bool):
            return BOOLEAN
        if isinstance(value, int | float):
            return NUMBER
        if isinstance(value, str):
            return TEXT
        if value is None:
            raise self.fail("None is not a value here; use is_missing(x) or present(x)")
        raise self.fail(f"literal {value!r} is not allowed")

    def visit_Name(self, node: ast.Name) -> ExprType:
        if node.id in ("true", "false"):
            raise self.fail(f"write {node.id.capitalize()} instead of {node.id}")
        if self.context is None:
            raise self.fail(
                f"name {node.id!r} needs its form: write form.{node.id} "
                "(this expression does not belong to a form)"
            )
        return self._resolve(node, self.context, node.id)

    def visit_Attribute(self, node: ast.Attribute) -> ExprType:
        if not isinstance(node.value, ast.Name):
            raise self.fail(f"attribute access (.{node.attr}) is not allowed")
        form = node.value.id
        if form not in self.schema.forms():
            known = ", ".join(sorted(self.schema.forms()))
            raise self.fail(
                f"attribute access is not allowed: {form!r} is not a form, so "
                f"'{form}.{node.attr}' is not a field reference (forms: {known})"
            )
        return self._resolve(node, form, node.attr)

    def _resolve(self, node: ast.AST, form: str, name: str) -> ExprType:
        qualified = f"{form}.{name}"
        info = self.schema.get(qualified)
        if info is None:
            raise self.fail(self._unknown_name(form, name))
        if info.repeating and form != self.context:
            raise self.fail(
                f"{qualified!r} has more than one value per participant ({info.why}); "
                f"it can only be used inside form {form!r}"
            )
        self.names.add(qualified)
        self.resolved[id(node)] = qualified
        return info.type

    def _unknown_name(self, form: str, name: str) -> str:
        known = self.schema.fields_of(form)
        near = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        if name in FUNCTIONS:
            hint = f" ({name} is a function: call it as {name}(...))"
        if keyword.iskeyword(name):
            hint = ""
        return f"unknown field {name!r} in form {form!r}{hint}"

    # -- operators -----------------------------------------------------------------------
    def visit_UnaryOp(self, node: ast.UnaryOp) -> ExprType:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return self._expect(operand, {Kind.BOOLEAN}, "operand of 'not'")
        if isinstance(node.op, ast.USub | ast.UAdd):
            return self._expect(operand, {Kind.NUMBER}, "operand of unary minus/plus")
        raise self.fail(f"operator {type(node.op).__name__} is not allowed")

    def visit_BinOp(self, node: ast.BinOp) -> ExprType:
        symbol = _BINOPS.get(type(node.op))
        if symbol is None:
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        for side, typ in (("left", left), ("right", right)):
            self._expect(typ, {Kind.NUMBER}, f"{side} side of '{symbol}'")
        return NUMBER

    def visit_BoolOp(self, node: ast.BoolOp) -> ExprType:
        word = "and" if isinstance(node.op, ast.And) else "or"
        for value in node.values:
            self._expect(self.visit(value), {Kind.BOOLEAN}, f"operand of '{word}'")
        return BOOLEAN

    def visit_Compare(self, node: ast.Compare) -> ExprType:
        left = self.visit(node.left)
        left_node = node.left
        for index, (op, right_node) in enumerate(zip(node.ops, node.comparators, strict=True)):
            symbol = _CMPOPS.get(type(op))
            if symbol is None:
                raise self.fail("'is' is not allowed: use == or is_missing(x)")
            right = self.visit(right_node)
            order = self._compare(symbol, left, right, left_node, right_node)
            if order is not None:
                self.ordinal[(id(node), index)] = order
            left, left_node = right, right_node
        return BOOLEAN

    def visit_IfExp(self, node: ast.IfExp) -> ExprType:
        self._expect(self.visit(node.test), {Kind.BOOLEAN}, "condition of 'if ... else'")
        body, orelse = self.visit(node.body), self.visit(node.orelse)
        if not _compatible(body, orelse):
            raise self.fail(f"the branches of 'if ... else' differ in type ({body} vs {orelse})")
        return body if body.kind is not Kind.ANY else orelse

    def visit_List(self, node: ast.List | ast.Tuple) -> ExprType:
        kinds = set()
        for element in node.elts:
            if not isinstance(element, ast.Constant):
                raise self.fail("list elements must be literal values")
            kinds.add(self.visit(element).kind)
        if len(kinds) > 1:
            raise self.fail("list elements must all have the same type")
        return ExprType(Kind.LIST, element=kinds.pop() if kinds else Kind.ANY)

    visit_Tuple = visit_List

    def visit_Call(self, node: ast.Call) -> ExprType:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only plain function calls are allowed (no methods)")
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            names = ", ".join(sorted(FUNCTIONS))
            raise self.fail(f"function {node.func.id!r} is not allowed (allowed: {names})")
        if node.keywords:
            raise self.fail(f"{function.name}() takes positional arguments only")
        args = [self.visit(a) for a in node.args]
        self._check_arity(function, len(args))
        for index, typ in enumerate(args):
            allowed = function.params[min(index, len(function.params) - 1)]
            self._expect(typ, set(allowed), f"argument {index + 1} of {function.name}()")
        return function.result_type(args)

    # -- helpers -------------------------------------------------------------------------
    def _check_arity(self, function: Function, count: int) -> None:
        most = None if function.variadic else len(function.params)
        if count < function.min_args or (most is not None and count > most):
            wanted = f"{function.min_args}" + ("+" if most is None else f"..{most}")
            raise self.fail(f"{function.name}() takes {wanted} arguments, got {count}")

    def _expect(self, typ: ExprType, kinds: set[Kind], where: str) -> ExprType:
        if typ.kind is Kind.ANY or typ.kind in kinds or Kind.ANY in kinds:
            return typ
        wanted = " or ".join(sorted(k.value for k in kinds))
        raise self.fail(f"{where} must be {wanted}, not {typ}")

    def _compare(
        self, op: str, left: ExprType, right: ExprType, ln: ast.AST, rn: ast.AST
    ) -> tuple[str, ...] | None:
        """Check one comparison; return the code order when it compares ordered codes."""
        if op in ("in", "not in"):
            self._membership(op, left, right, ln, rn)
            return None
        if not _compatible(left, right):
            raise self.fail(f"cannot compare {left} with {right} using '{op}'")
        self._check_codes(left, rn)
        self._check_codes(right, ln)
        if op in ("==", "!="):
            return None
        order = _code_order(left, right)
        if order is not None:
            return order
        if left.kind not in _ORDERED | {Kind.ANY} or right.kind not in _ORDERED | {Kind.ANY}:
            shown = left if left.kind not in _ORDERED else right
            raise self.fail(
                f"'{op}' needs numbers, dates, times or codes of an ordered codelist, not {shown}"
            )
        return None

    def _membership(self, op: str, left: ExprType, right: ExprType, ln, rn) -> None:
        if right.kind is Kind.CODESET:
            self._expect(left, set(_TEXTUAL), f"left side of '{op}'")
            self._check_codes(right, ln)
            return
        if right.kind is not Kind.LIST:
            raise self.fail(f"right side of '{op}' must be a list [..] or a multichoice field")
        element = ExprType(right.element or Kind.ANY)
        if not _compatible(left, element):
            raise self.fail(f"cannot look for {left} in a list of {element}")
        for elt in getattr(rn, "elts", []):
            self._check_codes(left, elt)

    def _check_codes(self, typ: ExprType, other: ast.AST) -> None:
        if typ.codes is None or not isinstance(other, ast.Constant):
            return
        if isinstance(other.value, str) and other.value not in typ.codes:
            raise self.fail(
                f"{other.value!r} is not a code of codelist {typ.codelist!r} "
                f"(allowed: {', '.join(sorted(typ.codes))})"
            )


def _code_order(a: ExprType, b: ExprType) -> tuple[str, ...] | None:
    """The shared order of an ordered-codelist comparison (field vs literal or same list)."""
    orders = [t.order for t in (a, b) if t.kind is Kind.CODE]
    if not orders or any(o is None for o in orders):
        return None
    if len(orders) == 2 and orders[0] != orders[1]:
        return None
    if any(t.kind not in (Kind.CODE, Kind.TEXT) for t in (a, b)):
        return None
    return orders[0]


def _compatible(a: ExprType, b: ExprType) -> bool:
    if Kind.ANY in (a.kind, b.kind):
        return True
    if a.kind in _TEXTUAL and b.kind in _TEXTUAL:
        return True
    return a.kind == b.kind


__all__ = ["ANY", "Compiled", "ExpressionError", "check", "parse"]
