"""The public pre-screening self-check, evaluated with the protocol's own eligibility rules.

A visitor's answers fill the ``screening.*`` fields their questions name; the protocol's
criteria are evaluated on them (``Protocol.evaluate_eligibility``, three-valued) and only the
criteria the questions cover can rule a visitor out. Everything else (what the team checks in
person, such as the investigator's confirmation and the signed consent) stays unknown, which
never rules anyone out: the answer is at most "you may be eligible". Nothing here is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trialdesk.core.rules import Truth

if TYPE_CHECKING:
    from trialdesk.core.protocol.models import Criterion, SelfCheckQuestion
    from trialdesk.core.protocol.protocol import Protocol


@dataclass(frozen=True)
class SelfCheckResult:
    """``may_be_eligible`` unless a covered criterion rules the visitor out (``failing``)."""

    may_be_eligible: bool
    failing: tuple[Criterion, ...]


def questions(protocol: Protocol) -> list[SelfCheckQuestion]:
    """The self-check questions in file order (none without a ``public`` section)."""
    return list(protocol.public.self_check.values()) if protocol.public else []


def field_values(protocol: Protocol, answers: Mapping[str, object]) -> dict[str, object]:
    """``form.field`` → value for every field the answered questions fill."""
    values: dict[str, object] = {}
    for question in questions(protocol):
        if answers.get(question.code) is not None:
            for ref in question.fills:
                values[ref] = answers[question.code]
    return values


def evaluate_self_check(protocol: Protocol, answers: Mapping[str, object]) -> SelfCheckResult:
    """Evaluate ``answers`` (question code → bool or number) with the protocol's criteria."""
    covered = {code for q in questions(protocol) for code in q.criteria}
    result = protocol.evaluate_eligibility(field_values(protocol, answers))
    failing = tuple(
        protocol.eligibility[c.code]
        for c in result.criteria
        if c.code in covered and c.passes is Truth.FALSE
    )
    return SelfCheckResult(not failing, failing)
