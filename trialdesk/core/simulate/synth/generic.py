"""Protocol-driven demo data: what a site would type into any study's eCRF.

The dedicated generator of this package (``forms``, ``cohort``, ``generator``) knows one
study's clinical story. This module knows none: it reads a :class:`Protocol` and produces, for
one participant and one visit/form, ``{field_code: raw text}`` in the syntax the eCRF accepts
(numbers in :mod:`trialdesk.core.numbers` syntax with the field's decimals and canonical unit,
ISO dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DD HH:MM``, times ``HH:MM``, booleans
``yes``/``no``, choices by code, multichoice as the page posts it: ``["", code, ...]``, or ``["", "_none"]`` for "None of these").

How values are chosen (all from the protocol):

- numbers: a normal around the middle of the soft limits (else of the hard limits), spread so
  that about 97 % fall inside the soft limits, always clipped to the hard limits; each value
  is ``0.55 × participant latent of the field (of its analyte, if named: shared across
  forms) + 0.3 × participant latent shared by all fields + noise``, so repeated measures of
  one person correlate and summaries look like a trial. With ``arm`` given, the primary
  endpoint's field (``sample_size.endpoint``) moves by the planned standardized effect
  (times the field's SD) after day 0 in ``experimental`` arms;
- eligibility: a participant is meant to be eligible with probability ``eligible_rate``; for
  them, values of fields named by the criteria stay inside what the criteria accept (the
  accepted numeric range is found by evaluating each criterion over a grid; excluding
  booleans and codes are avoided), birth dates follow the protocol's population ages, and an
  attempt whose criteria evaluate to "not eligible" is redrawn;
- edit checks: a form is redrawn (up to ``attempts`` times) while a ``hard`` check fails; an
  attempt where a ``query``/``alert`` check fires is kept with probability
  ``check_tolerance``, so a demo study has some queries and alerts, not one per form;
- dates: the form's first date/datetime field is the visit date (a datetime gets a clock time
  08:00-15:59); later datetimes on the form follow it by 5-60 minutes, on the same day; later
  date fields are 0-14 days before the visit; a birth date (``identifier`` date, or ``birth``
  in its code) gives an age within the population's ages. Planned visit dates fall inside each
  visit's window (:meth:`SynthParticipant.visit_date`);
- branching: ``show_if`` is evaluated with the protocol's rule language on the whole form (two
  passes, as the eCRF does) and hidden fields are left out; required and ``required_if``-true
  fields are always filled, optional ones with probability ``optional_fill``;
- left out: derived fields, ``entry: system`` fields, fields that tell the arm
  (:func:`trialdesk.core.protocol.checks.product_field`: ``unblinding: true`` or a product/lot
  name), and fields reserved by ``entered_by`` to a role not in ``roles``.

Public API
----------
schedule_until(protocol, study_day) -> list[(visit_code, form_code)]
GenericSynth(protocol, seed, ...).participant(key, anchor=..., arm=..., site=...) -> SynthParticipant
SynthParticipant.form(visit_code, form_code, ...) -> dict[str, str | list[str]]
SynthParticipant.due(until) -> list[(visit_code, form_code, date)]; .visit_date(code); .values
reserved_fields(form) -> {field: role}; entry_fields(protocol, form) -> [FormField]

Limits: clinical plausibility is only as good as the limits in the protocol (a field with hard
limits only is centred between them); text fields get neutral demo text; values are in the
canonical unit only; a participant's cross-form values (``values``) accumulate in the order
forms are generated, so the same calls in the same order give the same data (generate in
schedule order); log forms (adverse events, medication) are generated only when asked for;
nothing here decides allocation, visits missed or dropout.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from trialdesk.core.protocol import FieldType, Form, FormField, Protocol
from trialdesk.core.protocol.checks import product_field
from trialdesk.core.protocol.models import NONE_OF_THESE
from trialdesk.core.rules import Expression, Truth, is_missing

RawValue = str | list[str]

Z_SOFT = 2.2  # soft limits at ±2.2 SD: about 97 % inside before clipping
_W_FIELD, _W_SHARED = 0.55, 0.3
_W_NOISE = math.sqrt(1 - _W_FIELD**2 - _W_SHARED**2)
_GRID = 401


# ------------------------------------------------------------------------------- schedule
def schedule_until(protocol: Protocol, study_day: int) -> list[tuple[str, str]]:
    """(visit code, form code) of the scheduled visits whose nominal day is ``<= study_day``.

    Day 0 is the dosing (anchor) day; screening visits have negative days. Visits are in day
    order (file order for equal days), forms in the visit's order. Unscheduled visits (no
    day) and log forms (not attached to visits) are never listed.
    """
    visits = [v for v in protocol.visits.values() if v.scheduled and v.day is not None]
    visits = sorted(visits, key=lambda v: v.day if v.day is not None else 0)
    return [
        (v.code, f) for v in visits if v.day is not None and v.day <= study_day for f in v.forms
    ]


def reserved_fields(form: Form) -> dict[str, str]:
    """Fields that only one role may enter (``entered_by``): code → role."""
    return {f.code: f.entered_by for f in form.fields.values() if f.entered_by}


def entry_fields(protocol: Protocol, form: Form) -> list[FormField]:
    """Fields of the participant's story: those a site types (not derived, not ``entry:
    system``, not telling the arm) and those an action's record fills (``source``: the dose's
    times and volumes, the consent time), which a loader hands to the action, not the form."""
    return [
        f
        for f in form.fields.values()
        if not f.derived
        and (f.entry == "site" or f.source is not None)
        and not product_field(protocol, f)
    ]


# ------------------------------------------------------------------------------- helpers
def _key(*parts: object) -> list[int]:
    return [zlib.crc32(str(p).encode()) for p in parts]


def _rng(seed: int, *parts: object) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=_key(*parts)))
    )


@dataclass(frozen=True)
class _Shape:
    """A numeric field's distribution (canonical unit) and how it is typed."""

    center: float
    sd: float
    lo: float  # hard limits (or ±inf)
    hi: float
    decimals: int


