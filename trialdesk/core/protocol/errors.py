"""Located protocol problems and the error that carries them."""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    """One thing wrong with a protocol file.

    Attributes
    ----------
    path : str
        Dotted YAML path, e.g. ``forms.hematology.fields.hgb.unit`` (empty for the file).
    line : int or None
        1-based line in the file, when known.
    message : str
        What is wrong and what is allowed.
    """

    path: str
    line: int | None
    message: str

    def format(self, source: str) -> str:
        """``source:line: path: message``."""
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProtocolError(ValueError):
    """A protocol file could not be loaded.

    Attributes
    ----------
    problems : list[Problem]
        Every problem found, in file order; each is a ``(path, line, message)`` tuple.
    source : str
        The file name (or ``"<text>"``).
    """

    def __init__(self, problems: list[Problem], source: str = "<text>") -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.path))
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        head = f"{self.source}: {count} problem{'s' if count != 1 else ''} in the protocol"
        return "\n".join([head, *(p.format(self.source) for p in self.problems)])

    def __str__(self) -> str:
        return self._render()
