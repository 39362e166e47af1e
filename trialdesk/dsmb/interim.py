"""The interim analysis of the primary endpoint: is it due, and the run from the stored data.

What counts (stated once):

* the primary endpoint is the protocol's ``sample_size.endpoint`` (NCT07183384: ``mir126_d7``,
  field ``mirna.log2_fold_change``); its value is taken at the endpoint's last visit (``D7``)
  from the stored eCRF value (entered or derived, numeric, not cleared);
* a participant *has the endpoint* when that value exists and she is allocated to one of the
  two compared arms (treatment: the protocol's experimental arm; control: its placebo, active
  comparator or no-intervention arm);
* the planned total N is ``sample_size.n_per_arm`` x the number of arms (NCT07183384: 40 x 2
  = 80, as enrolled; the protocol's note "50 % ... (20 per arm)" reads the same N), and the
  interim is due when the count reaches ceil(first information fraction x N) (40 of 80);
* the observed information fraction is n with the endpoint / N.

Blinded roles may read ``due_state`` (pooled counts only); ``endpoint_values`` and
``compute`` are by arm and belong to the unblinded statistician and the DSMB.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

from trialdesk.core.analysis import InterimComputation, compute_interim, monitoring_design
from trialdesk.crfs.models import ItemValue
from trialdesk.randomization.models import Allocation
from trialdesk.studies.registry import active_version, get_protocol

CONTROL_TYPES = ("placebo_comparator", "active_comparator", "no_intervention")


class InterimUnavailable(ValueError):
    """The protocol or the data do not allow the interim analysis; the message says why."""


@dataclass(frozen=True)
class InterimPlan:
    endpoint: str
    label: str
    form: str
    item: str
    visit: str
    treatment_arm: str
    control_arm: str
    n_planned_max: int
    first_fraction: float
    due_at: int
    planned_effect: float


def plan(study) -> InterimPlan:
    """The protocol's interim, or InterimUnavailable naming what is missing."""
    protocol = get_protocol(study)
    if protocol.interim is None or len(protocol.interim.information_fractions) < 2:
        raise InterimUnavailable("the protocol plans no interim analysis")
    ss = protocol.sample_size
    if ss is None:
        raise InterimUnavailable("the protocol has no sample_size section")
    endpoint = protocol.endpoints.get(ss.endpoint)
    if endpoint is None or not endpoint.field or not endpoint.visits:
        raise InterimUnavailable(f"the primary endpoint {ss.endpoint!r} names no field or visit")
    treatment = [c for c, a in protocol.arms.items() if a.type == "experimental"]
    control = [c for c, a in protocol.arms.items() if a.type in CONTROL_TYPES]
    if len(protocol.arms) != 2 or len(treatment) != 1 or len(control) != 1:
        raise InterimUnavailable(
            "the interim compares two arms: one experimental and one control arm"
        )
    form, item = endpoint.field.split(".", 1)
    n_max = ss.n_per_arm * len(protocol.arms)
    first = float(protocol.interim.information_fractions[0])
    effect = ss.effect
    d = (
        float(effect.standardized)
        if effect.standardized is not None
        else float(effect.mean_difference) / float(effect.sd)
    )
    return InterimPlan(
        endpoint=endpoint.code,
        label=endpoint.measure,
        form=form,
        item=item,
        visit=endpoint.visits[-1],
        treatment_arm=treatment[0],
        control_arm=control[0],
        n_planned_max=n_max,
        first_fraction=first,
        due_at=math.ceil(first * n_max - 1e-9),
        planned_effect=d,
    )


def endpoint_values(study, p: InterimPlan | None = None) -> dict[str, list[tuple[int, float]]]:
    """arm -> [(participant id, value)] of the compared arms (unblinded eyes only)."""
    study_code = getattr(study, "pk", study)
    p = p or plan(study_code)
    rows = (
        ItemValue.objects.filter(
            participant__study=study_code,
            form__form_code=p.form,
            form__visit__code=p.visit,
            item=p.item,
            status__in=[ItemValue.Status.ENTERED, ItemValue.Status.DERIVED],
            num_value__isnull=False,
        )
        .order_by("participant_id", "form__repeat", "pk")
        .values_list("participant_id", "num_value")
    )
    value: dict[int, float] = {}
    for pid, num in rows:
        value.setdefault(pid, float(num))
    arm_of = dict(
        Allocation.objects.filter(participant__study=study_code).values_list(
            "participant_id", "arm"
        )
    )
    out: dict[str, list[tuple[int, float]]] = {p.treatment_arm: [], p.control_arm: []}
    for pid, num in sorted(value.items()):
        arm = arm_of.get(pid)
        if arm in out:
            out[arm].append((pid, num))
    return out


@dataclass(frozen=True)
class DueState:
    n_with_endpoint: int
    due_at: int
    n_planned_max: int
    due: bool
    label: str
    visit: str


def due_state(study) -> DueState:
    """Pooled counts only: safe for every role."""
    p = plan(study)
    n = sum(len(v) for v in endpoint_values(study, p).values())
    return DueState(n, p.due_at, p.n_planned_max, n >= p.due_at, p.label, p.visit)


def compute(study) -> tuple[InterimPlan, InterimComputation, dict[str, list[int]]]:
    """The interim computed from the stored data now; also the participant ids used by arm."""
    study_code = getattr(study, "pk", study)
    p = plan(study_code)
    protocol = get_protocol(study_code)
    ss, interim = protocol.sample_size, protocol.interim
    design, converted = monitoring_design(
        information_fractions=interim.information_fractions,
        alpha=ss.alpha,
        sided=ss.sides,
        power=ss.power,
        efficacy_spending=interim.efficacy_spending,
        futility_spending=interim.futility_spending,
        binding=bool(interim.binding_futility),
    )
    values = endpoint_values(study_code, p)
    try:
        result = compute_interim(
            treatment=[x for _pid, x in values[p.treatment_arm]],
            control=[x for _pid, x in values[p.control_arm]],
            design=design,
            n_planned_max=p.n_planned_max,
            planned_effect=p.planned_effect,
            one_sided_from_two_sided=converted,
        )
    except ValueError as exc:
        raise InterimUnavailable(str(exc)) from exc
    used = {arm: [pid for pid, _x in rows] for arm, rows in values.items()}
    return p, result, used


def protocol_sha256(study) -> str:
    return active_version(getattr(study, "pk", study)).sha256


def canonical_sha256(result: dict) -> str:
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()