def _shape(fld: FormField, hint: tuple[float, float] | None) -> _Shape:
    hmin = -math.inf if fld.hard_min is None else fld.hard_min
    hmax = math.inf if fld.hard_max is None else fld.hard_max
    smin, smax = fld.soft_min, fld.soft_max
    lo = smin if smin is not None else fld.hard_min
    hi = smax if smax is not None else fld.hard_max
    if hint is not None:
        center, sd = hint
    elif lo is not None and hi is not None and hi > lo:
        center = (lo + hi) / 2
        soft_both = smin is not None and smax is not None
        sd = (
            (hi - lo) / (2 * Z_SOFT)
            if (soft_both or smin is not None or smax is not None)
            else (hi - lo) / 8
        )
    elif lo is not None:
        width = max(abs(lo), 10.0)
        center, sd = lo + width, width / (2 * Z_SOFT)
    elif hi is not None:
        width = max(abs(hi), 10.0)
        center, sd = hi - width / 2, width / (2 * Z_SOFT)
    else:
        center, sd = 10.0, 3.0
    sd = max(sd, 1e-9)
    if fld.type is FieldType.INTEGER:
        decimals = 0
    elif fld.decimals is not None:
        decimals = fld.decimals
    else:
        decimals = int(min(3, max(0, math.ceil(-math.log10(sd)) + 1)))
    return _Shape(center, sd, hmin, hmax, decimals)


def _typed(x: float, shape: _Shape) -> float:
    """``x`` rounded to what is typed, inside the hard limits."""
    step = 10.0**-shape.decimals
    x = min(max(x, shape.lo), shape.hi)
    x = round(x, shape.decimals)
    if x > shape.hi:
        x = math.floor(shape.hi / step) * step
    if x < shape.lo:
        x = math.ceil(shape.lo / step) * step
    return round(x, shape.decimals)


