"""The one number syntax a person may type (eCRF values, volumes, counts, seeds).

    [+|-] ASCII digits [ . or , ASCII digits ]

- digits are the ASCII 0-9 only: full-width (１２０), Arabic-Indic (١٢٠), Devanagari and every
  other Unicode digit are refused, although Python's ``float``/``int`` and the regex ``\\d``
  accept them — a value someone cannot read back on the screen is not a value to store;
- at most one decimal separator, either a point or a comma: Indonesian site staff write
  ``36,8`` (Bahasa Indonesia uses the decimal comma), and since digit grouping is never accepted
  ``36,8`` has exactly one meaning;
- no digit grouping (``1.000``, ``1 000``, ``1_000``), no exponent (``1e3``), no hexadecimal
  (``0x78``), no ``inf``/``nan``, no inner spaces; surrounding spaces are ignored.

Pure Python (no Django): used by the eCRF engine and by every view that reads a number.
"""

from __future__ import annotations

import re

SYNTAX = "digits 0-9, an optional sign and at most one decimal point or comma (e.g. 120, -3, 36.8 or 36,8)"
INTEGER_SYNTAX = "digits 0-9 with an optional sign (e.g. 120)"
MAX_CHARS = 40  # far above any real measurement; keeps float() away from megabyte strings
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


class NumberSyntaxError(ValueError):
    """The text is not a number in the documented syntax; the message says what is allowed."""


def parse_number_text(text: str, *, name: str = "value") -> float:
    """`text` → float, or NumberSyntaxError naming `name`, the text and the syntax."""
    t = str(text).strip()
    if len(t) > MAX_CHARS or not _NUMBER.fullmatch(t):
        raise NumberSyntaxError(f"{name} = '{_shown(t)}' is not a number: use {SYNTAX}")
    return float(t.replace(",", "."))


def parse_integer_text(
    text: str, *, name: str = "value", minimum: int | None = None, maximum: int | None = None
) -> int:
    """`text` → int within [minimum, maximum], or NumberSyntaxError naming the range."""
    t = str(text).strip()
    if len(t) > MAX_CHARS or not _INTEGER.fullmatch(t):
        raise NumberSyntaxError(
            f"{name} = '{_shown(t)}' is not a whole number: use {INTEGER_SYNTAX}"
            + _range_hint(minimum, maximum)
        )
    value = int(t)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise NumberSyntaxError(
            f"{name} = {value} is outside the allowed range{_range_hint(minimum, maximum)}"
        )
    return value


def decimal_places(text: str) -> int:
    """Digits after the separator (trailing zeros ignored) of an already accepted number."""
    t = str(text).strip().replace(",", ".")
    return len(t.split(".", 1)[1].rstrip("0")) if "." in t else 0


def looks_grouped(text: str) -> bool:
    """'10.500' / '10,500': one separator followed by exactly three digits — what a person who
    groups thousands would type. Callers refuse it where a whole count is expected."""
    return re.fullmatch(r"[+-]?[0-9]{1,3}[.,][0-9]{3}", str(text).strip(), re.ASCII) is not None


def _range_hint(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" ({minimum} to {maximum})"
    if minimum is not None:
        return f" (at least {minimum})"
    if maximum is not None:
        return f" (at most {maximum})"
    return ""


def _shown(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + "…"
