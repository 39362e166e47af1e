"""Evaluation on simpleeval, with field references and three-valued (Kleene) logic."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

from simpleeval import SimpleEval

from trialdesk.core.rules.functions import FUNCTIONS, call
from trialdesk.core.rules.types import UNKNOWN, is_missing

_Op = Callable[..., object]


def _strict(op: Callable[..., Any]) -> _Op:
    """Wrap a binary operator: a missing operand or a domain error gives UNKNOWN."""

    def wrapped(a: object, b: object) -> object:
        if is_missing(a) or is_missing(b):
            return UNKNOWN
        try:
            return op(a, b)
        except (ZeroDivisionError, OverflowError, ValueError):
            return UNKNOWN

    return wrapped


def _membership(a: object, b: object) -> object:
    if is_missing(a) or is_missing(b):
        return UNKNOWN
    return a in b  # type: ignore[operator]


def _not(value: object) -> object:
    return UNKNOWN if is_missing(value) else not value


def _negative(value: Any) -> object:
    return UNKNOWN if is_missing(value) else -value


def _positive(value: Any) -> object:
    return UNKNOWN if is_missing(value) else +value


def _power(a: float, b: float) -> float:
    if abs(b) > 1000 or abs(a) > 1e6:
        raise OverflowError("power too large")
    return a**b


_OPERATORS: dict[type, _Op] = {
    ast.Add: _strict(operator.add),
    ast.Sub: _strict(operator.sub),
    ast.Mult: _strict(operator.mul),
    ast.Div: _strict(operator.truediv),
    ast.FloorDiv: _strict(operator.floordiv),
    ast.Mod: _strict(operator.mod),
    ast.Pow: _strict(_power),
    ast.Eq: _strict(operator.eq),
    ast.NotEq: _strict(operator.ne),
    ast.Lt: _strict(operator.lt),
    ast.LtE: _strict(operator.le),
    ast.Gt: _strict(operator.gt),
    ast.GtE: _strict(operator.ge),
    ast.In: _membership,
    ast.NotIn: lambda a, b: _not(_membership(a, b)),
    ast.Not: _not,
    ast.USub: _negative,
    ast.UAdd: _positive,
}


def _rank(code: object, order: tuple[str, ...]) -> object:
    return order.index(code) if code in order else UNKNOWN


def kleene_and(values: list[object]) -> object:
    """``False`` if any is false, else ``UNKNOWN`` if any is unknown, else ``True``."""
    if any(v is False for v in values):
        return False
    return UNKNOWN if any(is_missing(v) for v in values) else True


def kleene_or(values: list[object]) -> object:
    """``True`` if any is true, else ``UNKNOWN`` if any is unknown, else ``False``."""
    if any(v is True for v in values):
        return True
    return UNKNOWN if any(is_missing(v) for v in values) else False


class Evaluator(SimpleEval):
    """simpleeval with resolved field names, Kleene logic and the allow-listed functions.

    Names were resolved at compile time (``resolved`` maps AST node ids to ``form.field``);
    values are looked up by that qualified name, so a form's own fields and other forms'
    fields follow the same path. Nothing but the compiled tree is ever evaluated.
    """

    def __init__(
        self,
        lookup: Callable[[str], object],
        resolved: Mapping[int, str],
        ordinal: Mapping[tuple[int, int], tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(operators=dict(_OPERATORS), functions={}, names={})
        self._lookup = lookup
        self._resolved = resolved
        self._ordinal = ordinal or {}
        self.nodes[ast.Tuple] = self._eval_sequence
        self.nodes[ast.List] = self._eval_sequence

    def _eval_name(self, node: ast.Name) -> object:
        return self._lookup(self._resolved[id(node)])

    def _eval_attribute(self, node: ast.Attribute) -> object:
        return self._lookup(self._resolved[id(node)])

    def _eval_subscript(self, node: ast.Subscript) -> object:  # pragma: no cover - refused
        raise ValueError("subscripts are not allowed")

    def _eval_sequence(self, node: ast.Tuple | ast.List) -> tuple[object, ...]:
        return tuple(self._eval(e) for e in node.elts)

    def _eval_boolop(self, node: ast.BoolOp) -> object:
        # Short-circuit only on a decisive value; an unknown operand keeps looking.
        decisive = isinstance(node.op, ast.Or)
        seen: list[object] = []
        for value_node in node.values:
            value = self._eval(value_node)
            if value is decisive:
                return decisive
            seen.append(value)
        return kleene_or(seen) if decisive else kleene_and(seen)

    def _eval_compare(self, node: ast.Compare) -> object:
        results: list[object] = []
        left = self._eval(node.left)
        for index, (op, comparator) in enumerate(zip(node.ops, node.comparators, strict=True)):
            right = self._eval(comparator)
            a, b = left, right
            order = self._ordinal.get((id(node), index))
            if order is not None:  # ordered codes compare by rank ('2+' > '1+')
                a, b = _rank(a, order), _rank(b, order)
            results.append(self.operators[type(op)](a, b))
            if results[-1] is False:
                return False
            left = right
        return kleene_and(results)

    def _eval_ifexp(self, node: ast.IfExp) -> object:
        test = self._eval(node.test)
        if is_missing(test):
            return UNKNOWN
        return self._eval(node.body) if test else self._eval(node.orelse)

    def _eval_call(self, node: ast.Call) -> object:
        function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        return call(function, [self._eval(a) for a in node.args])