def _number_text(x: float, decimals: int) -> str:
    return str(int(round(x))) if decimals == 0 else f"{x:.{decimals}f}"


@dataclass(frozen=True)
class _Guide:
    """What the eligibility criteria accept for one entered field."""

    interval: tuple[float, float] | None = None  # numeric: accepted range
    excluded: frozenset[object] = frozenset()  # booleans / codes that exclude


def _criteria_guides(protocol: Protocol) -> dict[str, _Guide]:
    """Per entered field named by a criterion, the values that would exclude on their own."""
    guides: dict[str, _Guide] = {}
    for code in protocol.eligibility:
        crit = protocol.eligibility[code]
        expr = protocol.criterion_expression(code)
        for ref in expr.names:
            form_code, _, fcode = ref.partition(".")
            fld = protocol.forms[form_code].fields.get(fcode)
            if fld is None or fld.derived:
                continue

            fails = functools.partial(_fails_alone, crit.kind, expr, ref)
            old = guides.get(ref, _Guide())
            if fld.type is FieldType.BOOLEAN:
                answers: frozenset[object] = frozenset(v for v in (True, False) if fails(v))
                guides[ref] = _Guide(old.interval, old.excluded | answers)
            elif fld.type is FieldType.CHOICE and fld.codelist:
                items = protocol.codelist(fld.codelist).items
                codes: frozenset[object] = frozenset(c for c in items if fails(c))
                guides[ref] = _Guide(old.interval, old.excluded | codes)
            elif fld.is_numeric:
                shape = _shape(fld, None)
                a = shape.lo if math.isfinite(shape.lo) else shape.center - 10 * shape.sd
                b = shape.hi if math.isfinite(shape.hi) else shape.center + 10 * shape.sd
                ok = [x for x in np.linspace(a, b, _GRID) if not fails(float(x))]
                if ok and len(ok) < _GRID:
                    lo, hi = min(ok), max(ok)
                    if old.interval:
                        lo, hi = max(lo, old.interval[0]), min(hi, old.interval[1])
                    guides[ref] = _Guide((float(lo), float(hi)), old.excluded)
    return guides


def _fails_alone(kind: str, expr: Expression, ref: str, value: object) -> bool:
    """Whether ``ref = value`` alone makes a criterion keep the participant out."""
    return _excludes(kind, expr.truth({ref: value}))


def _excludes(kind: str, truth: Truth) -> bool:
    """Whether a criterion of ``kind`` with value ``truth`` keeps the participant out."""
    return truth is (Truth.TRUE if kind == "exclusion" else Truth.FALSE)


