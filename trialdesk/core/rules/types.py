"""Value kinds of the expression language, the missing-value sentinel and tri-state truth."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class _Unknown:
    """The one missing/undetermined value (``UNKNOWN``).

    It refuses ``bool()`` so that Python code cannot mistake "unknown" for false by accident.
    """

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use Truth or is_missing()")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def is_missing(value: object) -> bool:
    """True for ``None`` and ``UNKNOWN`` (an empty multichoice answer is *not* missing)."""
    return value is None or value is UNKNOWN


class Truth(enum.Enum):
    """Result of a boolean expression under three-valued (Kleene) logic."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: object) -> Truth:
        """Map ``True``/``False``/``UNKNOWN`` (or ``None``) to a :class:`Truth`."""
        if is_missing(value):
            return cls.UNKNOWN
        if isinstance(value, bool):
            return cls.TRUE if value else cls.FALSE
        raise TypeError(f"not a boolean result: {value!r}")


class Kind(enum.StrEnum):
    """Value kinds known to the type checker."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    CODE = "code"  # one code of a codelist (a choice field)
    CODESET = "codeset"  # a set of codes (a multichoice field)
    LIST = "list"  # a literal list/tuple, only as the right side of `in`
    ANY = "any"


@dataclass(frozen=True)
class ExprType:
    """Static type of a (sub-)expression.

    Attributes
    ----------
    kind : Kind
        The value kind.
    codes : frozenset[str] or None
        Allowed codes for ``CODE``/``CODESET`` (the field's codelist).
    codelist : str or None
        Name of that codelist, for messages.
    element : Kind or None
        Element kind of a ``LIST``.
    order : tuple[str, ...] or None
        The codes from lowest to highest when the codelist is ordered (``'2+' >= '1+'``).
    """

    kind: Kind
    codes: frozenset[str] | None = None
    codelist: str | None = None
    element: Kind | None = None
    order: tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.kind in (Kind.CODE, Kind.CODESET) and self.codelist:
            return f"{self.kind} of codelist {self.codelist!r}"
        return str(self.kind)


NUMBER = ExprType(Kind.NUMBER)
BOOLEAN = ExprType(Kind.BOOLEAN)
TEXT = ExprType(Kind.TEXT)
DATE = ExprType(Kind.DATE)
DATETIME = ExprType(Kind.DATETIME)
TIME = ExprType(Kind.TIME)
ANY = ExprType(Kind.ANY)


@dataclass(frozen=True)
class NameInfo:
    """What the schema knows about one field reference.

    Attributes
    ----------
    type : ExprType
        Its static type.
    repeating : bool
        True when the field has more than one value per participant (a repeating or log form,
        or a form collected at several visits): such fields may only be referenced from their
        own form, where "the value" is the current record's.
    why : str
        Why it repeats, for messages (e.g. "collected at visits SCR, D7").
    """

    type: ExprType
    repeating: bool = False
    why: str = "belongs to a repeating form"


class Schema:
    """The names an expression may use: qualified ``"form.field"`` → :class:`NameInfo`.

    Parameters
    ----------
    names : Mapping[str, NameInfo]
        Every referable field, keyed by ``"form.field"``.
    """

    def __init__(self, names: Mapping[str, NameInfo]) -> None:
        self._names = dict(names)

    def __contains__(self, qualified: object) -> bool:
        return qualified in self._names

    def get(self, qualified: str) -> NameInfo | None:
        """The info for ``qualified`` or ``None``."""
        return self._names.get(qualified)

    def fields_of(self, form: str) -> list[str]:
        """Bare field names of ``form`` (for "did you mean" messages)."""
        prefix = f"{form}."
        return [q[len(prefix) :] for q in self._names if q.startswith(prefix)]

    def forms(self) -> set[str]:
        """Form codes that have at least one field."""
        return {q.split(".", 1)[0] for q in self._names}
