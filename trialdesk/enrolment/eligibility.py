"""Eligibility, criterion by criterion, with the evidence each result rests on.

The protocol's own evaluator decides (``Protocol.evaluate_eligibility``, three-valued); this
module only gathers what a reviewer needs to see next to each result: the values the
expression read, the inputs of derived values it read, and the protocol's edit checks that
cross-check the same fields (e.g. an attested diagnosis against the recorded BP and
proteinuria).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from trialdesk.core.rules import Truth, is_missing

RESULT_OF = {Truth.TRUE: "eligible", Truth.FALSE: "not_eligible", Truth.UNKNOWN: "unknown"}
PASS_LABEL = {Truth.TRUE: "met", Truth.FALSE: "not met", Truth.UNKNOWN: "unknown"}
#: How a clinician reads a criterion: an inclusion criterion is met / not met; an exclusion
#: criterion's condition is absent / present ("present" excludes). Keyed by kind, then by the
#: stored ``passes`` ("met" means the criterion does not stand in the way).
READING = {
    "inclusion": {"met": "met", "not met": "not met", "unknown": "unknown"},
    "exclusion": {"met": "absent", "not met": "present", "unknown": "unknown"},
}


def reading(criterion: dict) -> str:
    """The clinical word for one stored criterion row (works on assessments stored before
    this wording existed: it reads ``kind`` and ``passes`` only)."""
    return READING[criterion["kind"]][criterion["passes"]]


@dataclass(frozen=True)
class Assessment:
    result: str
    criteria: list[dict]
    values_sha256: str

    @property
    def failing(self) -> list[str]:
        return [c["code"] for c in self.criteria if c["passes"] == "not met"]

    @property
    def undetermined(self) -> list[str]:
        return [c["code"] for c in self.criteria if c["passes"] == "unknown"]


def show(value: object) -> str:
    if is_missing(value):
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return ", ".join(sorted(map(str, value))) or "none"
    return str(value)


def relevant_names(protocol) -> frozenset[str]:
    """Every field an eligibility decision reads: the criteria's names, the inputs of derived
    values among them, and the fields of the edit checks shown next to them."""
    names: set[str] = set()
    for code in protocol.eligibility:
        direct = protocol.criterion_expression(code).names
        for row in _evidence(protocol, direct, {}):
            names.add(row["name"])
        for check in _cross_checks(protocol, direct, {}):
            names.update(row["name"] for row in check["evidence"])
    return frozenset(names)


def values_hash(protocol, values: dict[str, object]) -> str:
    """SHA-256 of the values eligibility depends on: other data may change after sign-off."""
    keep = relevant_names(protocol)
    canon = {k: show(v) for k, v in sorted(values.items()) if k in keep}
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()


def _evidence(protocol, names, values) -> list[dict]:
    rows, seen = [], set()
    for name in sorted(names):
        fld = protocol.field(name)
        rows.append({"name": name, "label": fld.label.en, "value": show(values.get(name))})
        seen.add(name)
        if fld.derived:
            form = name.split(".", 1)[0]
            for inner in sorted(protocol.compile(fld.derived, context=form).names - seen):
                seen.add(inner)
                inner_fld = protocol.field(inner)
                rows.append(
                    {
                        "name": inner,
                        "label": inner_fld.label.en,
                        "value": show(values.get(inner)),
                        "via": name,
                    }
                )
    return rows


def _cross_checks(protocol, names, values) -> list[dict]:
    """Edit checks elsewhere in the protocol that read the same fields (query/alert only)."""
    out = []
    for form in protocol.forms.values():
        for check in form.checks.values():
            expr = protocol.compile(check.expression, context=form.code)
            if not (expr.names & set(names)):
                continue
            truth = expr.truth(values)
            state = {Truth.TRUE: "consistent", Truth.FALSE: "fires", Truth.UNKNOWN: "unknown"}
            out.append(
                {
                    "check": f"{form.code}.{check.code}",
                    "severity": check.severity,
                    "state": state[truth],
                    "message": check.message.en,
                    "evidence": _evidence(protocol, expr.names - set(names), values),
                }
            )
    return out


def assess(protocol, values: dict[str, object]) -> Assessment:
    """Evaluate every criterion on ``values`` ("form.field" → canonical value)."""
    full = dict(values)
    result = protocol.evaluate_eligibility(full)
    rows = []
    for cr in result.criteria:
        criterion = protocol.eligibility[cr.code]
        names = protocol.criterion_expression(cr.code).names
        rows.append(
            {
                "code": cr.code,
                "kind": cr.kind,
                "label": criterion.label.en,
                "expression": criterion.expression,
                "truth": cr.truth.value,
                "passes": PASS_LABEL[cr.passes],
                "reads": READING[cr.kind][PASS_LABEL[cr.passes]],
                "evidence": _evidence(protocol, names, full),
                "cross_checks": _cross_checks(protocol, names, full),
            }
        )
    return Assessment(RESULT_OF[result.eligible], rows, values_hash(protocol, full))