# ------------------------------------------------------------------------------- generator
class GenericSynth:
    """Demo data for any protocol. ``seed`` fixes everything (see the module docstring).

    Parameters
    ----------
    protocol : Protocol
        The loaded study.
    seed : int
        Seed of every random stream (participants, forms, latents).
    eligible_rate : float
        Probability that a participant is meant to pass the eligibility criteria.
    optional_fill : float
        Probability that an optional (not required) visible field is filled.
    check_tolerance : float
        Probability that a drawn form on which a query/alert edit check fires is kept
        (otherwise it is redrawn, up to ``attempts`` times).
    attempts : int
        Draws of one form before the one with the fewest failed checks is returned.
    hints : Mapping[str, tuple[float, float]]
        Optional (mean, SD) in the canonical unit for numeric fields, keyed ``"form.field"``
        or by analyte (``"hemoglobin"``): a study's demo may sharpen what the limits suggest.
    """

    def __init__(
        self,
        protocol: Protocol,
        seed: int,
        *,
        eligible_rate: float = 0.85,
        optional_fill: float = 0.85,
        check_tolerance: float = 0.1,
        attempts: int = 25,
        hints: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        for name, value in (
            ("eligible_rate", eligible_rate),
            ("optional_fill", optional_fill),
            ("check_tolerance", check_tolerance),
        ):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} = {value}: must be a probability in [0, 1]")
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.protocol = protocol
        self.seed = int(seed)
        self.eligible_rate = eligible_rate
        self.optional_fill = optional_fill
        self.check_tolerance = check_tolerance
        self.attempts = attempts
        self.hints = dict(hints or {})
        self.guides = _criteria_guides(protocol)
        self._entry = {code: entry_fields(protocol, form) for code, form in protocol.forms.items()}
        self._shapes: dict[str, _Shape] = {}
        self._mixes: dict[str, np.ndarray] = {}
        self._once = {code for code in protocol.forms if protocol.collected_once(code)}
        self._criteria_of: dict[str, list[str]] = {}
        for code in protocol.eligibility:
            for ref in protocol.criterion_expression(code).names:
                self._criteria_of.setdefault(ref.partition(".")[0], []).append(code)
        self.endpoint_field, self.effect = self._planned_effect()

    def _planned_effect(self) -> tuple[str | None, float]:
        size = self.protocol.sample_size
        endpoint = self.protocol.endpoints.get(size.endpoint)
        ref = endpoint.field if endpoint else None
        d = size.effect.standardized or 0.0
        if ref is None or "." not in ref:
            return None, 0.0
        form_code, _, fcode = ref.partition(".")
        if all(f.code != fcode for f in self._entry.get(form_code, [])):
            return None, 0.0  # derived endpoint: nothing to shift directly
        return ref, d

    def mix(self, fld: FormField, codelist: str) -> np.ndarray:
        """A fixed, uneven weight per code of an unordered codelist (per seed and field)."""
        key = f"{fld.code}:{codelist}"
        if key not in self._mixes:
            size = len(self.protocol.codelist(codelist).items)
            self._mixes[key] = _rng(self.seed, "mix", key).dirichlet(np.full(size, 2.0))
        return self._mixes[key]

    def shape(self, form_code: str, fld: FormField) -> _Shape:
        ref = f"{form_code}.{fld.code}"
        if ref not in self._shapes:
            hint = self.hints.get(ref) or (self.hints.get(fld.analyte) if fld.analyte else None)
            self._shapes[ref] = _shape(fld, hint)
        return self._shapes[ref]

    def participant(
        self,
        key: str,
        *,
        anchor: dt.date,
        arm: str | None = None,
        site: str | None = None,
        visit_dates: Mapping[str, dt.date] | None = None,
    ) -> SynthParticipant:
        """One participant: ``key`` (any stable text, e.g. a study ID or an index) seeds their
        streams; ``anchor`` is day 0 (dosing); ``arm`` (unblinded, optional) moves the primary
        endpoint; ``site`` fills site-mirroring codes; ``visit_dates`` overrides planned
        dates (visit code → actual date)."""
        if arm is not None:
            self.protocol.arm(arm)
        rng = _rng(self.seed, "participant", key)
        eligible = bool(rng.random() < self.eligible_rate)
        shared = float(rng.standard_normal())
        planned: dict[str, dt.date] = {}
        for visit in self.protocol.visits.values():
            if visit.day is None:
                continue
            before, after = visit.window_before, visit.window_after
            offset = int(np.clip(round(rng.normal(0, max(before + after, 1) / 4)), -before, after))
            planned[visit.code] = anchor + dt.timedelta(days=visit.day + offset)
        planned.update(visit_dates or {})
        return SynthParticipant(self, str(key), anchor, arm, site, eligible, shared, planned)


