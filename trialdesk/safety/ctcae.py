"""CTCAE v5.0 terms shipped with trialdesk (``data/ctcae_v5.json``).

Source: NCI Common Terminology Criteria for Adverse Events (CTCAE) version 5.0, US National
Cancer Institute, a public-domain US government publication; the machine-readable rows are the
NCI CTCAE tables (terms relevant to the deployment's studies: haematology, chemistry,
hypertension, infusion reactions, fever, oedema …, with MedDRA LLT codes where known). The file
is the package's own copy: nothing outside the package is read at run time.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "ctcae_v5.json"


@cache
def terms() -> dict[str, dict]:
    """Term (as CTCAE spells it) → {term, soc, meddra_code, definition, grades {"1".."5"}}."""
    rows = json.loads(DATA.read_text(encoding="utf-8"))["terms"]
    return {row["term"]: row for row in rows}


@cache
def _by_fold() -> dict[str, str]:
    return {name.casefold(): name for name in terms()}


def lookup(text: str) -> dict | None:
    """The CTCAE term ``text`` names (case-insensitive), or None."""
    name = _by_fold().get((text or "").strip().casefold())
    return terms()[name] if name else None


def refusal(field: str, text: str) -> str:
    """Why ``text`` is not accepted as field ``field``: the value, the closest terms, all terms."""
    names = list(terms())
    close = difflib.get_close_matches(text.strip(), names, n=3, cutoff=0.5)
    hint = f" (closest: {', '.join(close)})" if close else ""
    return (
        f"{field} = '{text.strip()}' is not a CTCAE v5.0 term{hint}; allowed: one of the "
        f"{len(names)} CTCAE v5.0 terms: {', '.join(names)}"
    )


#: CTCAE terms that record a reaction at dosing as an AE: an AE coded with one of them is linked
#: to the participant's dosing reaction (``AdverseEvent.dosing_reaction``).
INFUSION_TERMS = frozenset(
    {
        "Infusion related reaction",
        "Allergic reaction",
        "Anaphylaxis",
        "Cytokine release syndrome",
        "Injection site reaction",
        "Infusion site extravasation",
    }
)


def grade_number(code: str) -> int:
    """The CTCAE grade of a grade code ("G3" or "3" → 3); 0 when not graded."""
    digits = "".join(ch for ch in str(code or "") if ch.isdigit())
    return int(digits) if digits else 0
