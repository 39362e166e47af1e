"""The public :class:`Expression` and :func:`compile_expression`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from trialdesk.core.rules.compiler import Compiled, check
from trialdesk.core.rules.evaluate import Evaluator
from trialdesk.core.rules.types import UNKNOWN, ExprType, Kind, Schema, Truth


@dataclass(frozen=True)
class Expression:
    """A compiled, type-checked expression.

    Attributes
    ----------
    text : str
        The source text.
    context : str or None
        The form it belongs to (``None`` for study-level expressions).
    names : frozenset[str]
        Qualified field references (``"form.field"``) it reads.
    type : ExprType
        Static result type (``type.kind`` is a :class:`~trialdesk.core.rules.Kind`).
    """

    text: str
    context: str | None
    names: frozenset[str]
    type: ExprType
    _compiled: Compiled = field(repr=False, compare=False)

    @property
    def is_boolean(self) -> bool:
        """Whether the result is a boolean (usable as a criterion, a check or a condition)."""
        return self.type.kind in (Kind.BOOLEAN, Kind.ANY)

    def evaluate(self, values: Mapping[str, object]) -> object:
        """Evaluate on ``values`` and return the value or ``UNKNOWN``.

        Parameters
        ----------
        values : Mapping[str, object]
            Field values keyed ``"form.field"``. Fields of the expression's own form may
            also be keyed by their bare name. A key that is absent, ``None`` or ``UNKNOWN``
            is a missing value.
        """
        compiled = self._compiled
        evaluator = Evaluator(self._lookup(values), compiled.resolved, compiled.ordinal)
        try:
            return evaluator.eval(self.text, previously_parsed=self._compiled.tree)
        except TypeError as exc:
            names = ", ".join(sorted(self.names))
            raise TypeError(
                f"cannot evaluate {self.text!r}: {exc} (check the types of the values of {names})"
            ) from exc

    def truth(self, values: Mapping[str, object]) -> Truth:
        """Evaluate a boolean expression to ``Truth.TRUE``, ``FALSE`` or ``UNKNOWN``."""
        if not self.is_boolean:
            raise TypeError(f"{self.text!r} is {self.type}, not boolean")
        return Truth.of(self.evaluate(values))

    def _lookup(self, values: Mapping[str, object]):
        context = self.context

        def lookup(qualified: str) -> object:
            if qualified in values:
                value = values[qualified]
            elif context and qualified.startswith(f"{context}."):
                value = values.get(qualified[len(context) + 1 :])
            else:
                value = None
            return UNKNOWN if value is None else value

        return lookup


def compile_expression(text: str, *, context: str | None, schema: Schema) -> Expression:
    """Parse, check and compile ``text``.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"dbp < sbp"`` or ``"days_between(demog.delivery_date,
        screening.visit_date) <= 14"``.
    context : str or None
        Form code the expression belongs to; its fields may be written bare.
    schema : Schema
        The fields that may be referenced, with their types.

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        Syntax errors, refused constructs (attribute access, subscripts, calls outside the
        allow-list, lambdas, comprehensions), unknown fields, type errors, input that is too
        long or nested too deeply.
    """
    compiled = check(text, context=context, schema=schema)
    return Expression(text, context, compiled.names, compiled.type, compiled)