@dataclass
class SynthParticipant:
    """A participant's streams, planned visit dates and the values generated so far."""

    synth: GenericSynth
    key: str
    anchor: dt.date
    arm: str | None
    site: str | None
    meant_eligible: bool
    shared_latent: float
    visit_dates: dict[str, dt.date]
    #: Python values of the once-collected forms generated so far (and their derived
    #: fields), keyed ``"form.field"``: the context of cross-form rules (eligibility too).
    values: dict[str, object] = field(default_factory=dict)
    _latents: dict[str, float] = field(default_factory=dict, repr=False)

    # -- schedule -----------------------------------------------------------------------
    def visit_date(self, visit_code: str) -> dt.date:
        """The planned (or given) date of a scheduled visit; the anchor for an unscheduled one."""
        self.synth.protocol.visit(visit_code)
        return self.visit_dates.get(visit_code, self.anchor)

    def due(self, until: dt.date) -> list[tuple[str, str, dt.date]]:
        """(visit, form, visit date) of the scheduled visits planned on or before ``until``,
        in schedule order."""
        out = []
        for visit_code, form_code in schedule_until(self.synth.protocol, 10**6):
            when = self.visit_dates[visit_code]
            if when <= until:
                out.append((visit_code, form_code, when))
        return out

    # -- one form -----------------------------------------------------------------------
    def form(
        self,
        visit_code: str,
        form_code: str,
        *,
        visit_date: dt.date | None = None,
        repeat: int = 1,
        roles: Collection[str] = (),
        sourced: bool = False,
    ) -> dict[str, RawValue]:
        """What a site types on ``form_code`` at ``visit_code``: field code → raw text
        (multichoice: ``["", code, ...]`` or ``["", NONE_OF_THESE]``). Empty and hidden fields are absent; fields
        reserved (``entered_by``) to a role not in ``roles`` are absent. With ``sourced``, also
        the items an action's record fills (``source``: the dose's times, the consent time),
        which a loader hands to that action; they are drawn either way, so the form's checks
        see them."""
        synth, protocol = self.synth, self.synth.protocol
        form = protocol.form(form_code)
        visit = protocol.visit(visit_code)
        when = visit_date or self.visit_date(visit_code)
        rng = _rng(synth.seed, "form", self.key, visit_code, form_code, repeat)
        best: tuple[tuple[int, int], dict[str, RawValue], dict[str, object]] | None = None
        for _ in range(synth.attempts):
            raw, py = self._draw(form, visit.day, when, rng, roles)
            score, values = self._score(form, py)
            if best is None or score < best[0]:
                best = (score, raw, values)
            if score[0] == 0 and (score[1] == 0 or rng.random() < synth.check_tolerance):
                break
        assert best is not None
        _, raw, values = best
        if form_code in synth._once:
            self.values.update(values)
        if not sourced:
            raw = {k: v for k, v in raw.items() if form.fields[k].source is None}
        return raw

    def _draw(
        self,
        form: Form,
        day: int | None,
        when: dt.date,
        rng: np.random.Generator,
        roles: Collection[str],
    ) -> tuple[dict[str, RawValue], dict[str, object]]:
        synth = self.synth
        guided = self.meant_eligible
        raw: dict[str, RawValue] = {}
        py: dict[str, object] = {}
        clock: dt.datetime | None = None
        first_date = True
        for fld in synth._entry[form.code]:
            ref = f"{form.code}.{fld.code}"
            guide = synth.guides.get(ref) if guided else None
            kind = fld.type
            if kind in (FieldType.INTEGER, FieldType.DECIMAL):
                shape = synth.shape(form.code, fld)
                if guide is not None and guide.interval is not None:
                    a, b = guide.interval
                    center, sd = (a + b) / 2, max((b - a) / (2 * Z_SOFT), 1e-9)
                    x = min(max(center + sd * rng.standard_normal(), a), b)
                else:
                    z = (
                        _W_FIELD * self._latent(fld.analyte or ref)
                        + _W_SHARED * self.shared_latent
                        + _W_NOISE * rng.standard_normal()
                    )
                    x = shape.center + shape.sd * z
                    if ref == synth.endpoint_field and self._treated(day):
                        x += synth.effect * shape.sd
                x = _typed(x, shape)
                raw[fld.code] = _number_text(x, shape.decimals)
                py[fld.code] = int(round(x)) if kind is FieldType.INTEGER else x
            elif kind is FieldType.BOOLEAN:
                options = [v for v in (True, False) if not guide or v not in guide.excluded]
                value = bool(rng.random() < 0.2) if len(options) == 2 else options[0]
                raw[fld.code] = "yes" if value else "no"
                py[fld.code] = value
            elif kind is FieldType.CHOICE:
                code = self._code(fld, rng, when, guide)
                raw[fld.code] = code
                py[fld.code] = code
            elif kind is FieldType.MULTICHOICE:
                items = list(synth.protocol.codelist(fld.codelist).items) if fld.codelist else []
                ticked = [c for c in items if rng.random() < 0.3 / len(items)]
                raw[fld.code] = ["", *ticked] if ticked else ["", NONE_OF_THESE]
                py[fld.code] = frozenset(ticked)
            elif kind is FieldType.TEXT:
                raw[fld.code] = py[fld.code] = self._text(fld, rng)
            elif kind is FieldType.DATE:
                day_value = self._date(fld, when, rng, first_date, guided)
                first_date = False
                raw[fld.code] = day_value.isoformat()
                py[fld.code] = day_value
            elif kind is FieldType.DATETIME:
                if clock is None:
                    minute = int(rng.integers(8 * 60, 16 * 60))
                    clock = dt.datetime.combine(when, dt.time(minute // 60, minute % 60))
                else:
                    later = clock + dt.timedelta(minutes=int(rng.integers(5, 61)))
                    end_of_day = dt.datetime.combine(clock.date(), dt.time(23, 59))
                    clock = min(later, end_of_day)
                first_date = False
                raw[fld.code] = clock.strftime("%Y-%m-%d %H:%M")
                py[fld.code] = clock
            elif kind is FieldType.TIME:
                minute = int(rng.integers(8 * 60, 18 * 60))
                at = dt.time(minute // 60, minute % 60)
                raw[fld.code] = at.strftime("%H:%M")
                py[fld.code] = at
        self._prune(form, raw, py, rng, roles)
        return raw, py

    def _prune(
        self,
        form: Form,
        raw: dict[str, RawValue],
        py: dict[str, object],
        rng: np.random.Generator,
        roles: Collection[str],
    ) -> None:
        """Drop hidden fields (show_if false), some optional ones, and other roles' fields."""
        protocol = self.synth.protocol
        values = self._context(form.code, py)
        for _ in range(2):  # as the eCRF: a hidden field may hide others
            for fld in form.fields.values():
                if fld.show_if and self._truth(fld.show_if, form.code, values) is Truth.FALSE:
                    raw.pop(fld.code, None)
                    py.pop(fld.code, None)
                    values.pop(f"{form.code}.{fld.code}", None)
        for fld in self.synth._entry[form.code]:
            if fld.code not in raw:
                continue
            if fld.entered_by and fld.entered_by not in roles:
                raw.pop(fld.code)
                py.pop(fld.code)
                continue
            needed = fld.required or (
                fld.required_if is not None
                and protocol.compile(fld.required_if, context=form.code).truth(values)
                is not Truth.FALSE
            )
            if not needed and rng.random() >= self.synth.optional_fill:
                raw.pop(fld.code)
                py.pop(fld.code)

    def _score(
        self, form: Form, py: dict[str, object]
    ) -> tuple[tuple[int, int], dict[str, object]]:
        """(hard failures, other failures) of a drawn form, and its values with derivations."""
        protocol, synth = self.synth.protocol, self.synth
        values = self._context(form.code, py)
        hard = soft = 0
        for code, value in protocol.derive(form.code, values).items():
            values[f"{form.code}.{code}"] = value
            fld = form.fields[code]
            if isinstance(value, int | float) and not isinstance(value, bool):
                if (fld.hard_min is not None and value < fld.hard_min) or (
                    fld.hard_max is not None and value > fld.hard_max
                ):
                    hard += 1
                elif (fld.soft_min is not None and value < fld.soft_min) or (
                    fld.soft_max is not None and value > fld.soft_max
                ):
                    soft += 1
        for check in form.checks.values():
            if self._truth(check.expression, form.code, values) is Truth.FALSE:
                if check.severity == "hard":
                    hard += 1
                else:
                    soft += 1
        if form.code in synth._once:
            for other in synth._once:  # cross-form derivations (e.g. age from two forms)
                if other != form.code and any(
                    f.derived for f in protocol.forms[other].fields.values()
                ):
                    for code, value in protocol.derive(other, values).items():
                        values[f"{other}.{code}"] = value
        if self.meant_eligible:
            for code in synth._criteria_of.get(form.code, []):
                truth = protocol.criterion_expression(code).truth(values)
                hard += _excludes(protocol.eligibility[code].kind, truth)
        own = {k: v for k, v in values.items() if not is_missing(v)}
        return (hard, soft), own

    # -- pieces -------------------------------------------------------------------------
    def _context(self, form_code: str, py: Mapping[str, object]) -> dict[str, object]:
        values = {k: v for k, v in self.values.items() if not k.startswith(f"{form_code}.")}
        values.update({f"{form_code}.{k}": v for k, v in py.items()})
        return values

    def _truth(self, text: str, form_code: str, values: Mapping[str, object]) -> Truth:
        return self.synth.protocol.compile(text, context=form_code).truth(values)

    def _latent(self, ref: str) -> float:
        if ref not in self._latents:
            self._latents[ref] = float(
                _rng(self.synth.seed, "latent", self.key, ref).standard_normal()
            )
        return self._latents[ref]

    def _treated(self, day: int | None) -> bool:
        if self.arm is None or day is None or day <= 0:
            return False
        return self.synth.protocol.arm(self.arm).type == "experimental"

    def _code(
        self, fld: FormField, rng: np.random.Generator, when: dt.date, guide: _Guide | None
    ) -> str:
        protocol = self.synth.protocol
        codelist = protocol.codelist(fld.codelist or "")
        items = [c for c in codelist.items if not guide or c not in guide.excluded]
        items = items or list(codelist.items)
        if codelist.mirrors == "consent_versions":
            version = protocol.consent_version_on(when)
            if version is not None and version.code in items:
                return version.code
        if codelist.mirrors == "sites" and self.site in items:
            return str(self.site)
        if codelist.mirrors == "routes" and self.arm is not None:
            routes = [r for r in protocol.arm(self.arm).routes if r in items]
            if routes:
                return routes[0]
        if codelist.ordered:
            weights = 0.5 ** np.arange(len(items))
        else:  # a fixed, uneven mix per study seed and field
            weights = self.synth.mix(fld, codelist.code)[
                [list(codelist.items).index(c) for c in items]
            ]
        return items[int(rng.choice(len(items), p=weights / weights.sum()))]

    def _text(self, fld: FormField, rng: np.random.Generator) -> str:
        limit = fld.max_length or 200
        if limit <= 40:  # an identifier: initials and digits (kit, sample, run, plate)
            initials = "".join(part[0] for part in fld.code.split("_") if part).upper()
            return f"{initials}-{int(rng.integers(10000, 100000))}"[:limit]
        return f"Demo {fld.label.en.lower()} {int(rng.integers(1, 100))}"[:limit]

    def _date(
        self, fld: FormField, when: dt.date, rng: np.random.Generator, first: bool, guided: bool
    ) -> dt.date:
        if fld.identifier or "birth" in fld.code:
            population = self.synth.protocol.study.population
            lo, hi = population.min_age, max(population.min_age, population.max_age)
            if not guided:
                lo, hi = max(lo - 3, 0), hi + 3
            years = float(rng.uniform(lo + 0.01, hi + 0.99))
            return when - dt.timedelta(days=int(years * 365.25))
        if first:
            return when
        return when - dt.timedelta(days=int(rng.integers(0, 15)))
